"""Roles, notes, key events, checklists and status updates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import (
    IncidentChecklistItem,
    KeyEvent,
    RoleAssignment,
    Status,
    StatusUpdate,
)
from portal.errors import ApplicationError
from portal.models import Timer


def holders(incident):
    return {
        a.role: a.user.username
        for a in RoleAssignment.objects.filter(incident=incident, released_at__isnull=True)
    }


# --- roles -------------------------------------------------------------------------------


def test_declarer_is_commander_by_default_or_someone_named(declare, responder, make_user):
    assert holders(declare()) == {"commander": "rita"}
    ida = make_user("ida", "Responder")
    incident = declare(commander=ida)
    assert holders(incident) == {"commander": "ida"}
    assert incident.events.get(kind="declared").params["commander"]["name"] == "Ida"


def test_command_handover_names_both_and_releases_the_previous(declare, responder, make_user):
    incident = declare()
    ida = make_user("ida", "Responder")
    services.role_assign(actor=responder, incident=incident, role="commander", user=ida)
    assert holders(incident) == {"commander": "ida"}
    event = incident.events.latest("id")
    assert event.kind == "command_handover"
    assert event.params["previous"]["name"] == "Rita" and event.params["new"]["name"] == "Ida"
    assert "Ida assumed command from Rita" in event.text
    assert RoleAssignment.objects.filter(incident=incident, role="commander").count() == 2


def test_roles_one_holder_each_a_person_may_hold_several(declare, responder, make_user):
    incident = declare()
    ben = make_user("ben", "Responder")
    services.role_assign(actor=responder, incident=incident, role="scribe", user=responder)
    services.role_assign(actor=responder, incident=incident, role="technical_lead", user=ben)
    services.role_assign(actor=responder, incident=incident, role="technical_lead", user=responder)
    assert holders(incident) == {
        "commander": "rita",
        "scribe": "rita",
        "technical_lead": "rita",
    }
    replaced = incident.events.latest("id")
    assert replaced.kind == "role_assigned" and replaced.params["previous"]["name"] == "Ben"
    services.role_release(actor=responder, incident=incident, role="scribe")
    assert "scribe" not in holders(incident)
    assert incident.events.latest("id").kind == "role_released"


@pytest.mark.parametrize(
    ("setup", "call", "message"),
    [
        ("inactive", "assign", "is not an active user"),
        ("same", "assign", "is already Incident Commander"),
        ("none", "release_commander", "always has a commander"),
        ("none", "release_empty", "Nobody holds"),
        ("none", "bad_role", "Unknown role"),
    ],
)
def test_role_refusals_write_nothing(declare, responder, make_user, setup, call, message):
    incident = declare()
    zed = make_user("zed", "Responder")
    if setup == "inactive":
        zed.is_active = False
        zed.save()
    before = (incident.events.count(), RoleAssignment.objects.count())
    with pytest.raises(ApplicationError, match=message):
        if call == "assign":
            user = responder if setup == "same" else zed
            services.role_assign(actor=responder, incident=incident, role="commander", user=user)
        elif call == "release_commander":
            services.role_release(actor=responder, incident=incident, role="commander")
        elif call == "release_empty":
            services.role_release(actor=responder, incident=incident, role="scribe")
        else:
            services.role_assign(actor=responder, incident=incident, role="janitor", user=zed)
    assert (incident.events.count(), RoleAssignment.objects.count()) == before


# --- notes and key events ----------------------------------------------------------------


@pytest.mark.parametrize("tag", ["", "hypothesis", "finding", "action", "decision"])
def test_notes_with_tags(declare, responder, tag):
    incident = declare()
    before = incident.changed_at
    event = services.incident_add_note(
        actor=responder, incident=incident, text="Disk full on db-2", tag=tag
    )
    assert event.kind == "note" and event.params["tag"] == tag
    assert event.text == "Disk full on db-2"
    assert event.label == {"": "Note"}.get(tag, tag.capitalize())
    incident.refresh_from_db()
    assert incident.changed_at > before and incident.version == 1  # no edit-form conflict


@pytest.mark.parametrize(
    ("text", "tag", "message"),
    [("", "", "Write the note"), ("x" * 5001, "", "At most 5000"), ("ok", "rumour", "Unknown tag")],
)
def test_bad_notes_refused(declare, responder, text, tag, message):
    incident = declare()
    with pytest.raises(ApplicationError, match=message):
        services.incident_add_note(actor=responder, incident=incident, text=text, tag=tag)
    assert incident.events.filter(kind="note").count() == 0


def test_key_events_mark_and_unmark(declare, responder):
    incident = declare()
    note = services.incident_add_note(actor=responder, incident=incident, text="Found it")
    assert services.event_mark_key(actor=responder, event=note, key=True)
    assert not services.event_mark_key(actor=responder, event=note, key=True)
    assert KeyEvent.objects.get().event == note
    assert services.event_mark_key(actor=responder, event=note, key=False)
    assert not KeyEvent.objects.exists()
    note.refresh_from_db()
    assert note.params["text"] == "Found it"  # the event itself never changes


# --- checklists --------------------------------------------------------------------------


def test_tick_untick_goes_on_the_timeline(declare, responder):
    incident = declare()
    item = IncidentChecklistItem.objects.filter(checklist__incident=incident).first()
    services.checklist_item_set(actor=responder, item=item, done=True)
    item.refresh_from_db()
    assert item.done_by == responder and item.done_at is not None
    with pytest.raises(ApplicationError, match="already ticked"):
        services.checklist_item_set(actor=responder, item=item, done=True)
    services.checklist_item_set(actor=responder, item=item, done=False)
    item.refresh_from_db()
    assert item.done_at is None
    actions = [
        e.params["action"] for e in incident.events.filter(kind="checklist_item").order_by("id")
    ]
    assert actions == ["done", "undone"]


@pytest.mark.parametrize("ending", ["false_alarm", "closed"])
def test_closed_incident_is_read_only(declare, responder, ending):
    from tests.incidents.test_lifecycle import bring_to

    if ending == "false_alarm":
        incident = declare(start_in_triage=True)
        services.incident_mark_false_alarm(actor=responder, incident=incident, note="noise")
    else:
        incident = bring_to(declare(), responder, Status.CLOSED)
    item = IncidentChecklistItem.objects.filter(checklist__incident=incident).first()
    events = incident.events.count()
    with pytest.raises(ApplicationError, match="no longer possible"):
        services.checklist_item_set(actor=responder, item=item, done=True)
    with pytest.raises(ApplicationError, match="no longer possible"):
        services.incident_add_note(actor=responder, incident=incident, text="late")
    with pytest.raises(ApplicationError, match="no longer possible"):
        services.role_assign(actor=responder, incident=incident, role="scribe", user=responder)
    assert incident.events.count() == events


def test_new_incidents_take_the_current_template(declare):
    from incidents.models import ChecklistTemplate, ChecklistTemplateItem

    template = ChecklistTemplate.objects.get(kind="resolution")
    ChecklistTemplateItem.objects.create(template=template, position=99, text="Tell finance")
    incident = declare()
    texts = IncidentChecklistItem.objects.filter(
        checklist__incident=incident, checklist__kind="resolution"
    ).values_list("text", flat=True)
    assert "Tell finance" in texts


# --- status updates ----------------------------------------------------------------------


def post(incident, actor, **kw):
    kw.setdefault("impact", "Search is down for EU users")
    kw.setdefault("actions", "Failing over to the standby cluster")
    return services.status_update_post(actor=actor, incident=incident, **kw)


@pytest.mark.parametrize(("severity", "cadence"), [("P1", 30), ("P2", 60), ("P3", None)])
def test_numbering_and_next_due_by_severity(declare, responder, severity, cadence):
    incident = declare(severity=severity, severity_reason="as stated")
    now = timezone.now()
    first = post(incident, responder, now=now)
    second = post(incident, responder, now=now + timedelta(minutes=1))
    assert (first.number, second.number) == (1, 2)
    assert second.heading == f"Incident #{incident.reference} - API returns 500s - Update #2"
    incident.refresh_from_db()
    if cadence is None:
        assert second.next_update_at is None and incident.next_update_due_at is None
        assert not Timer.objects.filter(
            object_id=incident.pk, kind="incidents.update_overdue", state="pending"
        ).exists()
    else:
        due = now + timedelta(minutes=1 + cadence)
        assert second.next_update_at == due and incident.next_update_due_at == due
        overdue = Timer.objects.get(
            object_id=incident.pk, kind="incidents.update_overdue", state="pending"
        )
        soon = Timer.objects.get(
            object_id=incident.pk, kind="incidents.update_due_soon", state="pending"
        )
        assert overdue.due_at == due and soon.due_at == due - timedelta(minutes=5)
    assert incident.events.filter(kind="status_update").count() == 2


def test_numbers_count_per_incident(declare, responder):
    a, b = declare(), declare()
    post(a, responder)
    post(a, responder)
    assert post(b, responder).number == 1


def test_next_update_may_be_earlier_not_later(declare, responder):
    incident = declare(severity="P1", severity_reason="x")
    now = timezone.now()
    early = post(incident, responder, next_update_at=now + timedelta(minutes=10), now=now)
    assert early.next_update_at == now + timedelta(minutes=10)
    with pytest.raises(ApplicationError, match="earlier, not later"):
        post(incident, responder, next_update_at=now + timedelta(minutes=45), now=now)
    with pytest.raises(ApplicationError, match="in the future"):
        post(incident, responder, next_update_at=now - timedelta(minutes=1), now=now)
    assert StatusUpdate.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("impact", "", "Describe the impact"),
        ("actions", " ", "Describe the actions"),
        ("impact", "x" * 2001, "At most 2000"),
        ("audience", "everyone", "Unknown audience"),
    ],
)
def test_status_update_fields_required(declare, responder, field, value, message):
    incident = declare()
    with pytest.raises(ApplicationError, match=message):
        post(incident, responder, **{field: value})
    assert StatusUpdate.objects.count() == 0


def test_no_updates_in_triage_or_after_closing(declare, responder):
    from tests.incidents.test_lifecycle import bring_to

    triage = declare(start_in_triage=True)
    assert triage.next_update_due_at is None  # nothing is due while it is only suspected
    with pytest.raises(ApplicationError, match="this one is Triage"):
        post(triage, responder)
    services.incident_verify(actor=responder, incident=triage)
    triage.refresh_from_db()
    assert triage.next_update_due_at is not None  # verified: the P2 cadence starts now
    closed = bring_to(declare(), responder, Status.CLOSED)
    with pytest.raises(ApplicationError, match="this one is Closed"):
        post(closed, responder)
    # Only the final update that resolving posted.
    assert list(StatusUpdate.objects.values_list("incident", "status")) == [(closed.pk, "resolved")]


def test_public_updates_are_public_timeline_events(declare, responder):
    incident = declare()
    post(incident, responder, audience="public", public_body="Search is slow in Europe.")
    post(incident, responder, audience="internal")
    visibilities = list(
        incident.events.filter(kind="status_update")
        .order_by("id")
        .values_list("visibility", flat=True)
    )
    assert visibilities == ["public", "internal"]


def test_resolving_stops_the_reminders(declare, responder):
    from tests.incidents.test_lifecycle import bring_to

    incident = declare(severity="P1", severity_reason="x")
    post(incident, responder)
    bring_to(incident, responder, Status.RESOLVED)
    assert not Timer.objects.filter(
        object_id=incident.pk, kind__startswith="incidents.update", state="pending"
    ).exists()
    incident.refresh_from_db()
    assert incident.next_update_due_at is None
    # A final update at resolution is allowed and schedules nothing.
    final = post(incident, responder)
    assert final.next_update_at is None and final.status == Status.RESOLVED


def test_roles_only_for_people_who_can_work_incidents(declare, responder, make_user):
    incident = declare()
    visitor = make_user("vic")  # logged-in, no role
    with pytest.raises(ApplicationError, match="no Responder role"):
        services.role_assign(actor=responder, incident=incident, role="scribe", user=visitor)
    assert "scribe" not in holders(incident)


def test_marking_key_events_is_on_the_timeline(declare, responder):
    incident = declare()
    note = services.incident_add_note(actor=responder, incident=incident, text="Found it")
    services.event_mark_key(actor=responder, event=note, key=True)
    services.event_mark_key(actor=responder, event=note, key=False)
    marks = incident.events.filter(kind="key_event").order_by("id")
    assert [m.params["key"] for m in marks] == [True, False]
    assert "marked a note" in marks[0].text and "unmarked" in marks[1].text
