"""Triage (spec "Detection and Triage"): acknowledging, verifying a suspected problem or
calling it a false alarm, and the response-time clock that runs until someone acknowledges."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from portal import hooks, timers
from portal.errors import ApplicationError
from portal.oncall import services as oncall

from .. import authority, paging, timeline
from ..models import Incident, Status
from ..severity import SEVERITIES
from . import communications, escalation_triggers, notices, publicity, update_reminders
from .base import lock, lock_for_timer, save
from .checklist_ticks import auto_tick

RESPONSE_TIMER = "incidents.response_breach"


@transaction.atomic
def incident_acknowledge(*, actor, incident: Incident, now: datetime | None = None) -> Incident:
    incident = lock(incident)
    authority.require("acknowledge", actor, incident)
    if incident.acknowledged_at:
        raise ApplicationError("This incident has already been acknowledged.")
    if not incident.is_active:
        raise ApplicationError("Only an active incident can be acknowledged.")
    now = now or timezone.now()
    save(incident, acknowledged_at=now)
    timers.cancel(RESPONSE_TIMER, incident.pk)
    oncall.escalations_acknowledge_for(paging.topic(incident), actor, now)
    auto_tick(incident, timeline.acknowledged(incident, actor, at=now))
    return incident


@transaction.atomic
def incident_verify(*, actor, incident: Incident, now: datetime | None = None) -> Incident:
    """Triage -> Investigating: the suspected problem is real. The first status update is now
    owed, and the escalation triggers that held while it waited fire."""
    now = now or timezone.now()
    incident = lock(incident)
    authority.require("verify", actor, incident)
    if incident.status != Status.TRIAGE:
        raise ApplicationError(
            "Only an incident in Triage can be verified; this one is "
            f"{incident.get_status_display()}."
        )
    fields = {
        "status": Status.INVESTIGATING,
        "verified_at": now,
        "next_update_due_at": update_reminders.first_due(incident, now),
    }
    newly_acknowledged = incident.acknowledged_at is None
    if newly_acknowledged:
        fields["acknowledged_at"] = now
    save(incident, **fields)
    timers.cancel(RESPONSE_TIMER, incident.pk)
    if newly_acknowledged:
        oncall.escalations_acknowledge_for(paging.topic(incident), actor, now)
    update_reminders.schedule(incident)
    communications.arm(incident)
    published = publicity.auto_publish(incident, now=now)
    auto_tick(
        incident,
        timeline.verified(
            incident, actor, acknowledged=newly_acknowledged, published=published, at=now
        ),
    )
    escalation_triggers.check(incident, now=now)
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
    incident = lock(incident)
    authority.require("mark_false_alarm", actor, incident)
    if incident.status != Status.TRIAGE:
        raise ApplicationError(
            "Only an incident in Triage can be closed as a false alarm; this one is "
            f"{incident.get_status_display()}."
        )
    now = now or timezone.now()
    save(
        incident,
        status=Status.FALSE_ALARM,
        false_alarm_note=note,
        closed_at=now,
        next_update_due_at=None,
    )
    timers.cancel(RESPONSE_TIMER, incident.pk)
    paging.stop(incident, "Closed as a false alarm.", now)
    update_reminders.cancel(incident)
    escalation_triggers.cancel(incident)
    timeline.false_alarm(incident, actor, note=note, at=now)
    return incident


def closes_itself(incident: Incident) -> bool:
    """Whether an incident may be resolved by its alerts clearing: still in Triage (nobody
    verified it is real) and needing no post-mortem (spec: every P1/P2 and significant P3
    has one, so a person looks at those, whatever the monitoring says)."""
    needs = SEVERITIES[incident.severity].needs_postmortem(significant=incident.significant)
    return incident.status == Status.TRIAGE and not needs


@transaction.atomic
def incident_resolve_cleared(
    *, incident: Incident, source: str, now: datetime | None = None
) -> bool:
    """System action (an integration set to auto-resolve): Triage -> Resolved when every
    alert that opened the incident resolved before anyone verified it. Paging stops; the
    timeline says why; a person can still re-open it. False when the incident is no longer
    one that closes itself (verified meanwhile, or it needs a post-mortem)."""
    now = now or timezone.now()
    incident = lock(incident)
    authority.require("resolve_cleared", None, incident)
    if not closes_itself(incident):
        return False
    note = (
        f"Every alert from {source} resolved before anyone verified the incident; the "
        "integration resolves such incidents itself."
    )
    save(
        incident,
        status=Status.RESOLVED,
        resolution_summary=note,
        resolved_at=incident.resolved_at or now,
        next_update_due_at=None,
    )
    timers.cancel(RESPONSE_TIMER, incident.pk)
    paging.stop(incident, "Its alerts resolved.", now)
    update_reminders.cancel(incident)
    escalation_triggers.cancel(incident)
    auto_tick(
        incident,
        timeline.status_changed(
            incident,
            None,
            old=Status.TRIAGE,
            new=Status.RESOLVED,
            label="Resolution summary",
            note=note,
            at=now,
        ),
    )
    hooks.fire(hooks.INCIDENT_RESOLVED, incident=incident, actor=None, at=now)
    hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause="status", at=now)
    return True


@transaction.atomic
def incident_record_response_breach(
    *, incident_id: int, actor=None, now: datetime | None = None
) -> bool:
    """System action, run by the durable timer when the response time has run out: writes the
    breach on the timeline once per severity, if the incident is still active and
    unacknowledged, tells the Incident Commander (else the declarer) and the Manager group,
    and marks the incident changed so that open pages show it.

    The sweep holds the timer row here while services hold the incident row and then touch the
    timer: NOWAIT makes the sweep leave the timer due for the next sweep (timers.Busy) instead
    of deadlocking with the person acknowledging at that very moment."""
    now = now or timezone.now()
    incident = lock_for_timer(incident_id)
    if incident is None or incident.acknowledged_at or not incident.is_active:
        return False
    authority.require("record_response_breach", actor, incident)
    already = incident.events.filter(kind="response_breached", params__severity=incident.severity)
    if already.exists():
        return False
    timeline.response_breached(incident, at=now)
    Incident.objects.filter(pk=incident.pk).touch()
    notices.response_breached(incident, now=now)
    return True
