from portal import timers

from .models import EscalationTrigger
from .services import clocks, core


@timers.register(core.RESPONSE_TIMER)
def response_breach(timer, now) -> None:
    core.incident_record_response_breach(incident_id=timer.object_id, now=now)


@timers.register(clocks.UPDATE_SOON)
def update_due_soon(timer, now) -> None:
    clocks.update_reminder_send(incident_id=timer.object_id, overdue=False, now=now)


@timers.register(clocks.UPDATE_OVERDUE)
def update_overdue(timer, now) -> None:
    clocks.update_reminder_send(incident_id=timer.object_id, overdue=True, now=now)


@timers.register(clocks.ESCALATE_UNRESOLVED)
def escalate_unresolved(timer, now) -> None:
    clocks.escalation_fire_on_time(
        incident_id=timer.object_id, kind=EscalationTrigger.Kind.UNRESOLVED_30, now=now
    )


@timers.register(clocks.ESCALATE_ROOT_CAUSE)
def escalate_root_cause(timer, now) -> None:
    clocks.escalation_fire_on_time(
        incident_id=timer.object_id, kind=EscalationTrigger.Kind.ROOT_CAUSE_UNKNOWN, now=now
    )
