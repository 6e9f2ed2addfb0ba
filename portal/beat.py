"""Celery beat's scheduler, made independent of the broker for the clocks (DESIGN.md decision
10). Timers and the outbox are database rows; the broker only speeds their sweep up. Beat
publishes the sweep and the dispatch as usual, but when the broker is unreachable (or no
worker has swept for SWEEP_STALE_AFTER intervals: all workers dead or stuck) it runs them
itself, directly against the database, and sends what is due in-process. Running a sweep
twice is safe (portal.timers), so beat and a worker overlapping costs nothing."""

import logging
import time

from celery.beat import PersistentScheduler
from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

log = logging.getLogger(__name__)

SWEEP = "sweep-timers"
DISPATCH = "dispatch-notifications"


def _workers_behind(started: float) -> bool:
    """No worker has swept for SWEEP_STALE_AFTER intervals (and beat has been up that long)."""
    from .health import stale_window
    from .models import SweepStatus

    window = stale_window()
    if time.monotonic() - started < window.total_seconds():
        return False
    last = SweepStatus.objects.filter(pk=1).values_list("last_worker_at", flat=True).first()
    return last is None or timezone.now() - last > window


def sweep_locally(*, dispatch: bool = True) -> dict:
    """One sweep (and the outbox's due rows) in this process, against the database."""
    from . import notifications, timers

    close_old_connections()
    try:
        result = {"timers": timers.sweep(source="local")}
        if dispatch:
            budget = max(2.0, settings.TIMER_SWEEP_SECONDS)
            result["notifications"] = notifications.dispatch_due(budget=budget)
        return result
    except Exception:
        log.exception("beat: local sweep failed")
        connection.close()
        return {}


class Scheduler(PersistentScheduler):
    # Beat normally connects to the broker (retrying for minutes) before its first tick; with
    # no producer of its own it publishes through the app's pool, which fails fast instead.
    producer = None

    def __init__(self, *args, **kwargs):
        self._started = time.monotonic()
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry, producer=None):
        if entry.name not in (SWEEP, DISPATCH):
            return super().apply_entry(entry, producer=None)
        from .health import OK, check_broker

        if check_broker() != OK:
            log.warning("beat: broker unreachable; %s runs here against the database", entry.name)
            if entry.name == SWEEP:
                sweep_locally()
            return None
        try:
            self.apply_async(entry, producer=None, advance=False)
        except Exception as exc:
            log.warning("beat: could not publish %s (%s); running it here", entry.name, exc)
            if entry.name == SWEEP:
                sweep_locally()
            return None
        if entry.name == SWEEP:
            try:
                behind = _workers_behind(self._started)
            except Exception:
                log.exception("beat: could not read the sweep status")
                connection.close()
                behind = False
            if behind:
                log.warning("beat: no worker has swept lately; sweeping here")
                sweep_locally()
        return None
