"""The post-mortem pages as a person uses them: forms that refuse bad input with a message and
keep what was typed, the blameless hint, safe Markdown, search of published post-mortems,
and query counts that do not grow with rows."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents.models import Incident
from postmortems import services as pm
from postmortems.forms import PostMortemForm
from postmortems.models import PostMortem, TimelineEntry

from .conftest import item_input, published, resolve, write

pytestmark = pytest.mark.django_db


def form_data(postmortem, **changes):
    data = {k: v for k, v in PostMortemForm.initial_from(postmortem).items() if v is not None}
    data["participants"] = [str(p) for p in data.get("participants", [])]
    data.update(changes)
    return data


def test_the_edit_form_saves_every_part(postmortem, responder, manager, client):
    client.force_login(responder)
    url = reverse("postmortems:edit", args=[postmortem.incident.reference])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        form_data(
            postmortem,
            summary="The gateway rejected checkout calls.",
            why_1="Checkout failed",
            why_2="The gateway rejected requests",
            fishbone_process="No review of config pushes\n- No canary",
            meeting_at_0="2026-11-30",
            meeting_at_1="15:00",
            participants=[str(responder.pk), str(manager.pk)],
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    postmortem.refresh_from_db()
    assert postmortem.summary == "The gateway rejected checkout calls."
    assert postmortem.five_whys == ["Checkout failed", "The gateway rejected requests"]
    assert postmortem.fishbone == {"process": ["No review of config pushes", "No canary"]}
    assert set(postmortem.participants.all()) == {responder, manager}
    assert postmortem.meeting_at is not None


def test_a_stale_edit_keeps_what_was_typed_and_shows_the_other_text(
    postmortem, responder, manager, client
):
    stale = form_data(postmortem, summary="Rita's account of it")
    write(postmortem, manager, summary="Manny's account")
    client.force_login(responder)
    response = client.post(reverse("postmortems:edit", args=[postmortem.incident.reference]), stale)
    page = response.content.decode()
    assert response.status_code == 400
    assert "Someone else changed this post-mortem" in page
    assert "Rita&#x27;s account of it" in page  # what Rita typed, kept
    assert "Manny&#x27;s account" in page  # what Manny saved, shown beside it
    assert PostMortem.objects.get(pk=postmortem.pk).summary == "Manny's account"


def test_editing_a_published_postmortem_in_place_is_refused(postmortem, responder, client):
    published(postmortem, responder)
    client.force_login(responder)
    response = client.post(
        reverse("postmortems:edit", args=[postmortem.incident.reference]),
        form_data(postmortem, summary="Quietly changed"),
    )
    assert response.status_code == 400
    assert "changes only through a new revision" in response.content.decode()
    assert PostMortem.objects.get(pk=postmortem.pk).summary == "What happened."


def test_the_blameless_hint_points_at_a_sentence_and_saves_anyway(
    postmortem, responder, client, make_user
):
    make_user("bob")
    write(postmortem, responder, could_improve="Bob caused the outage. Reviews were skipped.")
    client.force_login(responder)
    page = client.get(postmortem.get_absolute_url()).content.decode()
    assert 'data-testid="blameless-hint"' in page
    assert "<q>Bob caused the outage.</q>" in page
    assert "Reviews were skipped." in page


def test_hostile_markdown_is_shown_safely(postmortem, responder, client):
    write(
        postmortem,
        responder,
        summary=(
            "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)> "
            '<a href="/" hx-get="/admin/" data-hx-post="/x">y</a> [ok](https://example.com)'
        ),
    )
    client.force_login(responder)
    page = client.get(postmortem.get_absolute_url()).content.decode()
    doc = page[page.index('aria-label="Post-mortem"') : page.index('id="section-impact_users"')]
    # Raw HTML is shown as text (escaped), never as elements or attributes.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc
    tags = re.findall(r"<[a-z][^>]*>", doc)
    assert not [
        t for t in tags if re.search(r"<(script|img)|\s(on\w+|hx-[\w-]+|data-hx-[\w-]+)=", t)
    ]
    assert 'href="javascript' not in doc
    assert 'href="https://example.com"' in doc


def test_an_unknown_incident_has_no_postmortem(client, responder):
    client.force_login(responder)
    assert client.get(reverse("postmortems:detail", args=["INC-1999-0001"])).status_code == 404
    assert client.post(reverse("postmortems:start", args=["INC-1999-0001"])).status_code == 404
    assert not PostMortem.objects.exists()


def test_starting_one_for_a_p4_asks_why(declare, responder, client):
    incident = resolve(declare(severity="P4", severity_reason="cosmetic"), responder)
    client.force_login(responder)
    url = reverse("postmortems:start", args=[incident.reference])
    # The post-mortem address of an incident without one leads to starting one.
    detail = client.get(reverse("postmortems:detail", args=[incident.reference]))
    assert detail.status_code == 302 and detail["Location"] == url
    page = client.get(url).content.decode()
    assert "A P4 incident needs no post-mortem; you may still ask for one: say why." in page
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400
    assert "A P4 incident needs no post-mortem: say why you want one." in response.content.decode()
    assert not PostMortem.objects.exists()
    assert client.post(url, {"reason": "Recurring"}).status_code == 302
    assert PostMortem.objects.get().requested


def test_the_timeline_selection_leaves_out_and_adds_entries(postmortem, responder, client):
    client.force_login(responder)
    url = reverse("postmortems:timeline", args=[postmortem.incident.reference])
    entries = list(postmortem.entries.order_by("at", "id"))
    data = {"version": postmortem.version}
    for e in entries:
        data[f"text_{e.pk}"] = e.text
        data[f"include_{e.pk}"] = "on"
    data.pop(f"include_{entries[0].pk}")
    data[f"text_{entries[1].pk}"] = "Reworded"
    detected = postmortem.incident.detected_at
    data["new_at_0"] = detected.strftime("%Y-%m-%d")
    data["new_at_1"] = detected.strftime("%H:%M")
    data["new_text"] = "The vendor paged us"
    assert client.post(url, data).status_code == 302
    first = TimelineEntry.objects.get(pk=entries[0].pk)
    second = TimelineEntry.objects.get(pk=entries[1].pk)
    assert (first.included, second.text, second.event_id) == (
        False,
        "Reworded",
        entries[1].event_id,
    )
    assert TimelineEntry.objects.filter(event=None, text="The vendor paged us").exists()
    # Bad input: an empty entry and a half-filled new one; nothing written.
    postmortem.refresh_from_db()
    data.update(version=postmortem.version, new_text="", **{f"text_{entries[2].pk}": ""})
    response = client.post(url, data)
    assert response.status_code == 400
    assert TimelineEntry.objects.count() == len(entries) + 1
    assert TimelineEntry.objects.get(pk=entries[2].pk).text == entries[2].text


def test_search_finds_published_postmortems_only(postmortem, responder, declare, client):
    write(postmortem, responder, lessons_learned="The flux capacitor needs a canary")
    client.force_login(responder)
    url = reverse("postmortems:list")
    assert "flux" not in client.get(url, {"q": "capacitor"}).content.decode()
    published(postmortem, responder)
    page = client.get(url, {"q": "capacitor"}).content.decode()
    assert postmortem.incident.reference in page


def test_the_workflow_buttons_move_it_along(postmortem, responder, manager, client):
    write(postmortem, responder)
    client.force_login(responder)
    url = reverse("postmortems:workflow", args=[postmortem.incident.reference])
    page = client.post(url, {"action": "submit"}, follow=True).content.decode()
    assert "Sent to review." in page
    client.force_login(manager)
    page = client.post(url, {"action": "publish", "note": "First"}, follow=True).content.decode()
    assert "Published: readable by all staff." in page
    assert PostMortem.objects.get(pk=postmortem.pk).status == "published"
    page = client.post(url, {"action": "publish"}, follow=True).content.decode()
    assert "This post-mortem is published; it cannot be published." in page


def _counted(queries) -> int:
    # The scheduler banner reads the sweep's stamp once every few seconds, whatever the rows.
    return sum(1 for q in queries.captured_queries if "portal_sweepstatus" not in q["sql"])


@pytest.mark.parametrize("name", ["postmortems:list", "postmortems:items"])
def test_list_queries_do_not_grow_with_rows(name, declare, responder, client):
    def count():
        client.force_login(responder)
        client.get(reverse(name))  # the session's first request loads what it caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse(name)).status_code == 200
        return _counted(queries)

    def add(n):
        for _ in range(n):
            incident = resolve(declare(severity="P2", severity_reason="x"), responder)
            pm.action_item_create(
                actor=responder, postmortem=incident.postmortem, data=item_input(responder)
            )

    add(1)
    few = count()
    add(3)
    assert count() == few


def test_detail_queries_do_not_grow_with_rows(postmortem, responder, client):
    def count():
        client.force_login(responder)
        client.get(postmortem.get_absolute_url())  # the session's first request caches
        with CaptureQueriesContext(connection) as queries:
            assert client.get(postmortem.get_absolute_url()).status_code == 200
        return _counted(queries)

    pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(responder))
    pm.comment_add(actor=responder, postmortem=postmortem, body="Good")
    few = count()
    for n in range(4):
        pm.action_item_create(
            actor=responder, postmortem=postmortem, data=item_input(responder, title=f"T{n}")
        )
        pm.comment_add(actor=responder, postmortem=postmortem, body=f"C{n}")
    assert count() == few


def test_the_incident_page_links_its_postmortem(postmortem, responder, client):
    client.force_login(responder)
    page = client.get(postmortem.incident.get_absolute_url()).content.decode()
    assert postmortem.get_absolute_url() in page
    assert Incident.objects.get(pk=postmortem.incident_id)
    assert timedelta(0) < postmortem.due_at - postmortem.created_at


def test_after_a_conflict_the_owner_and_meeting_show_what_was_saved(
    postmortem, responder, manager, client
):
    stale = form_data(postmortem, summary="Rita's account")
    pm.postmortem_update(
        actor=manager,
        postmortem=postmortem,
        draft=pm.Draft(sections={"summary": "What happened."}, owner_id=manager.pk),
        expected_version=postmortem.version,
    )
    client.force_login(responder)
    url = reverse("postmortems:edit", args=[postmortem.incident.reference])
    page = client.post(url, stale).content.decode()
    postmortem.refresh_from_db()
    assert f'name="version" value="{postmortem.version}"' in page
    assert f'<option value="{manager.pk}" selected>' in page
    # Saving again now is deliberate: Rita's text, Manny still the owner.
    again = form_data(postmortem, summary="Rita's account")
    assert client.post(url, again).status_code == 302
    postmortem.refresh_from_db()
    assert (postmortem.summary, postmortem.owner) == ("Rita's account", manager)


def test_admins_see_downloads_and_reports_read_only(postmortem, responder, admin_user, client):
    from postmortems.models import Download, PdfReport
    from postmortems.services import reports

    published(postmortem, responder)
    report = PdfReport.objects.get(postmortem=postmortem, paper="a4")
    reports.render_report(report.pk)
    Download.objects.create(report=report, user=responder)
    client.force_login(admin_user)
    for model in ("postmortem", "actionitem", "pdfreport", "download"):
        page = client.get(reverse(f"admin:postmortems_{model}_changelist"))
        assert page.status_code == 200, model
    page = client.get(reverse("admin:postmortems_download_changelist")).content.decode()
    assert "rita" in page
    assert client.get(reverse("admin:postmortems_download_add")).status_code == 403
