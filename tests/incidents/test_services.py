from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import (
    Incident,
    IncidentChecklist,
    IncidentChecklistItem,
    Status,
    TimelineEvent,
)
from portal.errors import ApplicationError, ConflictError
from portal.models import Timer
from tests.conftest import race


def response_timer(incident):
    return Timer.objects.get(object_id=incident.pk, kind=services.RESPONSE_TIMER)


def kinds(incident):
    return list(incident.events.order_by("id").values_list("kind", flat=True))


def test_declare_writes_incident_checklists_and_declared_event(declare, responder, components):
    incident = declare(components=components[:2])
    assert incident.reference.startswith(f"INC-{timezone.now().year}-")
    assert incident.status == Status.INVESTIGATING
    assert incident.acknowledged_at == incident.declared_at
    assert incident.declared_by == responder
    assert {c.name for c in incident.components.all()} == {"Web app", "API"}
    # Two components: the "multiple components" escalation trigger fires at once.
    assert kinds(incident) == ["declared", "escalation_triggered"]
    event = incident.events.get(kind="declared")
    assert event.actor == responder
    assert event.params["severity"] == "P2"
    kinds_created = set(incident.checklists.values_list("kind", flat=True))
    assert kinds_created == {"triage", "initial_response", "establish_command", "resolution"}
    triage = incident.checklists.get(kind="triage")
    assert triage.items.count() == 7
    # Acknowledged on declaration: no response timer; the P2 clocks run instead.
    # (The paging escalation's timer is keyed by the escalation: tests/portal/test_escalation.)
    assert set(
        Timer.objects.filter(
            object_id=incident.pk, state="pending", kind__startswith="incidents."
        ).values_list("kind", flat=True)
    ) == {
        "incidents.update_due_soon",
        "incidents.update_overdue",
        "incidents.escalate_unresolved",
        "incidents.escalate_root_cause",
    }


def test_references_count_up_per_year(declare):
    first, second = declare(), declare()
    n1 = int(first.reference.rsplit("-", 1)[1])
    assert second.reference.endswith(f"-{n1 + 1:04d}")


def test_declare_override_needs_reason_and_writes_nothing(declare):
    with pytest.raises(ApplicationError) as err:
        declare(severity="P1")  # the assessment suggests P2
    assert err.value.field == "severity_reason"
    assert "suggests P2" in err.value.message
    assert Incident.objects.count() == 0
    assert TimelineEvent.objects.count() == 0
    assert IncidentChecklist.objects.count() == 0


def test_declare_override_with_reason_is_recorded(declare):
    incident = declare(severity="P1", severity_reason="Biggest customer is down")
    event = incident.events.get(kind="declared")
    assert event.params["suggested_severity"] == "P2"
    assert event.params["override_reason"] == "Biggest customer is down"
    assert "because: Biggest customer is down" in event.text


def test_declare_refuses_future_detection_and_foreign_subtype(declare):
    with pytest.raises(ApplicationError):
        declare(detected_at=timezone.now() + timedelta(hours=1))
    with pytest.raises(ApplicationError) as err:
        declare(subtype="security.exfiltration")
    assert err.value.field == "subtype"
    assert Incident.objects.count() == 0


def test_triage_incident_waits_for_acknowledgement_with_a_durable_timer(declare):
    incident = declare(start_in_triage=True)
    assert incident.status == Status.TRIAGE
    assert incident.acknowledged_at is None
    timer = Timer.objects.get(object_id=incident.pk, kind=services.RESPONSE_TIMER)
    assert timer.due_at == incident.detected_at + timedelta(minutes=30)
    assert timer.state == Timer.State.PENDING


def test_verify_moves_triage_to_investigating_and_acknowledges(declare, make_user):
    incident = declare(start_in_triage=True)
    other = make_user("victor", "Responder")
    incident = services.incident_verify(actor=other, incident=incident)
    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING
    assert incident.acknowledged_at is not None and incident.verified_at is not None
    assert kinds(incident) == ["declared", "verified"]
    assert incident.events.get(kind="verified").params["acknowledged"] is True
    assert incident.events.get(kind="verified").actor == other
    assert response_timer(incident).state == Timer.State.CANCELLED


def test_verify_refuses_outside_triage(declare, responder):
    incident = declare()
    with pytest.raises(ApplicationError, match="Only an incident in Triage"):
        services.incident_verify(actor=responder, incident=incident)
    assert kinds(incident) == ["declared"]


def test_false_alarm_needs_a_monitoring_note(declare, responder):
    incident = declare(start_in_triage=True)
    with pytest.raises(ApplicationError) as err:
        services.incident_mark_false_alarm(actor=responder, incident=incident, note="   ")
    assert err.value.field == "note"
    incident.refresh_from_db()
    assert incident.status == Status.TRIAGE
    assert kinds(incident) == ["declared"]

    services.incident_mark_false_alarm(
        actor=responder, incident=incident, note="Raise the CPU threshold to 90%"
    )
    incident.refresh_from_db()
    assert incident.status == Status.FALSE_ALARM
    assert incident.false_alarm_note == "Raise the CPU threshold to 90%"
    assert incident.closed_at is not None
    assert kinds(incident) == ["declared", "false_alarm"]
    assert response_timer(incident).state == Timer.State.CANCELLED


def test_false_alarm_refused_once_verified(declare, responder):
    incident = declare()
    with pytest.raises(ApplicationError):
        services.incident_mark_false_alarm(actor=responder, incident=incident, note="x")
    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING


