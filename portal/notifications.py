"""The notification outbox (DESIGN.md decision 4).

`notify` is called inside the caller's transaction and writes one row per (recipient,
channel) under an idempotency key, so a retried sweep or a repeated call never notifies twice.
In-portal notices are delivered by being written; other channels are sent after commit by a
Celery task, and again by the periodic dispatch for anything due or stuck. Delivery claims a
row (pending -> sending) with a conditional UPDATE before sending: two workers never both send
it, and a claim left by a worker that died before sending is taken over after LEASE."""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import ChannelCircuit, Notification

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 6
BATCH = 100
# Circuit breaker: this many consecutive failures of a channel open it for BREAK_FOR.
BREAK_AFTER = 5
BREAK_FOR = timedelta(minutes=2)


def _send_email(notification: Notification) -> None:
    body = notification.body
    if notification.url:
        body = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{notification.url}"
    send_mail(
        notification.subject,
        body,
        settings.DEFAULT_FROM_EMAIL,
        [notification.recipient.email],
        fail_silently=False,
    )


SENDERS: dict[str, Callable[[Notification], None]] = {
    Notification.Channel.EMAIL: _send_email,
}


def notify(
    *,
    key: str,
    reason: str,
    recipients: Iterable,
    channels: Iterable[str],
    subject: str,
    body: str = "",
    url: str = "",
    topic: str = "",
    now: datetime | None = None,
) -> list[Notification]:
    """key identifies the occasion (e.g. "update-overdue:42:2026-11-27T10:00"); recipient and
    channel are appended to make each row's idempotency key."""
    now = now or timezone.now()
    created_rows = []
    seen = set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        for channel in channels:
            if channel == Notification.Channel.EMAIL and not user.email:
                continue
            instant = channel == Notification.Channel.PORTAL
            row, created = Notification.objects.get_or_create(
                idempotency_key=f"{key}:{user.pk}:{channel}"[:200],
                defaults={
                    "reason": reason,
                    "recipient": user,
                    "channel": channel,
                    "topic": topic,
                    "subject": subject[:300],
                    "body": body,
                    "url": url,
                    "created_at": now,
                    "next_attempt_at": now,
                    "status": Notification.Status.SENT if instant else Notification.Status.PENDING,
                    "sent_at": now if instant else None,
                },
            )
            if created:
                created_rows.append(row)
    to_send = [row.pk for row in created_rows if row.status == Notification.Status.PENDING]
    if to_send:
        transaction.on_commit(lambda: _enqueue(to_send))
    return created_rows


def _enqueue(ids: list[int]) -> None:
    from .tasks import deliver_notification

    for pk in ids:
        try:
            deliver_notification.delay(pk)
        except Exception:  # the broker is down: the periodic dispatch sends it later
            log.warning("could not enqueue notification %s; dispatch will retry", pk)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def _claimable(now: datetime) -> Q:
    return Q(status=Notification.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Notification.Status.SENDING, claimed_at__lt=now - LEASE
    )


def deliver(notification_id: int, now: datetime | None = None) -> str:
    """Send one notification if it is due and nobody else holds it. Returns 'sent',
    'retry', 'failed', 'deferred' (its channel is short-circuited) or 'skipped'."""
    now = now or timezone.now()
    claimed = Notification.objects.filter(_claimable(now), pk=notification_id).update(
        status=Notification.Status.SENDING, claimed_at=now
    )
    if not claimed:
        return "skipped"
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    circuit = ChannelCircuit.objects.filter(channel=notification.channel).first()
    if circuit is not None and circuit.is_open(now):
        # Short-circuited: no attempt, no attempt counted; try again when it closes.
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.PENDING,
            claimed_at=None,
            next_attempt_at=circuit.open_until,
            last_error=f"{notification.get_channel_display()} channel short-circuited after "
            f"{circuit.consecutive_failures} consecutive failures: {circuit.last_error}"[:2000],
        )
        return "deferred"
    sender = SENDERS.get(notification.channel)
    try:
        if sender is None:
            raise LookupError(f"no sender for channel {notification.channel!r}")
        sender(notification)
    except Exception as exc:
        _record_failure(notification.channel, exc, now)
        attempts = notification.attempts + 1
        gave_up = attempts >= MAX_ATTEMPTS
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.FAILED if gave_up else Notification.Status.PENDING,
            attempts=attempts,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=now + _backoff(attempts),
            claimed_at=None,
        )
        log.warning("notification %s failed (attempt %s): %s", notification.pk, attempts, exc)
        return "failed" if gave_up else "retry"
    ChannelCircuit.objects.filter(channel=notification.channel).update(
        consecutive_failures=0, open_until=None, last_error=""
    )
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.SENT,
        attempts=notification.attempts + 1,
        sent_at=timezone.now(),
        claimed_at=None,
        last_error="",
    )
    return "sent"


def _record_failure(channel: str, exc: Exception, now: datetime) -> None:
    circuit, _ = ChannelCircuit.objects.get_or_create(channel=channel)
    failures = circuit.consecutive_failures + 1
    ChannelCircuit.objects.filter(pk=circuit.pk).update(
        consecutive_failures=failures,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
        open_until=now + BREAK_FOR if failures >= BREAK_AFTER else circuit.open_until,
    )
    if failures == BREAK_AFTER:
        log.error("%s channel short-circuited after %s failures: %s", channel, failures, exc)


def open_circuits(now: datetime | None = None) -> list[ChannelCircuit]:
    now = now or timezone.now()
    return list(ChannelCircuit.objects.filter(open_until__gt=now))


def dispatch_due(now: datetime | None = None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "deferred": 0}
    due = Notification.objects.filter(_claimable(now)).order_by("next_attempt_at")
    for pk in list(due.values_list("pk", flat=True)[:BATCH]):
        counts[deliver(pk, now)] += 1
    return counts


def unread_count(user) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.PORTAL, read_at__isnull=True
    ).count()


def inbox(user, limit: int = 30) -> list[Notification]:
    return list(
        Notification.objects.filter(recipient=user, channel=Notification.Channel.PORTAL)[:limit]
    )


@transaction.atomic
def mark_all_read(user, now: datetime | None = None) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Notification.Channel.PORTAL, read_at__isnull=True
    ).update(read_at=now or timezone.now())
