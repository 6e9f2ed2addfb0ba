"""The outbox's bulk lane (issue 14): rows written thousands at a time for bare destinations
(status-page subscribers), drained by workers that send anything more urgent first.

`notify_bulk` writes a chunk in one statement; a row whose key was already written is left
alone, so a chunk written twice (a fan-out retried after a crash) writes nothing twice.
Nothing is enqueued per row: `kick` starts drains of the lane after commit, and without a
broker the periodic dispatch sends the rows. `drain` sends the lane's due rows in chunks of
DRAIN_CHUNK, and before each chunk whatever is due in a more urgent lane: a worker busy with
ten thousand subscriber emails still sends a page within moments."""

import logging
import time
from datetime import datetime

from django.utils import timezone

from . import resilience
from .models import Channel, Notification
from .notifications import (
    BATCH,
    DISPATCH_BUDGET,
    _claimable,
    deliver,
    lane_queue,
    reason_for,
)

log = logging.getLogger(__name__)

DRAIN_CHUNK = 20


def notify_bulk(rows: list[dict], *, reason: str, now: datetime | None = None) -> int:
    """Write many outbox rows for bare destinations at once. Each row is a dict with
    idempotency_key, channel, destination, subject and optionally body, topic and headers.
    Returns how many rows were offered."""
    now = now or timezone.now()
    why = reason_for(reason)
    objects = []
    for row in rows:
        if row["channel"] not in Channel.values or row["channel"] == Channel.PORTAL:
            raise ValueError(f"a bare destination cannot be reached on {row['channel']!r}")
        destination = row["destination"].strip()
        if not destination or len(destination) > 500:
            raise ValueError("a destination must be 1 to 500 characters")
        objects.append(
            Notification(
                idempotency_key=row["idempotency_key"][:200],
                reason=reason,
                channel=row["channel"],
                destination=destination,
                subject=row["subject"][:300],
                body=row.get("body", ""),
                topic=row.get("topic", ""),
                headers=row.get("headers") or {},
                lane=why.lane,
                created_at=now,
                next_attempt_at=now,
            )
        )
    Notification.objects.bulk_create(objects, batch_size=500, ignore_conflicts=True)
    return len(objects)


def skip_pending(*, channel: str, destination: str, topic_prefix: str, why: str) -> int:
    """Rows not sent yet to someone who left (unsubscribed, dropped) are recorded as skipped,
    with the reason, instead of being sent."""
    return Notification.objects.filter(
        status=Notification.Status.PENDING,
        destination=destination,
        channel=channel,
        topic__startswith=topic_prefix,
    ).update(status=Notification.Status.SKIPPED, last_error=why[:2000])


def kick(lane: int, copies: int = 1) -> None:
    """Start `copies` drains of a lane now (call after commit)."""
    from .tasks import drain_lane

    if resilience.redis.is_open():
        return
    for _ in range(copies):
        try:
            drain_lane.apply_async((lane,), queue=lane_queue(lane))
        except Exception as exc:
            resilience.redis.trip(exc)
            log.warning("could not start a drain of lane %s (%s); the sweep will send", lane, exc)
            return


def drain(lane: int, *, budget: float = DISPATCH_BUDGET) -> tuple[dict, bool]:
    """Send a lane's due rows until none is left or `budget` seconds have passed (checked
    before every row). Returns the counts and whether rows were left (the caller starts
    another drain)."""
    started = time.monotonic()
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "deferred": 0, "busy": 0}
    while True:
        now = timezone.now()
        due = Notification.objects.filter(_claimable(now))
        urgent = list(
            due.filter(lane__lt=lane)
            .order_by("lane", "next_attempt_at", "id")[:BATCH]
            .values_list("pk", flat=True)
        )
        chunk = list(
            due.filter(lane=lane)
            .order_by("next_attempt_at", "id")[:DRAIN_CHUNK]
            .values_list("pk", flat=True)
        )
        if not urgent and not chunk:
            return counts, False
        for pk in urgent + chunk:
            if time.monotonic() - started > budget:
                return counts, True
            counts[deliver(pk)] += 1
