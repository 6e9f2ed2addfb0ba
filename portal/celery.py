"""The Celery app. Broker: Redis when REDIS_URL is set, else the filesystem broker under var/
(see settings). Tasks are acknowledged late, speak JSON and have hard time limits; the only
periodic work is the durable-timer sweep (DESIGN.md decision 3), scheduled here in code."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_ignore_result=True,
    task_time_limit=120,
    task_soft_time_limit=100,
    task_default_queue=os.environ.get("CELERY_TASK_DEFAULT_QUEUE", "default"),
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    # Beat sweeps the database itself when the broker is unreachable (portal/beat.py).
    beat_scheduler="portal.beat:Scheduler",
    timezone="UTC",
)


def _beat_schedule():
    from django.conf import settings

    every = settings.TIMER_SWEEP_SECONDS
    return {
        "sweep-timers": {
            "task": "portal.tasks.sweep_timers",
            "schedule": every,
            # A sweep that could not start before the next one is due is pointless.
            "options": {"expires": max(every * 2, 5)},
        },
        "handoff-reminders": {
            "task": "portal.tasks.handoff_reminders",
            # Reminders go out HANDOFF_REMINDER_MINUTES ahead; a check every 5 minutes.
            "schedule": 300.0,
            "options": {"expires": 240},
        },
        "dispatch-notifications": {
            "task": "portal.tasks.dispatch_notifications",
            "schedule": every * 2,
            "options": {"expires": max(every * 4, 10)},
        },
    }


@app.on_after_configure.connect
def _setup_periodic_tasks(sender, **kwargs):
    from django.conf import settings

    # The timer sweep has its own queue so that a backlog of notifications (or a slow SMTP
    # server: the outbox dispatch runs on the default queue) never delays it; deliveries run
    # on their lane's queue (pages, default, bulk).
    sender.conf.task_routes = {
        "portal.tasks.sweep_timers": {"queue": settings.CELERY_TIMERS_QUEUE},
    }
    sender.conf.beat_schedule = _beat_schedule()


app.autodiscover_tasks()
