from celery import shared_task

from . import notifications, timers


@shared_task(name="portal.tasks.sweep_timers", acks_late=True, time_limit=60, soft_time_limit=50)
def sweep_timers() -> dict[str, int]:
    """Fire every durable timer that is due. Safe to run twice at once (see portal.timers)."""
    return timers.sweep(source="worker")


@shared_task(
    name="portal.tasks.deliver_notification", acks_late=True, time_limit=60, soft_time_limit=50
)
def deliver_notification(notification_id: int) -> str:
    """Send one outbox row; safe to run twice (the row is claimed before sending)."""
    return notifications.deliver(notification_id)


@shared_task(
    name="portal.tasks.dispatch_notifications", acks_late=True, time_limit=120, soft_time_limit=100
)
def dispatch_notifications() -> dict[str, int]:
    """Send whatever is due in the outbox, pages first: retries, and rows whose worker died.
    Stops taking rows after DISPATCH_BUDGET seconds, well inside the soft time limit."""
    return notifications.dispatch_due(budget=notifications.DISPATCH_BUDGET)


@shared_task(name="portal.tasks.fire_timer", acks_late=True, time_limit=120, soft_time_limit=100)
def fire_timer(kind: str, object_id: int) -> str:
    """Fire one durable timer now rather than at the next sweep (a subscriber fan-out); the
    sweep remains the fallback, and the timer's claim makes running both harmless."""
    return timers.fire_now(kind, int(object_id))


@shared_task(name="portal.tasks.drain_lane", acks_late=True, time_limit=120, soft_time_limit=100)
def drain_lane(lane: int) -> dict[str, int]:
    """Send a lane's due rows (a subscriber fan-out's thousands), more urgent lanes first;
    hands over to a fresh drain when its budget is spent. Safe to run many at once."""
    from . import bulk

    counts, more = bulk.drain(int(lane), budget=notifications.DISPATCH_BUDGET)
    if more:
        bulk.kick(int(lane))
    return counts


@shared_task(
    name="portal.tasks.handoff_reminders", acks_late=True, time_limit=120, soft_time_limit=100
)
def handoff_reminders() -> int:
    """Remind whoever comes on call soon; safe to run twice (the notices' keys)."""
    from django.utils import timezone

    from .oncall import handoffs

    return handoffs.remind(timezone.now())