def test_severity_change_needs_reason_and_goes_on_the_timeline(declare, responder):
    incident = declare()
    with pytest.raises(ApplicationError) as err:
        services.incident_update(
            actor=responder, incident=incident, expected_version=incident.version, severity="P1"
        )
    assert err.value.field == "severity_reason"
    incident.refresh_from_db()
    assert incident.severity == "P2" and incident.version == 1

    services.incident_update(
        actor=responder,
        incident=incident,
        expected_version=1,
        severity="P1",
        severity_reason="Now all regions",
    )
    incident.refresh_from_db()
    assert incident.severity == "P1" and incident.version == 2
    event = incident.events.get(kind="severity_changed")
    assert event.params == {
        "from": "P2",
        "to": "P1",
        "reason": "Now all regions",
        "changes": {},
        "v": 2,
    }


def test_severity_change_moves_the_response_timer(declare, responder):
    incident = declare(start_in_triage=True, severity="P3", severity_reason="unclear")
    services.incident_update(
        actor=responder,
        incident=incident,
        expected_version=1,
        severity="P1",
        severity_reason="worse",
    )
    timer = Timer.objects.get(object_id=incident.pk, kind=services.RESPONSE_TIMER, state="pending")
    assert timer.due_at == incident.detected_at + timedelta(minutes=15)


def test_update_writes_one_event_with_the_changes(declare, responder, components):
    incident = declare(components=components[:1])
    services.incident_update(
        actor=responder,
        incident=incident,
        expected_version=1,
        title="API returns 500s in eu-west",
        symptom="complete_outage",
        components=components[:2],
    )
    event = incident.events.get(kind="updated")
    assert event.params["changes"] == {
        "Title": ["API returns 500s", "API returns 500s in eu-west"],
        "Symptom": ["Degraded performance or elevated errors", "Complete outage"],
        "Components": ["Web app", "API, Web app"],
    }


def test_update_without_changes_writes_nothing(declare, responder):
    incident = declare()
    services.incident_update(
        actor=responder, incident=incident, expected_version=1, title=incident.title
    )
    incident.refresh_from_db()
    assert incident.version == 1
    assert kinds(incident) == ["declared"]


def test_stale_edit_is_refused_and_says_what_changed(declare, responder, make_user):
    incident = declare()
    bea = make_user("bea", "Responder")
    # Both opened the form at version 1; Bea saves first.
    services.incident_update(actor=bea, incident=incident, expected_version=1, title="Bea's title")
    with pytest.raises(ConflictError) as err:
        services.incident_update(
            actor=responder, incident=incident, expected_version=1, title="Rita's title"
        )
    assert any("Bea" in d and "Bea's title" in d for d in err.value.details)
    incident.refresh_from_db()
    assert incident.title == "Bea's title"
    assert kinds(incident) == ["declared", "updated"]


def test_closed_incident_cannot_be_edited(declare, responder):
    incident = declare(start_in_triage=True)
    services.incident_mark_false_alarm(actor=responder, incident=incident, note="noise")
    incident.refresh_from_db()
    with pytest.raises(ApplicationError, match="no longer be edited"):
        services.incident_update(
            actor=responder, incident=incident, expected_version=incident.version, title="x"
        )


def test_change_status_requires_note_and_stamps_milestones(declare, responder):
    incident = declare()
    with pytest.raises(ApplicationError, match="Root cause is required"):
        services.incident_change_status(
            actor=responder, incident=incident, to=Status.IDENTIFIED, note=""
        )
    with pytest.raises(ApplicationError, match="cannot move to Resolved"):
        services.incident_change_status(
            actor=responder, incident=incident, to=Status.RESOLVED, note="done"
        )
    services.incident_change_status(
        actor=responder, incident=incident, to=Status.IDENTIFIED, note="Bad deploy"
    )
    incident.refresh_from_db()
    assert incident.status == Status.IDENTIFIED and incident.identified_at is not None
    assert kinds(incident) == ["declared", "status_changed"]


def test_response_breach_is_recorded_once_and_not_after_acknowledgement(declare, responder):
    incident = declare(start_in_triage=True)
    assert services.incident_record_response_breach(incident_id=incident.pk) is True
    assert kinds(incident) == ["declared", "response_breached"]
    services.incident_acknowledge(actor=responder, incident=incident)
    assert services.incident_record_response_breach(incident_id=incident.pk) is False
    assert kinds(incident) == ["declared", "response_breached", "acknowledged"]


def test_acknowledge_twice_is_refused(declare, responder):
    incident = declare(start_in_triage=True)
    services.incident_acknowledge(actor=responder, incident=incident)
    with pytest.raises(ApplicationError, match="already been acknowledged"):
        services.incident_acknowledge(actor=responder, incident=incident)
    assert kinds(incident).count("acknowledged") == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_edits_one_wins(declare, responder, make_user):
    """Two requests race on the same version: exactly one saves; the other gets a conflict."""
    incident = declare()
    bea = make_user("bea", "Responder")

    def edit(actor, title):
        return lambda: services.incident_update(
            actor=actor, incident=incident, expected_version=1, title=title
        )

    outcomes = [
        "conflict" if isinstance(r, ConflictError) else "saved"
        for r in race(edit(responder, "A"), edit(bea, "B"))
    ]
    assert sorted(outcomes) == ["conflict", "saved"]
    incident.refresh_from_db()
    assert incident.version == 2
    assert incident.events.filter(kind="updated").count() == 1


def test_checklist_items_are_copies_of_the_template(declare):
    from incidents.models import ChecklistTemplate

    template = ChecklistTemplate.objects.get(kind="triage")
    template.items.update(text="Changed wording")
    fresh = declare()
    assert set(
        IncidentChecklistItem.objects.filter(
            checklist__incident=fresh, checklist__kind="triage"
        ).values_list("text", flat=True)
    ) == {"Changed wording"}
