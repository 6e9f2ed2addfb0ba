"""Editing an incident's details, impact assessment, components and severity."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal import hooks, timers
from portal.errors import ApplicationError

from .. import authority, paging, timeline
from ..models import Component, Incident
from . import communications, escalation_triggers, publicity, update_reminders
from .base import EDITABLE_FIELDS, display, lock, save, save_unversioned, validate
from .declare import check_classification
from .triage import RESPONSE_TIMER


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
    now = now or timezone.now()
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    incident = lock(incident, expected_version)
    authority.require("edit", actor, incident)
    if not incident.is_active:
        raise ApplicationError(
            f"A {incident.get_status_display().lower()} incident can no longer be edited."
        )
    new_type = data.get("type", incident.type)
    new_subtype = data.get("subtype", incident.subtype)
    new_severity = severity or incident.severity
    check_classification(new_type, new_subtype, new_severity)

    changed: dict[str, Any] = {}
    changes: dict[str, list[str]] = {}
    for field, value in data.items():
        old = getattr(incident, field)
        if isinstance(old, Decimal) and value is not None:
            value = Decimal(value)
        if old != value:
            changed[field] = value
            changes[EDITABLE_FIELDS[field]] = [
                display(incident, field, old),
                display(incident, field, value),
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
    validate(incident, set(changed))
    if severity_changed:
        changed["next_update_due_at"] = update_reminders.due_after_severity_change(incident, now)
    save(incident, **changed)
    if component_change is not None:
        incident.components.set(components)
    published = severity_changed and publicity.auto_publish(incident, now=now)
    if severity_changed:
        # One event for the whole save; a severity change is the headline of it.
        timeline.severity_changed(
            incident,
            actor,
            old=old_severity,
            new=new_severity,
            reason=reason,
            changes=changes,
            published=published,
            at=now,
        )
        if incident.acknowledged_at is None and incident.is_active:
            timers.schedule(RESPONSE_TIMER, incident.pk, incident.response_due_at)
        update_reminders.schedule(incident)
        communications.arm(incident)
        if incident.is_active:
            paging.severity_changed(incident, actor=actor, now=now)
    else:
        timeline.updated(incident, actor, changes=changes, at=now)
    escalation_triggers.check(incident, now=now)
    # The public page shows its components, its neutral title follows the type and its
    # proposed impact the severity.
    shown = component_change or "type" in changed or severity_changed
    if incident.is_public and not published and shown:
        hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause="edit", at=now)
    return incident


@transaction.atomic
def incident_set_significant(
    *, actor, incident: Incident, significant: bool, reason: str, now: datetime | None = None
) -> Incident:
    """The Incident Commander or a Manager marks a P3 significant (it then needs a
    post-mortem), or takes that back; either way with a reason, on the timeline. P1 and P2
    always need one and P4 never does, so only a P3 is marked."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why.", field="reason")
    if len(reason) > 2000:
        raise ApplicationError(f"At most 2000 characters (it has {len(reason)}).", field="reason")
    incident = lock(incident)
    authority.require("mark_significant", actor, incident)
    level = incident.severity_level
    if not level.postmortem_if_significant:
        raise ApplicationError(
            f"Only a P3 incident is marked significant: a {incident.severity} "
            f"{'always needs' if level.postmortem_required else 'never needs'} a post-mortem."
        )
    if incident.status == "false_alarm":
        raise ApplicationError("A false alarm needs no post-mortem.")
    if bool(significant) == incident.significant:
        raise ApplicationError(
            "It is already marked significant." if significant else "It is not marked significant."
        )
    fields = {"significant": bool(significant), "significant_reason": reason if significant else ""}
    save_unversioned(incident, **fields)
    timeline.significant(incident, actor, significant=bool(significant), reason=reason, at=now)
    return incident
