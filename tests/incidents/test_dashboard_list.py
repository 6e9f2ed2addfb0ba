"""Issue 8, dashboard and list: who commands each active incident and when its next update is
due, what was resolved in the last day, the CSV export's commander and response times, the
timeline's wording for people acting on themselves, and false alarms named as such."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import selectors, services, timeline
from incidents.models import Followup, Incident, ResponseRole, RoleAssignment, Source, Status
from portal import roles
from tests.incidents.test_lifecycle import move, tick_verification

S = Status


@pytest.fixture
def mc(client, manager):
    client.force_login(manager)
    return client


def resolve(incident, actor, *, mitigated_at, resolved_at):
    """Investigating -> Identified -> Monitoring (mitigated) -> Resolved, at the given times."""
    move(incident, actor, S.IDENTIFIED, now=mitigated_at - timedelta(minutes=5))
    incident.refresh_from_db()
    move(incident, actor, S.MONITORING, now=mitigated_at)
    incident.refresh_from_db()
    tick_verification(incident, actor)
    move(incident, actor, S.RESOLVED, now=resolved_at)
    incident.refresh_from_db()
    return incident


def card(html: str, reference: str, end: str = "</article>") -> str:
    """The part of the page about one incident (a dashboard card, a list row)."""
    return html.split(f'data-reference="{reference}"')[1].split(end)[0]


def section(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"')[1].split("</section>")[0]


# The dashboard: commander and next update of each active incident


def test_dashboard_names_the_commander_of_each_active_incident(mc, declare, make_user):
    alice = make_user("alice", roles.RESPONDER)
    commanded = declare(title="Checkout down", commander=alice)
    alerted = declare(title="Disk alert", actor=None, source=Source.ALERT)
    html = mc.get(reverse("dashboard")).content.decode()
    assert '<abbr title="Incident Commander">IC</abbr>: Alice</span>' in card(
        html, commanded.reference
    )
    assert 'data-testid="no-commander">Nobody in command</span>' in card(html, alerted.reference)
    assert "Nobody in command" not in card(html, commanded.reference)


def test_dashboard_drops_a_commander_released_by_handover(mc, declare, responder, make_user):
    bea = make_user("bea", roles.RESPONDER)
    incident = declare()
    services.role_assign(actor=responder, incident=incident, role=ResponseRole.COMMANDER, user=bea)
    html = card(mc.get(reverse("dashboard")).content.decode(), incident.reference)
    assert '<abbr title="Incident Commander">IC</abbr>: Bea</span>' in html
    assert "Rita" not in html


def test_dashboard_shows_when_the_next_update_is_due(mc, declare):
    incident = declare()
    Incident.objects.filter(pk=incident.pk).update(
        next_update_due_at=timezone.now() + timedelta(minutes=25, seconds=30)
    )
    html = card(mc.get(reverse("dashboard")).content.decode(), incident.reference)
    assert '<span data-update="scheduled">Next update due ' in html
    assert " · in 25 min</span>" in html
    assert "OVERDUE" not in html


def test_dashboard_makes_an_overdue_update_unmistakable(mc, declare):
    incident = declare()
    Incident.objects.filter(pk=incident.pk).update(
        next_update_due_at=timezone.now() - timedelta(minutes=7, seconds=30)
    )
    html = card(mc.get(reverse("dashboard")).content.decode(), incident.reference)
    assert '<span class="badge update-overdue" data-update="overdue">UPDATE OVERDUE · due ' in html
    assert " · 7 min late</span>" in html


def test_dashboard_says_when_no_update_is_scheduled(mc, declare):
    incident = declare(start_in_triage=True)
    assert incident.next_update_due_at is None
    html = card(mc.get(reverse("dashboard")).content.decode(), incident.reference)
    assert '<span class="text-body-secondary" data-update="none">No update scheduled</span>' in html


# The dashboard: recently resolved


def test_recently_resolved_lists_the_last_24_hours_newest_first(mc, declare, responder):
    now = timezone.now()
    t0 = now - timedelta(hours=5)
    older = resolve(
        declare(title="Search slow", severity="P3", now=t0, symptom="intermittent"),
        responder,
        mitigated_at=t0 + timedelta(minutes=20),
        resolved_at=t0 + timedelta(minutes=65),
    )
    newer = resolve(
        declare(title="Login fails", now=t0),
        responder,
        mitigated_at=t0 + timedelta(minutes=30),
        resolved_at=t0 + timedelta(hours=3),
    )
    closed = resolve(
        declare(title="Webhooks late", now=t0),
        responder,
        mitigated_at=t0 + timedelta(minutes=30),
        resolved_at=t0 + timedelta(hours=2),
    )
    move(closed, responder, S.CLOSED, followup=Followup.POSTMORTEM)
    t_old = now - timedelta(hours=30)
    too_old = resolve(
        declare(title="Yesterday's outage", now=t_old),
        responder,
        mitigated_at=t_old + timedelta(minutes=30),
        resolved_at=now - timedelta(hours=25),
    )
    active = declare(title="Still burning")

    board = selectors.dashboard(responder)
    assert [i.reference for i in board.recently_resolved] == [
        newer.reference,
        closed.reference,
        older.reference,
    ]
    assert board.recently_resolved_more is False

    html = section(mc.get(reverse("dashboard")).content.decode(), "recently-resolved")
    assert too_old.reference not in html and active.reference not in html
    row = card(html, older.reference, "</li>")
    assert 'response within 4 h">P3</span>' in row
    assert f'<a class="min-w-0" href="/incidents/{older.reference}/">' in row
    assert f"{older.reference} · Search slow</a>" in row
    assert '<abbr title="Incident Commander">IC</abbr>: Rita</span>' in row
    # Detected 5 minutes before the declaration, resolved 65 minutes after it.
    assert 'data-testid="time-to-resolve">Time to resolve: 1 h 10 min</span>' in row
    assert "Closed</span>" in card(html, closed.reference, "</li>")


def test_recently_resolved_shows_a_resolved_incident_nobody_commands(mc, declare, responder):
    incident = resolve(
        declare(),
        responder,
        mitigated_at=timezone.now() - timedelta(minutes=2),
        resolved_at=timezone.now() - timedelta(minutes=1),
    )
    RoleAssignment.objects.filter(incident=incident).update(released_at=timezone.now())
    html = section(mc.get(reverse("dashboard")).content.decode(), "recently-resolved")
    assert 'data-testid="no-commander">Nobody in command</span>' in card(
        html, incident.reference, "</li>"
    )


def test_recently_resolved_says_when_nothing_was(mc, declare):
    declare()
    html = section(mc.get(reverse("dashboard")).content.decode(), "recently-resolved")
    assert "Nothing resolved in the last 24 hours." in html


def test_recently_resolved_is_capped_and_says_so(declare, responder):
    now = timezone.now()
    made = [declare(title=f"I{i}") for i in range(selectors.RECENT_LIMIT + 1)]
    Incident.objects.filter(pk__in=[i.pk for i in made]).update(
        status=S.RESOLVED, resolved_at=now - timedelta(hours=1)
    )
    board = selectors.dashboard(responder)
    assert len(board.recently_resolved) == selectors.RECENT_LIMIT
    assert board.recently_resolved_more is True


# The list: the date filters


def test_list_labels_the_date_filters_by_declaration(mc):
    html = mc.get(reverse("incidents:list")).content.decode()
    assert '<label class="form-label small" for="id_date_from">Declared from</label>' in html
    assert '<label class="form-label small" for="id_date_to">Declared to</label>' in html


# The CSV export


def export(client, **params) -> list[dict]:
    response = client.get(reverse("incidents:export"), params)
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_export_has_commander_and_response_times_in_whole_minutes(mc, declare, responder):
    t0 = datetime(2026, 11, 29, 14, 3, 7, 654321, tzinfo=UTC)
    incident = resolve(
        declare(now=t0),
        responder,
        mitigated_at=t0 + timedelta(minutes=20, seconds=59),
        resolved_at=t0 + timedelta(minutes=65, seconds=30),
    )
    open_one = declare(title="Open", actor=None, source=Source.ALERT, now=t0)
    rows = {row["reference"]: row for row in export(mc)}
    row = rows[incident.reference]
    assert row["incident_commander"] == "Rita"
    # Detected at t0 - 5 min, acknowledged at the declaration.
    assert row["minutes_to_acknowledge"] == "5"
    assert row["minutes_to_mitigate"] == "25"
    assert row["minutes_to_resolve"] == "70"
    empty = rows[open_one.reference]
    assert (
        empty["incident_commander"],
        empty["minutes_to_acknowledge"],
        empty["minutes_to_mitigate"],
        empty["minutes_to_resolve"],
    ) == ("", "", "", "")


def test_export_writes_timestamps_to_the_second_with_the_offset(mc, declare):
    t0 = datetime(2026, 11, 29, 14, 3, 7, 654321, tzinfo=UTC)
    declare(now=t0)
    row = export(mc)[0]
    assert row["declared_at"] == "2026-11-29T14:03:07+00:00"
    assert row["detected_at"] == "2026-11-29T13:58:07+00:00"
    assert row["acknowledged_at"] == "2026-11-29T14:03:07+00:00"
    assert row["resolved_at"] == ""


def test_export_header_is_complete(mc, declare):
    declare()
    response = mc.get(reverse("incidents:export"))
    header = b"".join(response.streaming_content).decode().splitlines()[0]
    assert header == (
        "reference,title,severity,status,type,detected_at,declared_at,acknowledged_at,"
        "resolved_at,components,incident_commander,minutes_to_acknowledge,"
        "minutes_to_mitigate,minutes_to_resolve"
    )


# Timeline wording


def test_timeline_says_a_person_took_a_role_themselves(declare, make_user):
    alice = make_user("alice", roles.RESPONDER)
    incident = declare()
    services.role_assign(
        actor=alice, incident=incident, role=ResponseRole.COMMUNICATIONS, user=alice
    )
    event = incident.events.filter(kind="role_assigned").latest("id")
    assert timeline.describe(event) == "Alice took the Communications Coordinator role."


def test_timeline_still_names_who_was_given_a_role_by_someone_else(declare, responder, make_user):
    alice = make_user("alice", roles.RESPONDER)
    incident = declare()
    services.role_assign(actor=responder, incident=incident, role=ResponseRole.SCRIBE, user=alice)
    event = incident.events.filter(kind="role_assigned").latest("id")
    assert timeline.describe(event) == "Rita made Alice Scribe."


def test_timeline_says_a_person_gave_up_their_own_role(declare, make_user):
    alice = make_user("alice", roles.RESPONDER)
    incident = declare()
    services.role_assign(actor=alice, incident=incident, role=ResponseRole.SCRIBE, user=alice)
    services.role_release(actor=alice, incident=incident, role=ResponseRole.SCRIBE)
    event = incident.events.filter(kind="role_released").get()
    assert timeline.describe(event) == "Alice gave up the Scribe role."


def test_timeline_still_names_who_released_someone_else(declare, responder, make_user):
    alice = make_user("alice", roles.RESPONDER)
    incident = declare()
    services.role_assign(actor=alice, incident=incident, role=ResponseRole.SCRIBE, user=alice)
    services.role_release(actor=responder, incident=incident, role=ResponseRole.SCRIBE)
    event = incident.events.filter(kind="role_released").get()
    assert timeline.describe(event) == "Rita released Alice as Scribe."


# False alarms


def test_a_false_alarm_is_not_called_closed_unacknowledged(mc, declare, responder):
    incident = declare(start_in_triage=True)
    services.incident_mark_false_alarm(
        actor=responder, incident=incident, note="Raise the replica CPU alert threshold."
    )
    incident.refresh_from_db()
    assert incident.response_state() == "false_alarm"
    row = card(mc.get(reverse("incidents:list")).content.decode(), incident.reference, "</tr>")
    assert '<span class="badge text-bg-secondary" data-response="false_alarm">False alarm' in row
    assert "unacknowledged" not in row
