"""Declaring an incident (spec "Detection and Triage")."""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal import timers
from portal.errors import ApplicationError

from .. import authority, bounds, paging, timeline
from ..impact import IMPACT_FIELDS, Assessment, suggest_severity
from ..models import (
    ChecklistTemplate,
    Component,
    Incident,
    IncidentChecklist,
    IncidentChecklistItem,
    IncidentCounter,
    ResponseRole,
    RoleAssignment,
    Source,
    Status,
)
from ..severity import SEVERITIES
from ..taxonomy import TYPES, subtype_belongs
from . import communications, escalation_triggers, notices, publicity, update_reminders
from .base import validate
from .checklist_ticks import auto_tick
from .triage import RESPONSE_TIMER


def _allocate_reference(at: datetime) -> str:
    counter, _ = IncidentCounter.objects.select_for_update().get_or_create(year=at.year)
    IncidentCounter.objects.filter(year=at.year).update(last=F("last") + 1)
    counter.refresh_from_db()
    return f"{settings.INCIDENT_REFERENCE_PREFIX}-{at.year}-{counter.last:04d}"


def _copy_checklists(incident: Incident) -> None:
    templates = ChecklistTemplate.objects.prefetch_related("items")
    for template in templates:
        checklist = IncidentChecklist.objects.create(
            incident=incident, kind=template.kind, title=template.title, position=template.position
        )
        IncidentChecklistItem.objects.bulk_create(
            IncidentChecklistItem(
                checklist=checklist,
                position=item.position,
                key=item.key,
                text=item.text,
                is_verification=item.is_verification,
            )
            for item in template.items.all()
        )


def check_classification(type_: str, subtype: str, severity: str) -> None:
    if severity not in SEVERITIES:
        raise ApplicationError(f"Unknown severity {severity!r}.", field="severity")
    if type_ not in TYPES:
        raise ApplicationError(f"Unknown incident type {type_!r}.", field="type")
    if not subtype_belongs(type_, subtype):
        raise ApplicationError("That subtype does not belong to the chosen type.", field="subtype")


@transaction.atomic
def incident_declare(
    *,
    actor,
    title: str,
    type: str,
    severity: str,
    detected_at: datetime,
    summary: str = "",
    subtype: str = "",
    severity_reason: str = "",
    components: list[Component] | None = None,
    start_in_triage: bool = False,
    source: str = Source.MANUAL,
    commander=None,
    now: datetime | None = None,
    **impact: Any,
) -> Incident:
    """Declare an incident. Manual declarations by a responder count as acknowledged and
    verified; one that starts in Triage (a suspected problem, or an alert) waits for someone
    to verify it or call it a false alarm, and its response-time clock runs as a durable
    timer. The declarer commands unless they name someone; the system names nobody, and the
    first responder to take command gets it."""
    now = now or timezone.now()
    unknown = set(impact) - set(IMPACT_FIELDS)
    if unknown:
        raise TypeError(f"unexpected impact fields: {sorted(unknown)}")
    check_classification(type, subtype, severity)
    detection_error = bounds.detection_error(detected_at, now)
    if detection_error:
        raise ApplicationError(detection_error, field="detected_at")
    in_triage = start_in_triage or source != Source.MANUAL
    commander = commander or actor
    if commander is not None and not commander.is_active:
        raise ApplicationError(f"{commander} is not an active user.", field="commander")
    incident = Incident(
        title=title,
        summary=summary,
        type=type,
        subtype=subtype,
        severity=severity,
        status=Status.TRIAGE if in_triage else Status.INVESTIGATING,
        source=source,
        detected_at=detected_at,
        declared_at=now,
        acknowledged_at=None if in_triage else now,
        verified_at=None if in_triage else now,
        declared_by=actor,
        changed_at=now,
        **impact,
    )
    authority.require("declare", actor, incident, commander=None)
    # Updates are owed once the incident is real: not while it waits in Triage.
    if not in_triage:
        incident.next_update_due_at = update_reminders.first_due(incident, now)
    validate(incident)
    suggestion = suggest_severity(Assessment.of(impact))
    severity_reason = severity_reason.strip()
    if severity != suggestion.severity and not severity_reason:
        raise ApplicationError(
            f"The assessment suggests {suggestion.severity}; say why you chose {severity}.",
            field="severity_reason",
        )
    if severity == suggestion.severity:
        severity_reason = ""
    incident.reference = _allocate_reference(now)
    incident.save(force_insert=True)
    if components:
        incident.components.set(components)
    _copy_checklists(incident)
    if commander is not None:
        command = RoleAssignment.objects.create(
            incident=incident,
            role=ResponseRole.COMMANDER,
            user=commander,
            assigned_by=actor,
            assigned_at=now,
        )
    published = publicity.auto_publish(incident, now=now)
    declared = timeline.declared(
        incident,
        actor,
        suggested=suggestion.severity,
        reason=severity_reason,
        commander=commander,
        published=published,
    )
    auto_tick(incident, declared)
    if commander is not None:
        notices.role_given(
            incident,
            user=commander,
            label=ResponseRole.COMMANDER.label,
            actor=actor,
            key=str(command.pk),
            now=now,
        )
    if incident.acknowledged_at is None:
        timers.schedule(RESPONSE_TIMER, incident.pk, incident.response_due_at)
    update_reminders.schedule(incident)
    communications.arm(incident)
    escalation_triggers.check(incident, now=now)
    paging.start(incident, actor=actor, now=now)
    return incident
