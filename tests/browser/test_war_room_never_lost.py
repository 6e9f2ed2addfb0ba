"""The war room at 3 a.m.: nothing typed is lost, by one's own action or anyone else's; a form
written for an earlier state is kept, marked stale, refused once with what changed, then
posted; drafts survive a reload; taking a held role asks first; the phone puts the note and
the update form first."""

import pytest
from playwright.sync_api import expect

from incidents import services
from incidents.models import RoleAssignment, StatusUpdate
from tests.browser.test_declare_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)
LIVE = 3000  # ms: a 2 s poll plus a little


def open_both(live_server, page_factory, incident, **kwargs):
    a, b = page_factory(**kwargs), page_factory(**kwargs)
    log_in(a, live_server.url, "rita")
    log_in(b, live_server.url, "bea")
    for page in (a, b):
        page.goto(f"{live_server.url}{incident.get_absolute_url()}")
    return a, b


def test_a_half_written_update_survives_others_and_ones_own_actions(
    live_server, page_factory, responder, make_user, declare
):
    make_user("bea", "Responder")
    incident = declare(title="Payments failing", severity="P1", severity_reason="checkout")
    a, b = open_both(live_server, page_factory, incident)

    # A is half-way through a public update, typing.
    a.get_by_role("textbox", name="Impact").click()
    a.keyboard.type("Card payments fail for about 20%")
    # B adds a note; A sees it arrive and keeps every letter typed.
    b.get_by_role("textbox", name="Note").fill("Processor status page shows an outage")
    b.get_by_role("button", name="Add note").click()
    expect(a.locator("#timeline")).to_contain_text("Processor status page", timeout=LIVE)
    # Someone else's change is highlighted where it lands and told to screen readers.
    expect(a.locator("#timeline li.fresh")).to_contain_text("Processor status page")
    expect(a.locator("#announce")).to_contain_text("Processor status page")
    expect(a.locator("#announce")).to_have_attribute("aria-live", "polite")
    # The refresh did not take the caret away: A types on.
    a.keyboard.type(" of checkouts.")
    expect(a.get_by_role("textbox", name="Impact")).to_have_value(
        "Card payments fail for about 20% of checkouts."
    )
    # A's own action (ticking a checklist item) does not wipe it either.
    a.locator('#checklists [data-checklist="initial_response"] li').first.locator("button").click()
    expect(a.locator('#checklists [data-checklist="initial_response"] li').first).to_have_class(
        "done mb-1"
    )
    expect(a.get_by_role("textbox", name="Impact")).to_have_value(
        "Card payments fail for about 20% of checkouts."
    )

    # B's form holds nothing: its heading follows A's update live.
    a.get_by_role("textbox", name="Actions").fill("Failing over to the standby processor.")
    a.get_by_role("button", name="Post update").click()
    expect(a.locator("#updates")).to_contain_text("Update #1")
    expect(a.get_by_role("textbox", name="Impact")).to_have_value(
        ""
    )  # posted: the form is fresh again
    expect(b.locator("[data-testid=update-heading]")).to_contain_text("Update #2", timeout=LIVE)

    # B writes update #2 while A posts #2 first: B's text is kept, the form marked stale;
    # B's post is refused once, naming A's update, then goes through as #3.
    b.get_by_role("textbox", name="Impact").fill("EU card payments recovering.")
    b.get_by_role("textbox", name="Actions").fill("Watching error rates after the failover.")
    a.get_by_role("textbox", name="Impact").fill("Standby processor takes all traffic.")
    a.get_by_role("textbox", name="Actions").fill("Monitoring.")
    a.get_by_role("button", name="Post update").click()
    expect(a.locator("#updates")).to_contain_text("Update #2")
    expect(b.locator("form.stale[data-draft=update]")).to_have_count(1, timeout=LIVE)
    expect(b.get_by_role("textbox", name="Impact")).to_have_value("EU card payments recovering.")
    b.get_by_role("button", name="Post update").click()
    expect(b.locator("[data-testid=flash-error]")).to_contain_text("Update #2 was posted meanwhile")
    expect(b.get_by_role("textbox", name="Impact")).to_have_value("EU card payments recovering.")
    assert StatusUpdate.objects.count() == 2
    b.get_by_role("button", name="Post update").click()
    expect(b.locator("#updates")).to_contain_text("Update #3")
    # A moves the incident on: B's page shows the new step, highlighted and announced.
    a.get_by_text("Move to Identified…").click()
    a.get_by_label("Root cause").fill("Expired certificate at the processor")
    a.get_by_role("button", name="Move to Identified").click()
    expect(b.locator('[aria-current="step"]')).to_have_text("Identified", timeout=LIVE)
    expect(b.locator("#announce")).to_contain_text("Status changed: Identified")
    assert list(StatusUpdate.objects.order_by("number").values_list("impact", flat=True)) == [
        "Card payments fail for about 20% of checkouts.",
        "Standby processor takes all traffic.",
        "EU card payments recovering.",
    ]
    # The browser logs the expected refusal (422) as a failed resource, nothing else.
    refused = "the server responded with a status of 422"
    assert a.console_errors == [] and [e for e in b.console_errors if refused not in e] == []


