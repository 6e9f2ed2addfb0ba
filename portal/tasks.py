from celery import shared_task

from . import timers


@shared_task(name="portal.tasks.sweep_timers", acks_late=True, time_limit=60, soft_time_limit=50)
def sweep_timers() -> dict[str, int]:
    """Fire every durable timer that is due. Safe to run twice at once (see portal.timers)."""
    return timers.sweep()
