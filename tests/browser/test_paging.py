"""Paging end to end in two browsers (issue 11): Rita declares a P1; Pia, on call, finds the
page in her notifications, opens its link, confirms, and Rita's war room shows the
acknowledgement live; Rita pages Sam by hand. Then the on-call pages as a phone and in the
dark theme."""

import re

import pytest
from playwright.sync_api import expect

from incidents.models import Incident
from portal.models import Escalation
from tests.conftest import PASSWORD
from tests.portal.oncall_fixtures import on_call_team

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/")


def test_declare_a_p1_the_on_call_acknowledges_from_the_page_link(
    live_server, page_factory, responder, make_user, components, screenshots
):
    on_call_team(make_user)
    base = live_server.url
    rita = page_factory()
    log_in(rita, base, "rita")
    rita.click("text=Declare incident")
    rita.fill("#id_title", "Checkout down for everyone")
    rita.fill("#id_summary", "Every checkout returns 503.")
    rita.select_option("#id_type", "availability")
    rita.select_option("#id_subtype", "availability.partial_degradation")
    rita.get_by_label("API", exact=True).check()
    rita.fill("#id_users_affected_percent", "80")
    rita.select_option("#id_symptom", "complete_outage")
    expect(rita.locator("#suggestion")).to_contain_text("P1")
    rita.check("input[name=severity][value=P1]")
    rita.click("button:has-text('Declare incident')")
    incident = Incident.objects.get(title="Checkout down for everyone")
    expect(rita).to_have_url(f"{base}{incident.get_absolute_url()}")
    paging = rita.locator("#paging")
    expect(paging).to_contain_text("P1 escalation")
    expect(paging).to_contain_text("step 1: Primary On-call (Primary) → Pia")
    expect(paging.get_by_test_id("escalation-state")).to_have_text("Paging")

    # Pia, on call, in another browser: the page is in her notifications.
    pia = page_factory()
    log_in(pia, base, "pia")
    pia.goto(f"{base}/notifications/")
    pia.get_by_role("link", name=f"[P1] {incident.reference} Checkout down for everyone").click()
    expect(pia.locator("h1")).to_have_text("Acknowledge page")
    expect(pia.locator("main")).to_contain_text("Paging")  # nothing acknowledged by opening it
    assert Escalation.objects.get(topic=f"incident:{incident.pk}").state == "active"
    pia.get_by_role("button", name="Acknowledge").click()
    expect(pia.locator(".alert-success")).to_contain_text("nobody else will be paged")

    # Rita's war room shows it without a reload.
    expect(paging.get_by_test_id("escalation-state")).to_have_text("Acknowledged", timeout=8000)
    expect(paging).to_contain_text("by Pia")
    expect(rita.locator("#timeline")).to_contain_text("Pia acknowledged the page")

    # Rita pages Sam by hand.
    rita.select_option("#id_page_target", label="Sam")
    rita.fill("#id_page_note", "Need the payments expert")
    rita.get_by_role("button", name="Page", exact=True).click()
    expect(paging).to_contain_text("Page by Rita")
    expect(paging.locator("li").first).to_have_text(re.compile(r"^\s*Sam · "))
    expect(rita.locator("#timeline")).to_contain_text("paged Sam: Need the payments expert")
    rita.screenshot(path=str(screenshots / "incident-paging.png"), full_page=True)
    assert rita.console_errors == [] and pia.console_errors == []


def test_on_call_pages_on_a_phone_and_in_the_dark(
    live_server, page_factory, responder, make_user, screenshots
):
    on_call_team(make_user)
    base = live_server.url
    phone = page_factory(viewport={"width": 390, "height": 844}, color_scheme="dark")
    log_in(phone, base, "rita")
    phone.goto(f"{base}/oncall/")
    expect(phone.locator("h1")).to_have_text("On-call")
    expect(phone.locator("main")).to_contain_text("Primary")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    phone.screenshot(path=str(screenshots / "oncall-phone-dark.png"), full_page=True)
    phone.get_by_role("link", name="Primary", exact=True).click()
    expect(phone.locator("main")).to_contain_text("Next 4 weeks")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    phone.screenshot(path=str(screenshots / "schedule-phone-dark.png"), full_page=True)
    assert phone.console_errors == []