def test_drafts_survive_a_reload_and_are_cleared_once_posted(
    live_server, page_factory, responder, make_user, declare
):
    make_user("bea", "Responder")
    incident = declare(title="Search slow")
    services.incident_change_status(
        actor=responder, incident=incident, to="monitoring", note="Index rebuilt"
    )
    a = page_factory()
    log_in(a, live_server.url, "rita")
    a.goto(f"{live_server.url}{incident.get_absolute_url()}")
    a.get_by_role("textbox", name="Impact").fill("Search is slow for some users.")
    a.get_by_text("Move to Resolved…").click()
    a.get_by_label("What occurred (brief explanation)").fill("A full reindex ran at peak.")
    a.reload()
    expect(a.get_by_role("textbox", name="Impact")).to_have_value("Search is slow for some users.")
    expect(a.get_by_label("What occurred (brief explanation)")).to_have_value(
        "A full reindex ran at peak."
    )
    a.get_by_role("textbox", name="Actions").fill("Reindex moved to the night.")
    a.get_by_role("button", name="Post update").click()
    expect(a.locator("#updates")).to_contain_text("Update #1")
    a.reload()
    expect(a.get_by_role("textbox", name="Impact")).to_have_value("")
    expect(a.get_by_label("What occurred (brief explanation)")).to_have_value(
        "A full reindex ran at peak."
    )


def test_taking_a_held_role_asks_first_naming_the_holder(
    live_server, page_factory, responder, make_user, declare
):
    bea = make_user("bea", "Responder")
    incident = declare(title="Queue backlog")
    services.role_assign(actor=responder, incident=incident, role="technical_lead", user=bea)
    a = page_factory()
    log_in(a, live_server.url, "rita")
    a.goto(f"{live_server.url}{incident.get_absolute_url()}")
    # The role form never defaults to taking command.
    expect(a.get_by_label("Role", exact=True)).not_to_have_value("commander")
    questions = []

    def answer(dialog, accept):
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    a.once("dialog", lambda d: answer(d, False))
    a.get_by_label("Role", exact=True).select_option("technical_lead")
    a.get_by_label("Person", exact=True).select_option(label="Rita")
    a.get_by_role("button", name="Assign", exact=True).click()
    assert questions == ["Bea is Technical Lead. Make Rita Technical Lead instead?"]
    a.wait_for_timeout(500)
    holder = RoleAssignment.objects.get(incident=incident, role="technical_lead", released_at=None)
    assert holder.user == bea
    a.once("dialog", lambda d: answer(d, True))
    a.get_by_role("button", name="Assign", exact=True).click()
    expect(a.locator('[data-holder-of="technical_lead"]')).to_have_text("Rita")
    expect(a.locator("[data-testid=you-are]")).to_contain_text(
        "You are Incident Commander and Technical Lead"
    )

    # The Scribe role changes hands while Rita is choosing: her confirmation named Bea, the
    # post is refused naming Cal, and sending again (no second question) goes through.
    cal = make_user("cal", "Responder")
    services.role_assign(actor=responder, incident=incident, role="scribe", user=bea)
    a.reload()
    a.get_by_label("Role", exact=True).select_option("scribe")
    a.get_by_label("Person", exact=True).select_option(label="Rita")
    services.role_assign(
        actor=responder, incident=incident, role="scribe", user=cal, expected_holder=bea.pk
    )
    a.once("dialog", lambda d: answer(d, True))
    a.get_by_role("button", name="Assign", exact=True).click()
    expect(a.locator("[data-testid=flash-error]")).to_contain_text(
        "The Scribe role changed hands meanwhile: Cal is Scribe now."
    )
    assert questions[-1] == "Bea is Scribe. Make Rita Scribe instead?"
    asked = len(questions)
    a.get_by_role("button", name="Assign", exact=True).click()
    expect(a.locator('[data-holder-of="scribe"]')).to_have_text("Rita")
    assert len(questions) == asked


