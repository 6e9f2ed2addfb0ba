"""Every state change of an incident (DESIGN.md decision 1): one transaction that guards the
rule, writes the rows and writes the timeline event; rule violations raise ApplicationError
and write nothing."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from portal import timers
from portal.errors import ApplicationError, ConflictError

from .. import bounds, timeline
from ..impact import Assessment, suggest_severity
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
from ..taxonomy import SUBTYPE_LABELS, TYPES, subtype_belongs
from . import clocks

RESPONSE_TIMER = "incidents.response_breach"

# Fields a responder edits after declaration, with the labels the timeline uses.
EDITABLE_FIELDS: dict[str, str] = {
    "title": "Title",
    "summary": "Summary",
    "type": "Type",
    "subtype": "Subtype",
    "users_affected": "Users affected",
    "users_affected_percent": "Users affected (%)",
    "symptom": "Symptom",
    "impact_revenue": "Revenue impact",
    "impact_reputation": "Reputation impact",
    "impact_compliance": "Compliance impact",
    "impact_sla": "SLA impact",
    "technical_scope": "Scope",
    "data_risk": "Data risk",
    "security_implications": "Security implications",
    "recovery_complexity": "Recovery complexity",
}
ASSESSMENT_FIELDS = {
    "users_affected": "users_affected",
    "users_affected_percent": "users_affected_percent",
    "symptom": "symptom",
    "impact_revenue": "revenue",
    "impact_reputation": "reputation",
    "impact_compliance": "compliance",
    "impact_sla": "sla",
    "technical_scope": "scope",
    "data_risk": "data_risk",
    "security_implications": "security",
    "recovery_complexity": "recovery_complexity",
}


def assessment_from(data: dict[str, Any]) -> Assessment:
    return Assessment(
        **{target: data[source] for source, target in ASSESSMENT_FIELDS.items() if source in data}
    )


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
                text=item.text,
                is_verification=item.is_verification,
            )
            for item in template.items.all()
        )


def _check_classification(type_: str, subtype: str, severity: str) -> None:
    if severity not in SEVERITIES:
        raise ApplicationError(f"Unknown severity {severity!r}.", field="severity")
    if type_ not in TYPES:
        raise ApplicationError(f"Unknown incident type {type_!r}.", field="type")
    if not subtype_belongs(type_, subtype):
        raise ApplicationError("That subtype does not belong to the chosen type.", field="subtype")


def _validate(incident: Incident, fields: set[str] | None = None) -> None:
    """The model's own field rules (lengths, choices, ranges) for callers that bypass forms:
    tasks, commands, the API. Raises ApplicationError naming the first bad field."""
    names = {f.name for f in Incident._meta.concrete_fields}
    exclude = names - fields if fields is not None else {"reference"}
    try:
        incident.clean_fields(exclude=exclude)
        # Django enforces a TextField's max_length only in forms.
        for field in Incident._meta.concrete_fields:
            value = getattr(incident, field.attname)
            too_long = isinstance(value, str) and field.max_length and len(value) > field.max_length
            if field.name not in exclude and too_long:
                message = f"At most {field.max_length} characters (it has {len(value)})."
                raise ValidationError({field.name: message})
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        label = EDITABLE_FIELDS.get(field, field.replace("_", " ").capitalize())
        raise ApplicationError(f"{label}: {' '.join(messages)}", field=field) from error


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
    """Declare an incident. Manual declarations by a responder count as acknowledged; one that
    starts in Triage (a suspected problem) waits for someone to verify it or call it a false
    alarm, and its response-time clock runs as a durable timer."""
    now = now or timezone.now()
    unknown = set(impact) - set(ASSESSMENT_FIELDS)
    if unknown:
        raise TypeError(f"unexpected impact fields: {sorted(unknown)}")
    _check_classification(type, subtype, severity)
    detection_error = bounds.detection_error(detected_at, now)
    if detection_error:
        raise ApplicationError(detection_error, field="detected_at")
    in_triage = start_in_triage or source != Source.MANUAL
    commander = commander or actor
    if commander is not None and not commander.is_active:
        raise ApplicationError(f"{commander} is not an active user.", field="commander")
    cadence = SEVERITIES[severity].update_cadence
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
        # Updates are due once the incident is real: not while it waits in Triage.
        next_update_due_at=now + cadence if cadence and not in_triage else None,
        **impact,
    )
    _validate(incident)
    suggestion = suggest_severity(assessment_from(impact))
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
    timeline.declared(
        incident, actor, suggested=suggestion.severity, reason=severity_reason, commander=commander
    )
    if commander is not None:
        clocks.notify_role_given(
            incident,
            user=commander,
            label=ResponseRole.COMMANDER.label,
            actor=actor,
            key=str(command.pk),
            now=now,
        )
    if incident.acknowledged_at is None:
        timers.schedule(RESPONSE_TIMER, incident.pk, incident.response_due_at)
    clocks.schedule_update_reminders(incident)
    clocks.check_triggers(incident, now=now)
    return incident


def _lock(incident: Incident, expected_version: int | None = None) -> Incident:
    locked = Incident.objects.select_for_update().get(pk=incident.pk)
    if expected_version is not None and locked.version != expected_version:
        raise _conflict(locked, expected_version)
    return locked


def _conflict(incident: Incident, expected_version: int) -> ConflictError:
    recent = incident.events.select_related("actor__profile").order_by("-id")[:20]
    since = [e for e in reversed(recent) if e.params.get("v", 0) > expected_version]
    labels = {label: field for field, label in EDITABLE_FIELDS.items()}
    labels["Components"] = "components"
    changed: set[str] = set()
    for event in since:
        changed.update(labels[k] for k in event.params.get("changes", {}) if k in labels)
        if "to" in event.params and event.kind == "severity_changed":
            changed.add("severity")
    error = ConflictError(
        "Someone else changed this incident after you opened it, so your changes were not "
        "saved. The fields they changed now show their values; your other input is kept. "
        "Check it against the changes below and save again.",
        details=[e.text for e in since],
    )
    error.fields = changed
    return error


def touch(incident: Incident) -> None:
    """Mark the incident changed (notes, ticks, roles) without bumping its edit version, so
    live pages refresh but nobody's open edit form goes stale."""
    Incident.objects.filter(pk=incident.pk).touch()


