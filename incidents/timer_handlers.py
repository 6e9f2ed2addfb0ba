"""What each of the incident's durable timers does when it comes due (the engine that sweeps
them is portal/timers.py). Each handler calls one system service, which re-reads the incident
and re-checks that the action still applies."""

from functools import partial

from portal import timers

from .escalation_trigger_rules import TRIGGERS
from .services import escalation_triggers, maintenance, triage, update_reminders


@timers.register(triage.RESPONSE_TIMER)
def response_breach(timer, now) -> None:
    triage.incident_record_response_breach(incident_id=timer.object_id, now=now)


@timers.register(update_reminders.UPDATE_SOON)
def update_due_soon(timer, now) -> None:
    update_reminders.update_reminder_send(incident_id=timer.object_id, overdue=False, now=now)


@timers.register(update_reminders.UPDATE_OVERDUE)
def update_overdue(timer, now) -> None:
    update_reminders.update_reminder_send(incident_id=timer.object_id, overdue=True, now=now)


def _escalate(kind: str, timer, now) -> None:
    escalation_triggers.escalation_fire_on_time(incident_id=timer.object_id, kind=kind, now=now)


for _rule in TRIGGERS.values():
    if _rule.timer:
        timers.register(_rule.timer)(partial(_escalate, _rule.kind))


@timers.register(maintenance.START_TIMER)
def maintenance_start(timer, now) -> None:
    # A window scheduled to start after it ended (moved by hand) still starts first.
    maintenance.maintenance_start(maintenance_id=timer.object_id, now=now)


@timers.register(maintenance.END_TIMER)
def maintenance_end(timer, now) -> None:
    maintenance.maintenance_start(maintenance_id=timer.object_id, now=now)
    maintenance.maintenance_complete(
        actor=None, maintenance_id=timer.object_id, now=now, by_timer=True
    )
