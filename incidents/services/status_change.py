"""Moving an incident along its statuses (spec "Status Transition Criteria", "Resolution and
Recovery"); the table of allowed moves is incidents/transitions.py."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal import hooks, timers
from portal.errors import ApplicationError, ConflictError

from .. import authority, paging, timeline, transitions
from ..models import Followup, Incident, IncidentChecklistItem, Status
from . import communications, escalation_triggers, update_reminders, updates
from .base import lock, save
from .checklist_ticks import auto_tick
from .triage import RESPONSE_TIMER

LONG_TEXT = 2000


@dataclass(frozen=True)
class ResolutionNotice:
    """The spec's "Resolution Communication", posted as the incident's final status update:
    resolution confirmed across the affected components, a brief explanation of what
    occurred, any user action needed, preventive measures if appropriate."""

    confirmed: bool
    explanation: str
    user_action: str = ""
    prevention: str = ""
    # What the status page says, when the incident is on it (default: it is resolved).
    public_message: str = ""

    def cleaned(self) -> "ResolutionNotice":
        explanation = (self.explanation or "").strip()
        user_action = (self.user_action or "").strip()
        prevention = (self.prevention or "").strip()
        public_message = (self.public_message or "").strip()
        if not self.confirmed:
            raise ApplicationError(
                "Confirm that normal operation is restored across all affected components.",
                field="confirmed",
            )
        if not explanation:
            raise ApplicationError(
                "Explain briefly what occurred: it is the final update's message.",
                field="explanation",
            )
        for field, value in (
            ("explanation", explanation),
            ("user_action", user_action),
            ("prevention", prevention),
            ("public_message", public_message),
        ):
            if len(value) > LONG_TEXT:
                raise ApplicationError(
                    f"At most {LONG_TEXT} characters (it has {len(value)}).", field=field
                )
        return ResolutionNotice(True, explanation, user_action, prevention, public_message)


@transaction.atomic
def incident_change_status(
    *,
    actor,
    incident: Incident,
    to: str,
    note: str,
    followup: str = "",
    resolution: ResolutionNotice | None = None,
    expected_version: int | None = None,
    expected_status: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Move an incident along the spec's status transitions. Each transition records what it
    requires (root cause, mitigation, resolution summary, follow-up) and stamps its milestone
    once. Resolving is the Incident Commander's (or a Manager's), needs the resolution
    checklist's verification items done or waived, and posts the final update from the
    resolution communication. Re-opening clears those verification items."""
    now = now or timezone.now()
    incident = lock(incident, expected_version)
    if expected_status and incident.status != expected_status:
        raise ConflictError(
            f"Someone else moved this incident to {incident.get_status_display()} meanwhile; "
            "nothing was changed. Check the timeline and decide again."
        )
    transition = transitions.allowed(incident.status).get(to)
    if transition is None:
        targets = ", ".join(str(Status(t).label) for t in transitions.allowed(incident.status))
        raise ApplicationError(
            f"This incident is {incident.get_status_display()}; it cannot move to "
            f"{Status(to).label if to in Status.values else to}."
            + (f" It can move to: {targets}." if targets else ""),
            field="to",
        )
    old = incident.status
    authority.require(transition.action, actor, incident)
    note = (note or "").strip()
    if not note:
        raise ApplicationError(f"{transition.note_label} is required.", field="note")
    if len(note) > 5000:
        raise ApplicationError(
            f"{transition.note_label}: at most 5000 characters (it has {len(note)}).", field="note"
        )
    fields: dict[str, Any] = {"status": to}
    if transition.records:
        fields[transition.records] = note
    if to == Status.RESOLVED:
        _check_verification_items(incident)
        if resolution is None:
            raise ApplicationError(
                "Resolving posts the final update: confirm the resolution across the affected "
                "components and explain briefly what occurred.",
                field="explanation",
            )
        resolution = resolution.cleaned()
        fields["next_update_due_at"] = None
    if to == Status.CLOSED:
        fields["followup"] = _check_followup(incident, followup)
    if transition.stamps and getattr(incident, transition.stamps) is None:
        fields[transition.stamps] = now
    if incident.acknowledged_at is None:
        fields["acknowledged_at"] = now
    cleared: list[str] = []
    if to == Status.INVESTIGATING and old == Status.RESOLVED:
        # Re-opened. Milestones stay as first stamped (time to resolve measures the first
        # resolution; the re-opening is on the timeline); an update is owed again, and the
        # next resolution is verified again.
        fields["next_update_due_at"] = update_reminders.first_due(incident, now)
        cleared = _clear_verification(incident)
        # Its post-mortem no longer tells the whole story: the status page shows the
        # incident as it is, and "postmortem" again once a revision is published.
        fields["postmortem_published_at"] = None
    save(incident, **fields)
    timers.cancel(RESPONSE_TIMER, incident.pk)
    if to in (Status.RESOLVED, Status.CLOSED):
        paging.stop(incident, f"The incident was {Status(to).label.lower()}.", now)
    changed = timeline.status_changed(
        incident,
        actor,
        old=old,
        new=to,
        label=transition.note_label,
        note=f"{Followup(followup).label}. {note}" if to == Status.CLOSED else note,
        acknowledged="acknowledged_at" in fields,
        cleared=cleared,
        at=now,
    )
    auto_tick(incident, changed)
    if to == Status.RESOLVED:
        updates.post_resolution(actor=actor, incident=incident, notice=resolution, now=now)
    if incident.is_active:
        update_reminders.schedule(incident)
        communications.arm(incident)
        escalation_triggers.check(incident, now=now)
    else:
        update_reminders.cancel(incident)
        escalation_triggers.cancel(incident)
    # Later apps react without incidents importing them (a post-mortem draft, the status page),
    # inside this transaction: a handler that fails refuses the change.
    if to == Status.RESOLVED:
        hooks.fire(hooks.INCIDENT_RESOLVED, incident=incident, actor=actor, at=now)
    elif to == Status.CLOSED:
        hooks.fire(hooks.INCIDENT_CLOSED, incident=incident, actor=actor, at=now)
    hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause="status", at=now)
    return incident


def _verification_items(incident: Incident):
    """The items resolving needs done or waived (the resolution checklist's, by default)."""
    return IncidentChecklistItem.objects.filter(checklist__incident=incident, is_verification=True)


def _check_verification_items(incident: Incident) -> None:
    open_items = list(
        _verification_items(incident)
        .filter(done_at__isnull=True, waived_reason="")
        .values_list("text", flat=True)
    )
    if open_items:
        raise ApplicationError(
            "Before resolving, tick or waive (with a reason) the resolution checklist's "
            "verification items: " + "; ".join(open_items) + ".",
            field="to",
            details=open_items,
        )


def _clear_verification(incident: Incident) -> list[str]:
    """Untick and un-waive the resolution checklist's verification items; their texts."""
    items = _verification_items(incident).exclude(done_at__isnull=True, waived_reason="")
    cleared = list(items.values_list("text", flat=True))
    items.update(done_at=None, done_by=None, waived_reason="")
    return cleared


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
