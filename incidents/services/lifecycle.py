"""Moving an incident along its lifecycle (spec "Status Transition Criteria")."""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal import hooks, timers
from portal.errors import ApplicationError, ConflictError

from .. import lifecycle, timeline
from ..models import Followup, Incident, IncidentChecklistItem, Status
from ..severity import SEVERITIES
from . import clocks
from .core import RESPONSE_TIMER, _lock, _save


@transaction.atomic
def incident_change_status(
    *,
    actor,
    incident: Incident,
    to: str,
    note: str,
    followup: str = "",
    expected_version: int | None = None,
    expected_status: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Move an incident along the spec's status transitions. Each transition records what it
    requires (root cause, mitigation, resolution summary, follow-up) and stamps its milestone
    once; Resolved also needs the resolution checklist's verification items done or waived."""
    now = now or timezone.now()
    incident = _lock(incident, expected_version)
    if expected_status and incident.status != expected_status:
        raise ConflictError(
            f"Someone else moved this incident to {incident.get_status_display()} meanwhile; "
            "nothing was changed. Check the timeline and decide again."
        )
    transition = lifecycle.allowed(incident.status).get(to)
    if transition is None:
        targets = ", ".join(str(Status(t).label) for t in lifecycle.allowed(incident.status))
        raise ApplicationError(
            f"This incident is {incident.get_status_display()}; it cannot move to "
            f"{Status(to).label if to in Status.values else to}."
            + (f" It can move to: {targets}." if targets else ""),
            field="to",
        )
    note = (note or "").strip()
    if not note:
        raise ApplicationError(f"{transition.note_label} is required.", field="note")
    if len(note) > 5000:
        raise ApplicationError(
            f"{transition.note_label}: at most 5000 characters (it has {len(note)}).", field="note"
        )
    old = incident.status
    fields: dict[str, Any] = {"status": to}
    if transition.records:
        fields[transition.records] = note
    if to == Status.RESOLVED:
        _check_verification_items(incident)
        fields["next_update_due_at"] = None
    if to == Status.CLOSED:
        fields["followup"] = _check_followup(incident, followup)
    if transition.stamps and getattr(incident, transition.stamps) is None:
        fields[transition.stamps] = now
    if incident.acknowledged_at is None:
        fields["acknowledged_at"] = now
    if to == Status.INVESTIGATING and old == Status.RESOLVED:
        # Re-opened. Milestones stay as first stamped (time to resolve measures the first
        # resolution; the re-opening is on the timeline); updates are due again.
        cadence = SEVERITIES[incident.severity].update_cadence
        fields["next_update_due_at"] = now + cadence if cadence else None
    _save(incident, **fields)
    timers.cancel(RESPONSE_TIMER, incident.pk)
    timeline.status_changed(
        incident,
        actor,
        old=old,
        new=to,
        label=transition.note_label,
        note=f"{Followup(followup).label}. {note}" if to == Status.CLOSED else note,
        acknowledged="acknowledged_at" in fields,
        at=now,
    )
    if incident.is_active:
        clocks.schedule_update_reminders(incident)
        clocks.check_triggers(incident, now=now)
    else:
        clocks.stop_clocks(incident)
    # Later apps react without incidents importing them (a post-mortem draft, the status page),
    # inside this transaction: a handler that fails refuses the change.
    if to == Status.RESOLVED:
        hooks.fire(hooks.INCIDENT_RESOLVED, incident=incident, actor=actor, at=now)
    elif to == Status.CLOSED:
        hooks.fire(hooks.INCIDENT_CLOSED, incident=incident, actor=actor, at=now)
    hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause="status", at=now)
    return incident


def _check_verification_items(incident: Incident) -> None:
    open_items = list(
        IncidentChecklistItem.objects.filter(
            checklist__incident=incident,
            is_verification=True,
            done_at__isnull=True,
            waived_reason="",
        ).values_list("text", flat=True)
    )
    if open_items:
        raise ApplicationError(
            "Before resolving, tick or waive (with a reason) the resolution checklist's "
            "verification items: " + "; ".join(open_items) + ".",
            field="to",
            details=open_items,
        )


def _check_followup(incident: Incident, followup: str) -> str:
    if followup not in Followup.values:
        raise ApplicationError(
            "Decide the follow-up: a post-mortem, or none (say why).", field="followup"
        )
    if followup == Followup.NONE and incident.severity_level.postmortem_required:
        raise ApplicationError(
            f"A blameless post-mortem is required after every {incident.severity} incident.",
            field="followup",
        )
    return followup
