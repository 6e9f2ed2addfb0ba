"""The war room's endpoints: plain POST (redirect) and htmx (live fragments), bad input, and
the live poll."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import (
    IncidentChecklistItem,
    KeyEvent,
    RoleAssignment,
    StatusUpdate,
    TimelineEvent,
)
from portal.models import Notification

HX = {"HX-Request": "true"}


@pytest.fixture
def rc(client, responder):
    client.force_login(responder)
    return client


@pytest.fixture
def incident(declare):
    return declare()


def url(name, incident, *args):
    return reverse(f"incidents:{name}", args=[incident.reference, *args])


def rows():
    return (
        TimelineEvent.objects.count(),
        StatusUpdate.objects.count(),
        RoleAssignment.objects.count(),
        KeyEvent.objects.count(),
        IncidentChecklistItem.objects.exclude(done_at=None).count(),
    )


def test_note_plain_post_redirects_and_htmx_returns_live_fragments(rc, incident):
    response = rc.post(url("add_note", incident), {"text": "CPU at 100%", "tag": "finding"})
    assert response.status_code == 302 and response["Location"] == incident.get_absolute_url()
    response = rc.post(
        url("add_note", incident), {"text": "Rolled back", "tag": "action"}, headers=HX
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html
    for oob in ('id="timeline"', 'id="roles"', 'id="checklists"', 'id="updates"', 'id="bell"'):
        assert oob in html
    assert html.count('hx-swap-oob="true"') >= 7
    assert "Rolled back" in html and "CPU at 100%" in html


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("add_note", {"text": "", "tag": ""}, "This field is required"),
        ("add_note", {"text": "x", "tag": "gossip"}, "Select a valid choice"),
        ("post_update", {"impact": "", "actions": "a", "audience": "public"}, "required"),
        ("post_update", {"impact": "i", "actions": "a", "audience": "x"}, "Select a valid choice"),
        (
            "post_update",
            {"impact": "i", "actions": "a", "audience": "public", "next_update_at": "soon"},
            "Enter both the date and the time",
        ),
        (
            "post_update",
            {
                "impact": "i",
                "actions": "a",
                "audience": "public",
                "next_update_at_0": "2026-12-01",
                "next_update_at_1": "7pm",
            },
            "Enter the time as HH:MM, 24-hour",
        ),
        (
            "change_status",
            {"from_status": "investigating", "to": "resolved", "note": "x"},
            "cannot move to Resolved",
        ),
        (
            "change_status",
            {"from_status": "investigating", "to": "identified", "note": ""},
            "This field is required",
        ),
        (
            "change_status",
            {"from_status": "triage", "to": "identified", "note": "x"},
            "Someone else moved this incident to Investigating",
        ),
        ("assign_role", {"role": "scribe", "user": "99999"}, "Select a valid choice"),
        ("assign_role", {"role": "chef", "user": "1"}, "Select a valid choice"),
        ("release_role", {"role": "scribe"}, "Nobody holds"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_writes_nothing(rc, incident, name, data, message):
    before = rows()
    response = rc.post(url(name, incident), data, headers=HX)
    assert response.status_code == 422
    assert message in response.content.decode()
    assert 'data-testid="flash-error"' in response.content.decode()
    assert rows() == before
    # Without JavaScript the same error arrives as a message after the redirect.
    plain = rc.post(url(name, incident), data, follow=True)
    assert message in plain.content.decode()
    assert rows() == before


def test_post_update_role_tick_key_and_status_through_the_views(rc, incident, make_user):
    ida = make_user("ida", "Responder")
    assert (
        rc.post(url("assign_role", incident), {"role": "scribe", "user": ida.pk}).status_code == 302
    )
    rc.post(
        url("post_update", incident),
        {
            "impact": "EU search down",
            "actions": "Failing over",
            "audience": "public",
            "public_body": "Search is unavailable in Europe.",
        },
    )
    item = IncidentChecklistItem.objects.filter(checklist__incident=incident).first()
    rc.post(url("tick_item", incident, item.pk), {"done": "1"})
    note = services.incident_add_note(actor=ida, incident=incident, text="Found it")
    rc.post(url("mark_key", incident, note.pk), {"key": "1"})
    rc.post(
        url("change_status", incident),
        {"from_status": "investigating", "to": "identified", "note": "Bad index"},
    )
    incident.refresh_from_db()
    assert incident.status == "identified" and incident.root_cause == "Bad index"
    assert StatusUpdate.objects.get().audience == "public"
    assert RoleAssignment.objects.get(role="scribe").user == ida
    assert KeyEvent.objects.get().event == note
    item.refresh_from_db()
    assert item.done_at is not None
    page = rc.get(incident.get_absolute_url()).content.decode()
    assert "Update #1" in page and "key-star on" in page


def test_items_and_events_of_another_incident_are_404(rc, declare):
    a, b = declare(), declare()
    item_b = IncidentChecklistItem.objects.filter(checklist__incident=b).first()
    event_b = b.events.first()
    assert rc.post(url("tick_item", a, item_b.pk), {"done": "1"}).status_code == 404
    assert rc.post(url("mark_key", a, event_b.pk), {"key": "1"}).status_code == 404
    assert rc.get(reverse("incidents:poll", args=["INC-1999-0001"])).status_code == 404


def poll(client, incident, since, n):
    params = {"since": since, "n": n, "s": incident.status}
    return client.get(url("poll", incident), params, headers=HX)


def test_poll_with_nothing_new_is_one_query_and_no_body(rc, incident, responder):
    page = rc.get(incident.get_absolute_url())
    since, n = page.context["poll_since"], page.context["poll_notice"]
    poll(rc, incident, since, n)  # warm the session
    with CaptureQueriesContext(connection) as ctx:
        response = poll(rc, incident, since, n)
    assert response.status_code == 204 and response.content == b""
    ours = [
        q["sql"]
        for q in ctx.captured_queries
        if "django_session" not in q["sql"] and 'FROM "auth_user"' not in q["sql"]
    ]
    assert len(ours) == 1, ours
    assert "incidents_incident" in ours[0] and ours[0].lstrip().startswith("SELECT")
    assert not [q for q in ctx.captured_queries if not q["sql"].lstrip().startswith("SELECT")]


def test_poll_returns_fragments_when_something_changed(rc, incident, responder, make_user):
    page = rc.get(incident.get_absolute_url())
    since, n = page.context["poll_since"], page.context["poll_notice"]
    other = make_user("otto", "Responder")
    services.incident_add_note(actor=other, incident=incident, text="Seen from elsewhere")
    response = poll(rc, incident, since, n)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Seen from elsewhere" in html and 'id="poller"' in html
    assert f"since={since}" not in html  # the new poller carries the new stamp
    # The forms come too, so that those without input follow (the page keeps any form that
    # holds input or focus: war-room.js), each stamped with what it was written for.
    assert 'id="actions"' in html and 'id="post-update"' in html
    assert 'data-stamp="1:investigating"' in html
    # A new in-portal notification for the viewer alone also wakes the poll.
    page = rc.get(incident.get_absolute_url())
    since, n = page.context["poll_since"], page.context["poll_notice"]
    Notification.objects.create(
        idempotency_key="t", reason="test", recipient=responder, channel="portal",
        subject="Hello", status="sent",
    )  # fmt: skip
    assert poll(rc, incident, since, n).status_code == 200


def test_countdown_and_overdue_on_page_dashboard_and_list(rc, declare):
    now = timezone.now()
    late = declare(
        severity="P1", severity_reason="x", title="Late one", now=now - timedelta(hours=1)
    )
    page = rc.get(late.get_absolute_url()).content.decode()
    assert 'data-countdown="' in page and "OVERDUE" in page
    board = rc.get(reverse("dashboard")).content.decode()
    assert "UPDATE OVERDUE" in board and "1 status update overdue" in board
    listing = rc.get(reverse("incidents:list")).content.decode()
    assert "UPDATE OVERDUE" in listing


def test_poll_adds_only_the_new_events_unless_one_rewrites_the_timeline(
    rc, incident, responder, make_user
):
    page = rc.get(incident.get_absolute_url())
    ctx = page.context
    last = ctx["timeline"].last_id
    params = {"since": ctx["poll_since"], "n": ctx["poll_notice"], "s": incident.status, "e": last}
    otto = make_user("otto", "Responder")
    note = services.incident_add_note(actor=otto, incident=incident, text="Delta only")
    html = rc.get(url("poll", incident), params, headers=HX).content.decode()
    assert 'hx-swap-oob="beforeend:#timeline"' in html
    assert "Delta only" in html and "declared the incident" not in html  # no old events
    assert f"e={note.pk}" in html  # the next poll continues after the newest event
    # A key mark stars an older event: the whole timeline comes back.
    services.event_mark_key(actor=otto, event=incident.events.get(kind="declared"))
    params["e"] = note.pk
    html = rc.get(url("poll", incident), params, headers=HX).content.decode()
    assert 'id="timeline"' in html and "declared the incident" in html
    assert "key-star on" in html


def test_a_status_change_refreshes_summary_and_forms_for_other_viewers(rc, incident, make_user):
    page = rc.get(incident.get_absolute_url())
    ctx = page.context
    params = {"since": ctx["poll_since"], "n": ctx["poll_notice"], "s": incident.status}
    otto = make_user("otto", "Responder")
    services.incident_change_status(
        actor=otto, incident=incident, to="identified", note="A bad index on orders"
    )
    html = rc.get(url("poll", incident), params, headers=HX).content.decode()
    assert 'id="summary"' in html and "A bad index on orders" in html
    assert 'id="post-update"' in html and 'id="actions"' in html


def test_status_steps_mark_the_steps_an_incident_passed_without_reaching(declare, responder):
    from incidents import war_room

    incident = declare(actor=responder)  # declared into Investigating: no Triage step
    assert [(s.value, s.state) for s in war_room.steps(incident)][:3] == [
        ("investigating", "current"),
        ("identified", "todo"),
        ("monitoring", "todo"),
    ]
    # Mitigated before the root cause was known: Identified was skipped, not done.
    incident = services.incident_change_status(
        actor=responder, incident=incident, to="monitoring", note="Rolled back"
    )
    assert [(s.value, s.state) for s in war_room.steps(incident)][:3] == [
        ("investigating", "done"),
        ("identified", "skipped"),
        ("monitoring", "current"),
    ]
