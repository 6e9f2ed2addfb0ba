import pytest
from playwright.sync_api import expect

from incidents import services
from incidents.models import Status
from tests.browser.test_declare_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)
LIVE = 2500  # ms: a 2 s poll plus a little


def test_two_responders_see_each_other_live_and_resolve(
    live_server, page_factory, responder, make_user, declare, screenshots
):
    make_user("bea", "Responder")
    incident = declare(title="Payments failing")
    services.incident_change_status(
        actor=responder, incident=incident, to=Status.MONITORING, note="Failed over to standby"
    )
    base = live_server.url
    a, b = page_factory(), page_factory()
    log_in(a, base, "rita")
    log_in(b, base, "bea")
    for page in (a, b):
        page.goto(f"{base}{incident.get_absolute_url()}")

    # A adds a note; B sees it without reloading.
    a.fill("#id_text", "Standby error rate is back to 0.1%")
    a.select_option("#id_tag", "finding")
    a.click("button:has-text('Add note')")
    expect(a.locator("#timeline")).to_contain_text("Standby error rate is back to 0.1%")
    expect(a.locator("#id_text")).to_have_value("")  # the form cleared itself
    expect(b.locator("#timeline")).to_contain_text("Standby error rate", timeout=LIVE)

    # A posts a public status update; B sees it, numbered, without reloading.
    a.fill("#id_impact", "Card payments fail for about 20% of checkouts.")
    a.fill("#id_actions", "Traffic moved to the standby processor; watching error rates.")
    a.select_option("#id_audience", "public")
    a.fill("#id_public_body", "Some card payments fail; we are working on it.")
    a.click("button:has-text('Post update')")
    expect(a.locator("#updates")).to_contain_text("Update #1")
    expect(b.locator("#updates")).to_contain_text("Update #1", timeout=LIVE)
    expect(b.locator("#updates")).to_contain_text("Card payments fail")
    expect(b.locator("#timeline")).to_contain_text("posted public update #1", timeout=LIVE)

    # A completes the resolution checklist and resolves.
    resolution = a.locator('#checklists [data-checklist="resolution"]')
    expect(resolution).to_have_attribute("open", "")  # the list that matters now is open
    for i in range(resolution.locator("li").count()):
        item = a.locator('#checklists [data-checklist="resolution"] li').nth(i)
        item.locator("button.check-btn").click()
        expect(a.locator('#checklists [data-checklist="resolution"] li').nth(i)).to_have_class(
            "done mb-1"
        )
    expect(resolution.locator(".progress-badge")).to_have_text("8/8")
    a.get_by_text("Move to Resolved…").click()
    a.get_by_label("Resolution summary").fill(
        "Primary processor fixed and traffic moved back; stable for 30 min."
    )
    # Resolving posts the final update: the resolution communication is the resolve form's.
    a.get_by_label("Normal operation is confirmed across all affected components").check()
    a.get_by_label("What occurred (brief explanation)").fill(
        "The primary card processor rejected requests after a certificate expired."
    )
    a.get_by_label("User action needed").fill("Retry payments that failed before 14:30.")
    a.get_by_role("button", name="Resolve and post the final update").click()
    expect(a.locator("[data-testid=status]")).to_contain_text("Resolved")
    expect(b.locator("[data-testid=status]")).to_contain_text("Resolved", timeout=LIVE)
    expect(b.locator('[aria-current="step"]')).to_have_text("Resolved")
    expect(b.locator("#updates")).to_contain_text("Update #2 Final", timeout=LIVE)
    expect(b.locator("#updates")).to_contain_text("What occurred: The primary card processor")
    expect(b.locator("#timeline")).to_contain_text("Resolution summary", timeout=LIVE)
    # B's actions follow the new status: B may re-open; closing is for Rita (the commander).
    expect(b.get_by_text("Move to Investigating…")).to_have_count(1, timeout=LIVE)
    expect(b.locator("#actions")).to_contain_text(
        "Closed: only the Incident Commander (Rita) or a Manager."
    )
    expect(a.get_by_text("Move to Closed…")).to_have_count(1)
    expect(b.locator("a:has-text('Edit details')")).to_have_count(0)
    b.screenshot(path=str(screenshots / "war-room.png"), full_page=True)

    incident.refresh_from_db()
    assert incident.status == Status.RESOLVED and incident.resolved_at is not None
    assert a.console_errors == [] and b.console_errors == []
