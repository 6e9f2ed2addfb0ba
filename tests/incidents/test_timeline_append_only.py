"""The timeline is append-only in the database too (DESIGN.md decision 2): on PostgreSQL a
trigger refuses UPDATE and DELETE of timeline rows, incidents PROTECT their events, and an
unknown kind is a real error."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import ProtectedError

from incidents import services, timeline
from incidents.models import Incident, IncidentChecklist, KeyEvent, StatusUpdate, TimelineEvent

MESSAGE = "timeline events are append-only; write a new event instead"

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the append-only trigger exists on PostgreSQL only (CI runs PostgreSQL); "
    "set DATABASE_URL=postgres://... to run this",
)


def _snapshot():
    """Every timeline row, and the key marks that hang off them."""
    events = list(
        TimelineEvent.objects.order_by("id").values_list(
            "id", "incident_id", "kind", "actor_id", "occurred_at", "params", "visibility"
        )
    )
    return events, list(KeyEvent.objects.values_list("id", "event_id"))


@pytest.fixture
def events(declare, responder):
    """An incident with three events, one of them (the note) marked as key."""
    incident = declare()
    note = services.incident_add_note(
        actor=responder, incident=incident, text="Rolled back the deploy."
    )
    services.event_mark_key(actor=responder, event=note)
    assert list(incident.events.values_list("kind", flat=True)) == [
        "declared",
        "note",
        "key_event",
    ]
    return incident


def _refused(call):
    """Run call in a savepoint; return the database error it raised (psycopg 3 reports a
    plpgsql RAISE, SQLSTATE P0001, as ProgrammingError, a DatabaseError)."""
    with pytest.raises(DatabaseError) as err, transaction.atomic():
        call()
    assert MESSAGE in str(err.value)
    return err.value


@postgresql_only
def test_queryset_update_is_refused(events):
    before = _snapshot()
    _refused(lambda: TimelineEvent.objects.filter(kind="note").update(params={"text": "edited"}))
    _refused(lambda: TimelineEvent.objects.update(visibility="public"))
    assert _snapshot() == before


@postgresql_only
def test_queryset_delete_is_refused(events):
    before = _snapshot()
    _refused(lambda: TimelineEvent.objects.filter(kind="note").delete())
    _refused(lambda: TimelineEvent.objects.all().delete())
    assert _snapshot() == before


@postgresql_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE incidents_timelineevent SET kind = 'declared', params = '{}' WHERE id = %s",
        "UPDATE incidents_timelineevent SET incident_id = incident_id WHERE id = %s",
        "DELETE FROM incidents_timelineevent WHERE id = %s",
    ],
)
def test_raw_sql_update_and_delete_are_refused(events, sql):
    before = _snapshot()
    note = TimelineEvent.objects.get(kind="note")

    def run():
        with connection.cursor() as cursor:
            cursor.execute(sql, [note.pk])

    err = _refused(run)
    # The database names the operation it refused.
    assert ("UPDATE" if sql.startswith("UPDATE") else "DELETE") in str(
        err.__cause__.diag.message_detail
    )
    assert _snapshot() == before


@postgresql_only
def test_appending_still_works_after_a_refusal(events, responder):
    _refused(lambda: TimelineEvent.objects.filter(kind="note").delete())
    services.incident_add_note(
        actor=responder, incident=events, text="Correction: it was the cache."
    )
    kinds = list(events.events.values_list("kind", flat=True))
    assert kinds == ["declared", "note", "key_event", "note"]


def test_deleting_an_incident_with_events_is_refused(events):
    counts = (
        Incident.objects.count(),
        TimelineEvent.objects.count(),
        IncidentChecklist.objects.count(),
        KeyEvent.objects.count(),
    )
    before = _snapshot()

    with pytest.raises(ProtectedError):
        events.delete()
    with pytest.raises(ProtectedError):
        Incident.objects.all().delete()

    assert (
        Incident.objects.count(),
        TimelineEvent.objects.count(),
        IncidentChecklist.objects.count(),
        KeyEvent.objects.count(),
    ) == counts
    assert _snapshot() == before


def test_unknown_kind_raises_value_error_and_writes_nothing(events, responder):
    before = _snapshot()
    version = events.version

    with pytest.raises(ValueError, match="Unknown timeline event kind 'tampered'"):
        timeline._event(events, "tampered", responder, {"text": "x"})

    assert _snapshot() == before
    events.refresh_from_db()
    assert events.version == version


# Transactional tests end with a flush (TRUNCATE on PostgreSQL), which fires no row trigger:
# the second test proves the first one's timeline rows were cleared.
@pytest.mark.django_db(transaction=True)
def test_flush_after_a_transactional_test_leaves_timeline_rows(declare):
    declare()
    assert TimelineEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_flush_cleared_the_timeline(declare):
    assert TimelineEvent.objects.count() == 0
    assert StatusUpdate.objects.count() == 0
    declare()
    assert TimelineEvent.objects.count() == 1
