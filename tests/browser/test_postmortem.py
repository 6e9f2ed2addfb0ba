"""A P1 from resolution to a downloaded PDF, by visible labels: the commander resolves it,
opens the post-mortem the resolution started, writes it, adds an action item and sends it to
review; a Manager in a second browser comments and publishes; the PDF is downloaded."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents import services
from incidents.models import Status
from postmortems.models import ActionItem, Download, PostMortem
from tests.browser.test_declare_flow import log_in
from tests.incidents.test_lifecycle import tick_verification

pytestmark = pytest.mark.django_db(transaction=True)


def test_resolve_a_p1_write_its_postmortem_publish_and_download_the_pdf(
    live_server, page_factory, responder, manager, declare, screenshots, tmp_path
):
    incident = declare(title="Checkout failing", severity="P1", severity_reason="All checkouts")
    services.incident_change_status(
        actor=responder, incident=incident, to=Status.MONITORING, note="Rolled back the gateway"
    )
    tick_verification(incident, responder)
    base = live_server.url
    rita = page_factory()
    log_in(rita, base, "rita")
    rita.goto(f"{base}{incident.get_absolute_url()}")

    rita.get_by_text("Move to Resolved…").click()
    rita.get_by_label("Resolution summary").fill("Gateway config restored; stable for 30 min.")
    rita.get_by_label("Normal operation is confirmed across all affected components").check()
    rita.get_by_label("What occurred (brief explanation)").fill("A gateway config push failed.")
    rita.get_by_role("button", name="Resolve and post the final update").click()
    expect(rita.locator("[data-testid=status]")).to_contain_text("Resolved")

    # The resolution started the post-mortem; the incident page links it.
    rita.get_by_role("link", name="Open the post-mortem").click()
    expect(rita.locator("h1")).to_have_text("Post-mortem: Checkout failing")
    expect(rita.locator("[data-testid=pm-status]")).to_have_text("Draft")
    expect(rita.locator("#timeline ~ div table")).to_contain_text("declared the incident as P1")

    rita.get_by_role("link", name="Edit post-mortem").click()
    rita.get_by_label("Summary").fill("Checkout failed for 40 minutes after a gateway push.")
    rita.get_by_label("Root causes and contributing factors").fill(
        "**Primary:** the push removed a route.\n\n- No validation in CI"
    )
    rita.get_by_label("Why 1").fill("Checkout requests failed")
    rita.get_by_label("Why 2").fill("The gateway had no route for them")
    rita.get_by_label("Why 3").fill("The config push removed it unchecked")
    rita.get_by_label("Process", exact=True).fill("No review of config pushes\nNo canary")
    rita.get_by_label("Lessons learned").fill("Config is code.")
    rita.get_by_role("button", name="Save post-mortem").click()
    expect(rita.locator(".alert-success")).to_contain_text("Post-mortem saved.")
    expect(rita.locator("#five-whys + ol")).to_contain_text("The gateway had no route for them")
    expect(rita.locator(".pm-fishbone")).to_contain_text("No canary")
    expect(rita.locator("#section-root_cause + div strong")).to_have_text("Primary:")

    rita.get_by_role("link", name="Add action item").click()
    rita.get_by_label("Action").fill("Validate gateway routes in CI")
    rita.get_by_label("Done when").fill("CI refuses a push that drops a route.")
    rita.get_by_label("Due date").fill((timezone.localdate() + timedelta(days=14)).isoformat())
    rita.get_by_label("Category").select_option("prevention")
    rita.get_by_label("Impact").select_option("high")
    rita.get_by_label("Effort").select_option("low")
    rita.get_by_role("button", name="Add action item").click()
    expect(rita.locator(".pm-items")).to_contain_text("Validate gateway routes in CI")
    expect(rita.locator(".pm-items")).to_contain_text("Immediate")

    rita.get_by_role("button", name="Send to review").click()
    expect(rita.locator(".alert-success")).to_contain_text("Sent to review.")
    expect(rita.locator("[data-testid=pm-status]")).to_have_text("In review")

    # A Manager reviews, comments and publishes in another browser.
    manny = page_factory()
    log_in(manny, base, "manny")
    manny.goto(f"{base}/postmortems/")
    manny.get_by_role("link", name=incident.reference).click()
    manny.get_by_label("Comment").fill("Clear and blameless.")
    manny.get_by_role("button", name="Add comment").click()
    expect(manny.locator("#comments ~ div")).to_contain_text("Clear and blameless.")
    manny.get_by_label("Revision note (optional)").fill("Reviewed")
    manny.get_by_role("button", name="Publish revision 1").click()
    expect(manny.get_by_text("Published: readable by all staff.")).to_be_visible()
    expect(manny.locator("[data-testid=pm-status]")).to_have_text("Published")

    # The PDF renders in the background; the button appears when it is ready.
    download_button = manny.get_by_role("link", name="Download PDF (A4)")
    expect(download_button).to_be_visible(timeout=30_000)
    with manny.expect_download() as info:
        download_button.click()
    path = tmp_path / "report.pdf"
    info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    manny.screenshot(path=str(screenshots / "postmortem.png"), full_page=True)

    postmortem = PostMortem.objects.get(incident=incident)
    assert postmortem.status == "published" and postmortem.five_whys[1].startswith("The gateway")
    assert ActionItem.objects.get(postmortem=postmortem).priority == 1
    assert Download.objects.filter(user=manager).count() == 1
    assert rita.console_errors == [] and manny.console_errors == []