def _save(incident: Incident, **fields: Any) -> None:
    """Write fields and bump the version, refusing if another save slipped in meanwhile (on
    SQLite there are no row locks, so the version check is the guard)."""
    fields["version"] = incident.version + 1
    fields["updated_at"] = fields["changed_at"] = timezone.now()
    if not Incident.objects.filter(pk=incident.pk, version=incident.version).update(**fields):
        raise _conflict(incident, incident.version)
    for name, value in fields.items():
        setattr(incident, name, value)


@transaction.atomic
def incident_acknowledge(*, actor, incident: Incident, now: datetime | None = None) -> Incident:
    incident = _lock(incident)
    if incident.acknowledged_at:
        raise ApplicationError("This incident has already been acknowledged.")
    if not incident.is_active:
        raise ApplicationError("Only an active incident can be acknowledged.")
    now = now or timezone.now()
    _save(incident, acknowledged_at=now)
    timers.cancel(RESPONSE_TIMER, incident.pk)
    timeline.acknowledged(incident, actor, at=now)
    return incident


@transaction.atomic
def incident_verify(*, actor, incident: Incident, now: datetime | None = None) -> Incident:
    """Triage -> Investigating: the suspected problem is real."""
    now = now or timezone.now()
    incident = _lock(incident)
    if incident.status != Status.TRIAGE:
        raise ApplicationError(
            "Only an incident in Triage can be verified; this one is "
            f"{incident.get_status_display()}."
        )
    cadence = SEVERITIES[incident.severity].update_cadence
    fields = {
        "status": Status.INVESTIGATING,
        "verified_at": now,
        "next_update_due_at": now + cadence if cadence else None,
    }
    newly_acknowledged = incident.acknowledged_at is None
    if newly_acknowledged:
        fields["acknowledged_at"] = now
    _save(incident, **fields)
    timers.cancel(RESPONSE_TIMER, incident.pk)
    clocks.schedule_update_reminders(incident)
    timeline.verified(incident, actor, acknowledged=newly_acknowledged, at=now)
    return incident


@transaction.atomic
def incident_mark_false_alarm(
    *, actor, incident: Incident, note: str, now: datetime | None = None
) -> Incident:
    """Triage -> False alarm, with what monitoring should change so it does not recur."""
    note = (note or "").strip()
    if not note:
        raise ApplicationError(
            "Say what monitoring should change so this false alarm does not recur.", field="note"
        )
    incident = _lock(incident)
    if incident.status != Status.TRIAGE:
        raise ApplicationError(
            "Only an incident in Triage can be closed as a false alarm; this one is "
            f"{incident.get_status_display()}."
        )
    now = now or timezone.now()
    _save(
        incident,
        status=Status.FALSE_ALARM,
        false_alarm_note=note,
        closed_at=now,
        next_update_due_at=None,
    )
    timers.cancel(RESPONSE_TIMER, incident.pk)
    clocks.stop_clocks(incident)
    timeline.false_alarm(incident, actor, note=note, at=now)
    return incident


