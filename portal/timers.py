"""Durable timers (DESIGN.md decision 3).

Apps register a handler per timer kind; `schedule` and `cancel` are called inside the caller's
transaction, so a timer exists exactly when the state change that needs it was committed. The
periodic `sweep` claims due rows with SELECT ... FOR UPDATE SKIP LOCKED and, per timer, a
conditional UPDATE from pending, so two sweeps running at once (two beats by mistake, or on
SQLite where row locks do not exist) never fire one timer twice. The handler runs in the same
transaction as the claim: if it fails, the claim rolls back and the timer is retried with
backoff; a crashed worker leaves the row pending for the next sweep. A handler that finds its
object busy (a person is changing it right now) raises Busy: the timer stays pending, due, for
the next sweep, without using an attempt."""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from .models import SweepStatus, Timer

log = logging.getLogger(__name__)

Handler = Callable[[Timer, datetime], None]
_handlers: dict[str, Handler] = {}

MAX_ATTEMPTS = 8
BATCH = 100


class Busy(Exception):
    """The timer's object is locked by someone else right now; try again next sweep."""


def register(kind: str) -> Callable[[Handler], Handler]:
    def decorator(fn: Handler) -> Handler:
        _handlers[kind] = fn
        return fn

    return decorator


SCHEDULE_ATTEMPTS = 5


def schedule(kind: str, object_id: int, due_at: datetime) -> Timer:
    """Create the pending timer of this kind for this object, or move it to due_at.

    Safe when two transactions schedule the same timer at once (nothing else serialises
    them when no row of the object is locked): the second's insert meets the first's pending
    row in the unique index, and it moves that row instead."""
    if kind not in _handlers:
        raise KeyError(f"no timer handler registered for {kind!r}")
    pending = Timer.objects.filter(kind=kind, object_id=object_id, state=Timer.State.PENDING)
    for attempt in range(SCHEDULE_ATTEMPTS):
        if pending.update(due_at=due_at, attempts=0, last_error=""):
            return pending.get()
        try:
            with transaction.atomic():
                return Timer.objects.create(kind=kind, object_id=object_id, due_at=due_at)
        except IntegrityError:
            if attempt == SCHEDULE_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def cancel(kind: str, object_id: int) -> int:
    return Timer.objects.filter(kind=kind, object_id=object_id, state=Timer.State.PENDING).update(
        state=Timer.State.CANCELLED
    )


def fire_now(kind: str, object_id: int) -> str:
    """Fire the pending timer of this kind for this object at once, if there is one and no
    one else is firing it ('fired', 'skipped', ...): a change that must not wait for the
    sweep, with the sweep as the fallback."""
    now = timezone.now()
    pending = Timer.objects.filter(kind=kind, object_id=object_id, state=Timer.State.PENDING)
    result = "skipped"
    for timer_id, due_at in pending.values_list("pk", "due_at"):
        result = _fire(timer_id, max(now, due_at))
    return result


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** (attempts - 1), 3600))


def _fire(timer_id: int, now: datetime) -> str:
    """Claim and fire one timer. Returns 'fired', 'failed', 'retry', 'busy' or 'skipped'."""
    with transaction.atomic():
        timer = (
            Timer.objects.select_for_update(skip_locked=True)
            .filter(pk=timer_id, state=Timer.State.PENDING, due_at__lte=now)
            .first()
        )
        if timer is None:
            return "skipped"
        handler = _handlers.get(timer.kind)
        try:
            with transaction.atomic():
                claimed = Timer.objects.filter(pk=timer.pk, state=Timer.State.PENDING).update(
                    state=Timer.State.FIRED, fired_at=now, attempts=F("attempts") + 1
                )
                if not claimed:
                    return "skipped"
                if handler is None:
                    raise LookupError(f"no handler registered for timer kind {timer.kind!r}")
                handler(timer, now)
        except Busy:
            # Lock contention is not failure: the claim rolled back, the timer stays due.
            return "busy"
        except Exception as exc:  # the handler's failure must not stop the sweep
            log.exception("timer %s failed", timer)
            attempts = timer.attempts + 1
            gave_up = attempts >= MAX_ATTEMPTS
            Timer.objects.filter(pk=timer.pk).update(
                attempts=F("attempts") + 1,
                last_error=f"{type(exc).__name__}: {exc}"[:2000],
                due_at=now + _backoff(attempts),
                state=Timer.State.FAILED if gave_up else Timer.State.PENDING,
            )
            return "failed" if gave_up else "retry"
        return "fired"


def sweep(now: datetime | None = None, *, source: str = "worker") -> dict[str, int]:
    """Fire every due timer. source: "worker" (the Celery task) or "local" (beat sweeping by
    itself while the broker or the workers are away); /healthz reads the stamps."""
    now = now or timezone.now()
    started = timezone.now()
    counts = {"fired": 0, "failed": 0, "retry": 0, "busy": 0, "skipped": 0}
    due = list(
        Timer.objects.filter(state=Timer.State.PENDING, due_at__lte=now)
        .order_by("due_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    for timer_id in due:
        counts[_fire(timer_id, now)] += 1
    SweepStatus.objects.get_or_create(pk=1)
    finished = timezone.now()
    SweepStatus.objects.filter(pk=1).update(
        last_started_at=started,
        last_finished_at=finished,
        **{"last_worker_at" if source == "worker" else "last_local_at": finished},
        last_fired=counts["fired"],
        total_fired=F("total_fired") + counts["fired"],
        total_failed=F("total_failed") + counts["failed"],
    )
    return counts