def test_on_a_phone_the_note_and_update_come_before_checklists_and_details(
    live_server, page_factory, responder, declare
):
    incident = declare(title="Phone check")
    a = page_factory(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    log_in(a, live_server.url, "rita")
    a.goto(f"{live_server.url}{incident.get_absolute_url()}")

    def top(selector):
        return a.locator(selector).first.bounding_box()["y"]

    assert top("#id_text") < top("#post-update") < top("#checklists") < top("#summary")
    # Nothing is wider than the screen (selects are not cut off).
    assert a.evaluate("document.documentElement.scrollWidth") <= 390
    for select in a.locator("select").all():
        box = select.bounding_box()
        if box:
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390


def test_open_sections_and_small_forms_stay_put_and_a_stale_draft_is_refused_once(
    live_server, page_factory, responder, make_user, declare
):
    make_user("bea", "Responder")
    incident = declare(title="Cache misses", severity="P1", severity_reason="checkout")
    a, b = open_both(live_server, page_factory, incident)
    # A opens the Resolution checklist, closes Initial response, starts waiving an item.
    a.locator('[data-checklist="resolution"] > summary').click()
    a.locator('[data-checklist="initial_response"] > summary').click()
    a.locator('[data-checklist="resolution"] li').first.get_by_text("waive…").click()
    reason = a.get_by_label("Why “Verify all affected systems are stable” does not apply")
    reason.fill("No dashboard for the cache")
    b.get_by_role("textbox", name="Note").fill("Hit rate falling")
    b.get_by_role("button", name="Add note").click()
    expect(a.locator("#timeline")).to_contain_text("Hit rate falling", timeout=LIVE)
    expect(a.locator('[data-checklist="resolution"]')).to_have_attribute("open", "")
    expect(a.locator('[data-checklist="initial_response"]')).not_to_have_attribute("open", "")
    expect(reason).to_have_value("No dashboard for the cache")
    assert a.locator("form.stale").count() == 0  # nothing it depends on changed

    # A drafts an update, B posts one, A reloads: the draft comes back marked stale and its
    # first send is refused, naming B's update; the second goes through.
    a.get_by_role("textbox", name="Impact").fill("Pages load slowly for some users.")
    a.get_by_role("textbox", name="Actions").fill("Warming the cache.")
    b.get_by_role("textbox", name="Impact").fill("Checkout slow.")
    b.get_by_role("textbox", name="Actions").fill("Scaling out.")
    b.get_by_role("button", name="Post update").click()
    expect(b.locator("#updates")).to_contain_text("Update #1")
    a.reload()
    expect(a.get_by_role("textbox", name="Impact")).to_have_value(
        "Pages load slowly for some users."
    )
    expect(a.locator("form.stale[data-draft=update]")).to_have_count(1)
    a.get_by_role("button", name="Post update").click()
    expect(a.locator("[data-testid=flash-error]")).to_contain_text("Update #1 was posted meanwhile")
    assert StatusUpdate.objects.count() == 1
    a.get_by_role("button", name="Post update").click()
    expect(a.locator("#updates")).to_contain_text("Update #2")
    assert StatusUpdate.objects.count() == 2