def _display(incident: Incident, field: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    model_field = Incident._meta.get_field(field)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if field == "subtype":
        return SUBTYPE_LABELS.get(value, value)
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


@transaction.atomic
def incident_update(
    *,
    actor,
    incident: Incident,
    expected_version: int,
    severity: str | None = None,
    severity_reason: str = "",
    components: list[Component] | None = None,
    now: datetime | None = None,
    **data: Any,
) -> Incident:
    """Edit details, impact assessment, components and severity. A severity change needs a
    reason and gets its own timeline event; everything else is one 'updated' event."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    incident = _lock(incident, expected_version)
    if not incident.is_active:
        raise ApplicationError(
            f"A {incident.get_status_display().lower()} incident can no longer be edited."
        )
    new_type = data.get("type", incident.type)
    new_subtype = data.get("subtype", incident.subtype)
    new_severity = severity or incident.severity
    _check_classification(new_type, new_subtype, new_severity)

    changed: dict[str, Any] = {}
    changes: dict[str, list[str]] = {}
    for field, value in data.items():
        old = getattr(incident, field)
        if isinstance(old, Decimal) and value is not None:
            value = Decimal(value)
        if old != value:
            changed[field] = value
            changes[EDITABLE_FIELDS[field]] = [
                _display(incident, field, old),
                _display(incident, field, value),
            ]
    component_change = None
    if components is not None:
        before = sorted(c.name for c in incident.components.all())
        after = sorted(c.name for c in components)
        if before != after:
            component_change = [", ".join(before), ", ".join(after)]
            changes["Components"] = component_change

    severity_changed = new_severity != incident.severity
    reason = severity_reason.strip()
    if severity_changed and not reason:
        raise ApplicationError("Say why the severity changes.", field="severity_reason")
    if not changes and not severity_changed:
        return incident

    old_severity = incident.severity
    if severity_changed:
        changed["severity"] = new_severity
    for field, value in changed.items():
        setattr(incident, field, value)
    _validate(incident, set(changed))
    _save(incident, **changed)
    if component_change is not None:
        incident.components.set(components)
    if severity_changed:
        # One event for the whole save; a severity change is the headline of it.
        timeline.severity_changed(
            incident,
            actor,
            old=old_severity,
            new=new_severity,
            reason=reason,
            changes=changes,
            at=now,
        )
        if incident.acknowledged_at is None and incident.is_active:
            timers.schedule(RESPONSE_TIMER, incident.pk, incident.response_due_at)
        _tighten_update_cadence(incident, now or timezone.now())
    else:
        timeline.updated(incident, actor, changes=changes, at=now)
    clocks.check_triggers(incident, now=now)
    return incident


def _tighten_update_cadence(incident: Incident, now: datetime) -> None:
    """A severity that needs more frequent updates brings the next one forward."""
    cadence = SEVERITIES[incident.severity].update_cadence
    if cadence is None:
        return
    due = now + cadence
    if incident.next_update_due_at is None or incident.next_update_due_at > due:
        incident.next_update_due_at = due
        Incident.objects.filter(pk=incident.pk).update(next_update_due_at=due)
        clocks.schedule_update_reminders(incident)


@transaction.atomic
@transaction.atomic
def incident_record_response_breach(
    *, incident_id: int, actor=None, now: datetime | None = None
) -> bool:
    """System action, run by the durable timer when the response time has run out: writes the
    breach on the timeline once per severity, if the incident is still active and
    unacknowledged, and tells the managers and the commander.

    The sweep holds the timer row here while services hold the incident row and then touch the
    timer: NOWAIT makes the sweep leave the timer due for the next sweep (timers.Busy) instead
    of deadlocking with the person acknowledging at that very moment."""
    now = now or timezone.now()
    incident = clocks.lock_for_timer(incident_id)
    if incident is None or incident.acknowledged_at or not incident.is_active:
        return False
    already = incident.events.filter(kind="response_breached", params__severity=incident.severity)
    if already.exists():
        return False
    timeline.response_breached(incident)
    clocks.notify_response_breach(incident, now=now)
    return True
