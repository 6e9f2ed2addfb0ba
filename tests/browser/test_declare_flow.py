import re

import pytest
from playwright.sync_api import expect

from incidents.models import Incident, Status
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/")


def test_declare_p2_see_it_filter_it_and_verify_it(
    live_server, page_factory, responder, components, declare, screenshots
):
    other = declare(title="Unrelated P4", severity="P4", symptom="cosmetic")
    base = live_server.url
    page = page_factory()
    log_in(page, base, "rita")

    page.click("text=Declare incident")
    expect(page.locator("h1")).to_have_text("Declare an incident")
    page.fill("#id_title", "Search results empty for EU users")
    page.fill("#id_summary", "Search returns no results for accounts hosted in eu-west.")
    page.select_option("#id_type", "availability")
    page.select_option("#id_subtype", "availability.feature_unavailable")
    page.get_by_label("API", exact=True).check()
    page.check("#id_start_in_triage")

    # The impact assessment proposes a severity live (htmx under a strict CSP).
    page.fill("#id_users_affected_percent", "18")
    page.select_option("#id_symptom", "degraded")
    expect(page.locator("#suggestion")).to_contain_text("P2")
    page.check("#id_impact_revenue")
    page.check("input[name=severity][value=P2]")
    page.click("button:has-text('Declare incident')")

    incident = Incident.objects.get(title="Search results empty for EU users")
    expect(page).to_have_url(f"{base}{incident.get_absolute_url()}")
    expect(page.locator(".alert-success")).to_contain_text(f"{incident.reference} declared")
    assert incident.severity == "P2" and incident.status == Status.TRIAGE
    assert incident.impact_revenue and incident.users_affected_percent == 18

    # The dashboard shows it in the P2 column.
    page.click("nav >> text=Dashboard")
    card = page.locator(f"#col-P2 ~ article[data-reference='{incident.reference}']")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Triage")
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    # The list, filtered by severity through htmx, shows it and not the P4.
    page.click("nav >> text=Incidents")
    expect(page.locator(f"tr[data-reference='{other.reference}']")).to_be_visible()
    page.select_option("#id_severity", "P2")
    expect(page.locator(f"tr[data-reference='{other.reference}']")).to_have_count(0)
    row = page.locator(f"tr[data-reference='{incident.reference}']")
    expect(row).to_be_visible()
    expect(page).to_have_url(re.compile(r"severity=P2"))

    # Open it and verify it out of Triage.
    row.locator("a").first.click()
    expect(page.locator("h1")).to_contain_text(incident.title)
    page.click("button:has-text('Verify')")
    expect(page.locator(".alert-success")).to_contain_text("Investigating")
    expect(page.locator("#timeline")).to_contain_text("verified the incident is real")
    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING
    assert page.console_errors == [], page.console_errors
