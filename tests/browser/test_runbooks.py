"""Runbooks by visible labels, two people in two browsers: Rita proposes a change to a
shipped runbook and submits it; Bea, in her own browser, approves and publishes it, and the
comparison shows the added step. Then Rita follows the runbook inside an incident and ticks
its first step, which the timeline records."""

import pytest
from playwright.sync_api import expect

from runbooks.models import IncidentRunbook, Runbook
from tests.browser.test_declare_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)

ADDED = "Check the replicas' lag before failing over."


def test_edit_review_publish_compare_and_follow_in_an_incident(
    live_server, page_factory, responder, make_user, declare, components, screenshots
):
    make_user("bea", "Responder")
    database = next(c for c in components if c.name == "Database")
    Runbook.objects.get(slug="database-incidents").components.set([database])
    base = live_server.url
    rita = page_factory()
    log_in(rita, base, "rita")
    rita.get_by_role("link", name="Runbooks").click()
    rita.get_by_role("link", name="Database incidents").click()
    rita.get_by_role("button", name="Propose a change").click()
    recovery = rita.get_by_label("Step-by-step recovery")
    recovery.fill(recovery.input_value() + f"\n8. {ADDED}")
    rita.get_by_label("Change note (to submit)").fill("Check replica lag first (restore drill).")
    rita.get_by_role("button", name="Save and submit for review").click()
    expect(rita.locator("[data-testid=review-state]")).to_have_text("Awaiting review")
    expect(rita.get_by_text("Awaiting a reviewer other than the author.")).to_be_visible()

    bea = page_factory()
    log_in(bea, base, "bea")
    bea.goto(f"{base}/runbooks/")
    bea.get_by_role("link", name="Database incidents").click()
    bea.get_by_role("link", name="v2").click()
    bea.get_by_label("Approve").check()
    bea.get_by_label("Comment", exact=True).fill("Matches the drill.")
    bea.get_by_role("button", name="Send").click()
    expect(bea.locator("[data-testid=review-state]")).to_have_text("Approved")
    bea.get_by_role("button", name="Publish version 2").click()
    expect(bea.locator(".alert-success")).to_contain_text("Version 2 is now current")
    expect(bea.locator("#section-recovery")).to_contain_text(ADDED)
    # Commands are copied, not retyped: each code block has its button.
    copy = bea.locator("#section-recovery").get_by_role("button", name="Copy this command")
    expect(copy).to_have_count(1)
    bea.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy.click()
    expect(copy).to_have_text("Copied")
    assert "restore.sh --type point-in-time" in bea.evaluate("navigator.clipboard.readText()")
    bea.get_by_role("link", name="Compare versions").click()
    expect(bea.locator(".diff-side .diff-added").first).to_contain_text(ADDED)
    bea.screenshot(path=str(screenshots / "runbook-compare.png"), full_page=True)

    incident = declare(title="Replica lag", components=[database])
    rita.goto(f"{base}{incident.get_absolute_url()}")
    panel = rita.locator("#runbooks")
    expect(panel).to_contain_text("Database incidents v2")
    panel.get_by_role("button", name="Follow Database incidents").click()
    expect(rita.locator("#runbooks")).to_contain_text("Following Database incidents v2")
    checklist = rita.locator('#checklists [data-checklist="runbook"]')
    expect(checklist).to_contain_text("Runbook: Database incidents v2")
    expect(checklist).to_contain_text(ADDED)
    first = checklist.locator("li").first
    first.get_by_role("button", name="Tick: Recovery 1: Put the application").click()
    expect(rita.locator('#checklists [data-checklist="runbook"] li').first).to_have_class(
        "done mb-1"
    )
    expect(rita.locator("#timeline")).to_contain_text("attached the runbook")
    expect(rita.locator("#timeline")).to_contain_text("Put the application in read-only mode")
    rita.screenshot(path=str(screenshots / "runbook-in-incident.png"), full_page=True)
    assert IncidentRunbook.objects.get(incident=incident).version.number == 2
    assert not rita.console_errors and not bea.console_errors, (
        rita.console_errors + bea.console_errors
    )
