"""Firing the spec's escalation triggers (the table is incidents/escalation_trigger_rules.py): the
Manager group is told, once per incident and trigger. Checked by every service that changes
what the incident is; the time-based ones run as durable timers."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from portal import timers

from .. import authority, timeline
from ..escalation_trigger_rules import TRIGGERS, TriggerRule
from ..models import EscalationTrigger, Incident, Status
from . import notices
from .base import lock_for_timer


def _escalating(incident: Incident) -> bool:
    """Only a verified, active incident escalates: Triage waits for someone to say it is real."""
    return incident.is_active and incident.status != Status.TRIAGE


def fire(incident: Incident, rule: TriggerRule, *, now: datetime) -> bool:
    _, created = EscalationTrigger.objects.get_or_create(
        incident=incident, kind=rule.kind, defaults={"fired_at": now}
    )
    if not created:
        return False
    timeline.escalation_triggered(incident, kind=rule.kind, label=rule.label, at=now)
    Incident.objects.filter(pk=incident.pk).touch()
    notices.escalated(incident, kind=rule.kind, label=rule.label, now=now)
    return True


def check(incident: Incident, *, now: datetime | None = None) -> None:
    """Fire the triggers that hold now; arm the clocks of the time-based ones that may hold
    later; disarm those that no longer apply (a lower severity, the root cause found)."""
    now = now or timezone.now()
    if not _escalating(incident):
        return
    fired = set(incident.escalations.values_list("kind", flat=True))
    for rule in TRIGGERS.values():
        if rule.kind in fired:
            continue
        applies = incident.severity in rule.severities and rule.holds(incident)
        if rule.after is None:
            if applies:
                fire(incident, rule, now=now)
            continue
        due = incident.declared_at + rule.after()
        if not applies:
            timers.cancel(rule.timer, incident.pk)
        elif due <= now:
            timers.cancel(rule.timer, incident.pk)
            fire(incident, rule, now=now)
        else:
            timers.schedule(rule.timer, incident.pk, due)


def cancel(incident: Incident) -> None:
    for rule in TRIGGERS.values():
        if rule.timer:
            timers.cancel(rule.timer, incident.pk)


@transaction.atomic
def escalation_fire_on_time(
    *, incident_id: int, kind: str, actor=None, now: datetime | None = None
) -> bool:
    """System action, run by a time-based trigger's timer: fires if the rule still holds."""
    now = now or timezone.now()
    incident = lock_for_timer(incident_id)
    rule = TRIGGERS[kind]
    if incident is None or not _escalating(incident):
        return False
    authority.require("fire_escalation_trigger", actor, incident)
    if incident.severity not in rule.severities or not rule.holds(incident):
        return False
    return fire(incident, rule, now=now)
