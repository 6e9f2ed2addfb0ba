"""The public status page in a browser: a responder publishes from the war room (by visible
labels) and a visitor without JavaScript sees it; the page passes axe's WCAG 2.1 AA rules in
light and dark; a day of the uptime bar tells its story on keyboard focus; nothing scrolls
sideways on a phone."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from playwright.sync_api import expect

from incidents import services
from tests.browser.test_accessibility import AXE_OPTIONS, FAILING_IMPACTS, _describe
from tests.browser.test_declare_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outage(declare, responder, components, django_capture_on_commit_callbacks):
    web, api, auth, db = components
    incident = declare(severity="P2", severity_reason="", components=[web, auth])
    services.component_set_status(
        actor=responder, component=auth, status="partial_outage", incident=incident,
        now=timezone.now() - timedelta(hours=2),
    )  # fmt: skip
    services.maintenance_schedule(
        actor=responder, title="Database upgrade", components=[db],
        description="Saves may be slow for a few minutes.",
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=1),
    )  # fmt: skip
    return incident


def test_a_public_update_reaches_a_visitor_without_javascript(
    live_server, page_factory, outage, screenshots
):
    base = live_server.url
    staff = page_factory()
    log_in(staff, base, "rita")
    visitor = page_factory(java_script_enabled=False)
    visitor.goto(f"{base}/status/")
    banner = visitor.get_by_role("status")
    expect(banner).to_have_text("Partial System Outage")
    expect(visitor.get_by_role("heading", name="Service disruption")).to_be_visible()
    expect(visitor.get_by_text("We are aware of this issue and are investigating.")).to_be_visible()
    expect(visitor.get_by_text("Database upgrade")).to_be_visible()

    staff.goto(f"{base}{outage.get_absolute_url()}")
    staff.get_by_text("Change what the status page shows").click()
    staff.get_by_label("Public title").fill("Sign-in problems")
    staff.get_by_role("button", name="Save for the status page").click()
    expect(staff.get_by_test_id("public-state")).to_contain_text("Sign-in problems")
    staff.get_by_label("Impact").first.fill("Logins fail for a third of users.")
    staff.get_by_label("Actions").fill("Rolling back the auth deploy.")
    staff.get_by_label("Audience").select_option(label="Public (status page)")
    staff.get_by_label("Message for the status page").first.fill(
        "Some people cannot sign in. We are rolling back a change."
    )
    staff.get_by_role("button", name="Post update").click()
    expect(staff.locator("#updates")).to_contain_text("On the status page: Some people")

    visitor.reload()
    expect(visitor.get_by_role("heading", name="Sign-in problems")).to_be_visible()
    expect(
        visitor.get_by_text("Some people cannot sign in. We are rolling back a change.")
    ).to_be_visible()
    expect(visitor.get_by_text("Logins fail for a third of users.")).to_have_count(0)
    visitor.get_by_role("link", name="Sign-in problems").click()
    expect(visitor.get_by_role("heading", name="Affected components")).to_be_visible()
    visitor.screenshot(path=str(screenshots / "status-incident.png"), full_page=True)
    assert staff.console_errors == []


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_public_pages_pass_axe_and_fit_a_phone(
    live_server, page_factory, outage, theme, screenshots
):
    base = live_server.url
    page = page_factory(color_scheme=theme)
    failures = []
    axe = Axe()
    for name, path in (
        ("status", "/status/"),
        ("history", "/status/history/"),
        ("incident", f"/status/incidents/{outage.public_id}/"),
        ("subscribe", "/status/subscribe/"),
    ):
        page.goto(f"{base}{path}")
        for violation in axe.run(page, options=AXE_OPTIONS).response["violations"]:
            if violation["impact"] in FAILING_IMPACTS:
                failures.append(_describe(name, theme, violation))
        page.set_viewport_size({"width": 390, "height": 844})
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, (name, wide)
        page.screenshot(path=str(screenshots / f"status-{name}-{theme}-390.png"), full_page=True)
        page.set_viewport_size({"width": 1400, "height": 1000})
    assert not failures, "\n".join(failures)
    assert page.console_errors == []


def test_a_bad_day_shows_its_uptime_and_incident_on_focus(live_server, page_factory, outage):
    page = page_factory()
    page.goto(f"{live_server.url}/status/")
    bar = page.get_by_role("list", name="Authentication: day by day, the past 90 days")
    day = bar.locator("li[tabindex='0']").last
    tip = day.get_by_role("tooltip")
    expect(tip).to_be_hidden()
    day.focus()
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("% uptime, partial outage")
    expect(tip).to_contain_text("Service disruption")
