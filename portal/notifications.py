"""The notification outbox (DESIGN.md decision 4).

`notify` is called inside the caller's transaction and writes one row per (recipient,
channel) under an idempotency key, so a retried sweep or a repeated call never notifies twice.
A recipient is a user or a bare destination (an email address, a webhook URL, a phone number).
In-portal notices are delivered by being written; other channels are sent after commit by a
Celery task on their lane's queue, and again by the periodic dispatch (which beat runs itself
when the broker is down) for anything due or stuck.

Delivery claims a row (pending -> sending, stamped with the moment of that claim) with a
conditional UPDATE before sending: two workers never both send it, and a claim left by a
worker that died is taken over after the lease, which is longer than any sender's timeout.
So delivery is at-least-once: a worker that dies after the provider accepted a message but
before the row was marked sent leaves it to be sent again (email carries the same Message-ID).

Rows are sent lane by lane (pages, then staff notices, then bulk), each channel through the
sender registered for it (portal.channels). A provider that keeps failing is short-circuited
(circuit breaker per channel and provider); a permanent error (an invalid address) fails its
row at once without counting against the provider; a channel with no sender is recorded as
skipped, with the reason."""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from . import resilience
from .channels import PermanentError, longest_timeout, sender_for
from .models import Channel, ChannelCircuit, ContactThrottle, Lane, Notification

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
BATCH = 200
# Circuit breaker: this many consecutive failures of one provider open it for BREAK_FOR.
BREAK_AFTER = 5
BREAK_FOR = timedelta(minutes=2)
# The periodic dispatch stops taking new rows after this long, well inside its task's soft
# time limit (100 s) even if the last send takes a sender's whole timeout.
DISPATCH_BUDGET = 45.0
MIN_LEASE = timedelta(seconds=settings.NOTIFICATION_MIN_LEASE_SECONDS)


def lease() -> timedelta:
    """How long a claim holds: twice the slowest sender's timeout, at least MIN_LEASE."""
    return max(MIN_LEASE, timedelta(seconds=2 * longest_timeout()))


@dataclass(frozen=True)
class Reason:
    label: str
    channels: tuple[str, ...]
    lane: int = Lane.NOTICE


# Why the portal tells someone something, and through which channels. Pages take their
# channels from the severity table (incidents/severity.py) instead.
REASONS: dict[str, Reason] = {
    "update_due_soon": Reason("Status update due soon", (Channel.PORTAL, Channel.EMAIL)),
    "update_overdue": Reason("Status update overdue", (Channel.PORTAL, Channel.EMAIL)),
    "escalation": Reason("Escalation trigger", (Channel.PORTAL, Channel.EMAIL)),
    "response_breach": Reason("Response time breached", (Channel.PORTAL, Channel.EMAIL)),
    "role_assigned": Reason("Response role given", (Channel.PORTAL, Channel.EMAIL)),
    "page": Reason("Page", (Channel.PHONE, Channel.SMS, Channel.EMAIL), Lane.PAGE),
    "handoff": Reason("On-call handoff", (Channel.PORTAL, Channel.EMAIL)),
    "contact_verification": Reason("Contact method test message", (Channel.EMAIL,)),
    "postmortem_due_soon": Reason("Post-mortem meeting due soon", (Channel.PORTAL, Channel.EMAIL)),
    "postmortem_overdue": Reason("Post-mortem meeting overdue", (Channel.PORTAL, Channel.EMAIL)),
    "postmortem_shared": Reason("Post-mortem shared", (Channel.EMAIL,)),
    "action_item_due_soon": Reason("Action item due soon", (Channel.PORTAL, Channel.EMAIL)),
    "action_item_overdue": Reason("Action item overdue", (Channel.PORTAL, Channel.EMAIL)),
    "action_item_followup": Reason(
        "Action item follow-up: verify completion", (Channel.PORTAL, Channel.EMAIL)
    ),
    "runbook_published": Reason("Runbook published", (Channel.PORTAL, Channel.EMAIL)),
    "runbook_review_requested": Reason("Runbook review requested", (Channel.PORTAL,)),
    "runbook_review_due": Reason("Runbook review due", (Channel.PORTAL, Channel.EMAIL)),
    "subscriber_update": Reason(
        "Status page subscriber update", (Channel.EMAIL, Channel.WEBHOOK), Lane.BULK
    ),
    # Everything sent to the public is bulk: a flood of sign-ups never delays staff notices.
    "subscriber_confirmation": Reason(
        "Status page subscription confirmation", (Channel.EMAIL,), Lane.BULK
    ),
    "subscriber_challenge": Reason("Status page webhook challenge", (Channel.WEBHOOK,), Lane.BULK),
    "subscriber_dropped": Reason("Status page webhook dropped", (Channel.EMAIL,), Lane.BULK),
    "prolonged_p1": Reason(
        "P1 over two hours: email affected users", (Channel.PORTAL, Channel.EMAIL)
    ),
}


def reason_for(name: str) -> Reason:
    try:
        return REASONS[name]
    except KeyError:
        raise ValueError(f"unknown notification reason {name!r}") from None


def _destination_of(user, channel: str) -> tuple[str, str]:
    """(destination, why it cannot be reached) for a user on a channel."""
    if channel == Channel.EMAIL:
        return (user.email, "") if user.email else ("", "has no email address")
    if channel in (Channel.SMS, Channel.PHONE):
        # Only a number its owner proved by answering a test message (issue 11).
        from .models import ContactMethod

        number = (
            ContactMethod.objects.filter(user=user, kind=channel, verified_at__isnull=False)
            .order_by("id")
            .values_list("address", flat=True)
            .first()
        )
        what = "SMS" if channel == Channel.SMS else "phone calls"
        return (number, "") if number else ("", f"has no verified number for {what}")
    return "", ""


def notify(
    *,
    key: str,
    reason: str,
    recipients: Iterable = (),
    destinations: Iterable[tuple[str, str]] = (),
    channels: Iterable[str] | None = None,
    subject: str,
    body: str = "",
    url: str = "",
    topic: str = "",
    lane: int | None = None,
    now: datetime | None = None,
    due_at: datetime | None = None,
) -> list[Notification]:
    """Write the outbox rows for one occasion. key identifies the occasion (e.g.
    "update-overdue:42:2026-11-27T10:00"); the addressee and channel are appended to make each
    row's idempotency key. recipients are users (reached on `channels`, by default the
    reason's); destinations are (channel, address) pairs for those who are not users.
    Returns the rows this call created (none when the occasion was already notified)."""
    now = now or timezone.now()
    why = reason_for(reason)
    channels = tuple(channels) if channels is not None else why.channels
    unknown = set(channels) - set(Channel.values)
    if unknown:
        raise ValueError(f"unknown channels {sorted(unknown)}")
    lane = why.lane if lane is None else lane
    base = {
        "reason": reason,
        "topic": topic,
        "subject": subject[:300],
        "body": body,
        "url": url,
        "lane": lane,
        "created_at": now,
        "next_attempt_at": now,
        "due_at": due_at,
    }
    rows: list[Notification] = []

    def add(idempotency_key: str, **fields) -> None:
        row, created = Notification.objects.get_or_create(
            idempotency_key=idempotency_key[:200], defaults={**base, **fields}
        )
        if created:
            rows.append(row)

    seen: set[int] = set()
    for user in recipients:
        if user is None or user.pk in seen or not user.is_active:
            continue
        seen.add(user.pk)
        for channel in channels:
            fields = {"recipient": user, "channel": channel}
            if channel == Channel.PORTAL:
                fields.update(status=Notification.Status.SENT, sent_at=now)
            else:
                destination, unreachable = _destination_of(user, channel)
                if channel in (Channel.SMS, Channel.PHONE):
                    fields["destination"] = destination
                if unreachable:
                    # Recorded, visibly, instead of silently dropped.
                    fields.update(
                        status=Notification.Status.SKIPPED,
                        last_error=f"{user.get_username()} {unreachable}.",
                    )
            add(f"{key}:{user.pk}:{channel}", **fields)
    for channel, destination in destinations:
        if channel not in Channel.values or channel == Channel.PORTAL:
            raise ValueError(f"a bare destination cannot be reached on {channel!r}")
        destination = destination.strip()
        if not destination or len(destination) > 500:
            raise ValueError("a destination must be 1 to 500 characters")
        add(f"{key}:{channel}:{destination}", channel=channel, destination=destination)
    to_send = [(r.pk, r.lane) for r in rows if r.status == Notification.Status.PENDING]
    if to_send:
        transaction.on_commit(lambda: _enqueue(to_send))
    return rows


def lane_queue(lane: int) -> str:
    return {
        Lane.PAGE: settings.CELERY_PAGES_QUEUE,
        Lane.BULK: settings.CELERY_BULK_QUEUE,
    }.get(lane, settings.CELERY_NOTICES_QUEUE)


def _enqueue(rows: list[tuple[int, int]]) -> None:
    """Hand rows to the workers now; if the broker is down they wait for the dispatch sweep
    (which beat runs itself while the broker is unreachable), so nothing is lost."""
    from .tasks import deliver_notification

    if resilience.redis.is_open():
        return
    for pk, lane in sorted(rows, key=lambda r: r[1]):
        try:
            deliver_notification.apply_async((pk,), queue=lane_queue(lane))
        except Exception as exc:
            resilience.redis.trip(exc)
            log.warning("could not enqueue notification %s (%s); the sweep will send it", pk, exc)
            return


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def _claimable(now: datetime) -> Q:
    return Q(status=Notification.Status.PENDING, next_attempt_at__lte=now) | Q(
        status=Notification.Status.SENDING, claimed_at__lt=now - lease()
    )


def _release(pk: int, claimed_at: datetime, **fields) -> int:
    """Update a row we still hold; 0 if our lease ran out and someone else took it over."""
    return Notification.objects.filter(
        pk=pk, status=Notification.Status.SENDING, claimed_at=claimed_at
    ).update(claimed_at=None, **fields)


def deliver(notification_id: int, now: datetime | None = None) -> str:
    """Send one notification if it is due and nobody else holds it. Returns 'sent', 'retry',
    'failed', 'deferred' (its provider is short-circuited), 'skipped' (no sender for its
    channel) or 'busy' (not due, or someone else holds it)."""
    real_now = timezone.now()
    now = now or real_now
    # Stamped with the moment of this claim (not a batch's start), so the lease really runs
    # from when this row was taken.
    claimed_at = max(now, real_now)
    claimed = Notification.objects.filter(_claimable(now), pk=notification_id).update(
        status=Notification.Status.SENDING, claimed_at=claimed_at
    )
    if not claimed:
        return "busy"
    notification = Notification.objects.select_related("recipient").get(pk=notification_id)
    sender = sender_for(notification.channel)
    if sender is None:
        _release(
            notification.pk,
            claimed_at,
            status=Notification.Status.SKIPPED,
            last_error=f"No sender is set up for the {notification.get_channel_display()} "
            "channel yet.",
        )
        return "skipped"
    provider = str(sender.provider(notification))[:200]
    circuit = ChannelCircuit.objects.filter(channel=notification.channel, provider=provider).first()
    if circuit is not None and circuit.is_open(now):
        # Short-circuited: no attempt made, none counted; try again when it closes.
        _release(
            notification.pk,
            claimed_at,
            status=Notification.Status.PENDING,
            provider=provider,
            next_attempt_at=circuit.open_until,
            last_error=f"{notification.get_channel_display()} via {provider} short-circuited "
            f"after {circuit.consecutive_failures} consecutive failures: {circuit.last_error}"[
                :2000
            ],
        )
        return "deferred"
    if sender.min_interval and notification.destination:
        free_at = _claim_contact(notification, now, sender.min_interval)
        if free_at is not None:
            # This person was texted or called less than a minute ago: wait, uncounted.
            _release(
                notification.pk,
                claimed_at,
                status=Notification.Status.PENDING,
                next_attempt_at=free_at,
            )
            return "deferred"
    try:
        sender.send(notification)
    except SoftTimeLimitExceeded:
        # The task ran out of time, not the provider: give the row back, uncounted.
        _release(
            notification.pk, claimed_at, status=Notification.Status.PENDING, next_attempt_at=now
        )
        raise
    except PermanentError as exc:
        _release(
            notification.pk,
            claimed_at,
            status=Notification.Status.FAILED,
            provider=provider,
            attempts=F("attempts") + 1,
            last_error=f"Permanent: {exc}"[:2000],
        )
        log.warning("notification %s failed permanently: %s", notification.pk, exc)
        return "failed"
    except Exception as exc:
        _record_failure(notification.channel, provider, exc, now)
        attempts = notification.attempts + 1
        _release(
            notification.pk,
            claimed_at,
            status=Case(
                When(attempts__gte=MAX_ATTEMPTS - 1, then=Value(Notification.Status.FAILED)),
                default=Value(Notification.Status.PENDING),
            ),
            provider=provider,
            attempts=F("attempts") + 1,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
            next_attempt_at=now + _backoff(attempts),
        )
        log.warning("notification %s failed (attempt %s): %s", notification.pk, attempts, exc)
        return "failed" if attempts >= MAX_ATTEMPTS else "retry"
    ChannelCircuit.objects.filter(
        channel=notification.channel, provider=provider, consecutive_failures__gt=0
    ).update(consecutive_failures=0, open_until=None, last_error="")
    if not _release(
        notification.pk,
        claimed_at,
        status=Notification.Status.SENT,
        provider=provider,
        attempts=F("attempts") + 1,
        sent_at=timezone.now(),
        last_error="",
    ):
        log.warning("notification %s was sent after its lease ran out", notification.pk)
    return "sent"


def _claim_contact(notification: Notification, now: datetime, interval: float):
    """Take the contact's next free moment (None), or say when it is free (a datetime)."""
    throttle = ContactThrottle.objects.filter(
        channel=notification.channel, destination=notification.destination
    )
    following = now + timedelta(seconds=interval)
    for _ in range(3):
        if throttle.filter(next_free_at__lte=now).update(next_free_at=following):
            return None
        free_at = throttle.values_list("next_free_at", flat=True).first()
        if free_at is not None:
            return free_at
        try:
            with transaction.atomic():
                ContactThrottle.objects.create(
                    channel=notification.channel,
                    destination=notification.destination,
                    next_free_at=following,
                )
            return None
        except IntegrityError:  # created by a concurrent send: look again
            continue
    return following


def _record_failure(channel: str, provider: str, exc: Exception, now: datetime) -> None:
    try:
        with transaction.atomic():
            ChannelCircuit.objects.get_or_create(channel=channel, provider=provider)
    except IntegrityError:  # created by a concurrent failure
        pass
    circuit = ChannelCircuit.objects.filter(channel=channel, provider=provider)
    circuit.update(
        consecutive_failures=F("consecutive_failures") + 1,
        last_error=f"{type(exc).__name__}: {exc}"[:2000],
    )
    if circuit.filter(consecutive_failures=BREAK_AFTER).update(open_until=now + BREAK_FOR):
        log.error(
            "%s via %s short-circuited after %s failures: %s", channel, provider, BREAK_AFTER, exc
        )
    circuit.filter(consecutive_failures__gt=BREAK_AFTER, open_until__lte=now).update(
        open_until=now + BREAK_FOR
    )


def open_circuits(now: datetime | None = None) -> list[ChannelCircuit]:
    now = now or timezone.now()
    return list(ChannelCircuit.objects.filter(open_until__gt=now))


def dispatch_due(now: datetime | None = None, *, budget: float = DISPATCH_BUDGET) -> dict:
    """Send what is due, pages first, until done or `budget` seconds have passed."""
    now = now or timezone.now()
    started = time.monotonic()
    counts = {"sent": 0, "retry": 0, "failed": 0, "skipped": 0, "deferred": 0, "busy": 0}
    due = Notification.objects.filter(_claimable(now)).order_by("lane", "next_attempt_at", "id")
    for pk in list(due.values_list("pk", flat=True)[:BATCH]):
        if time.monotonic() - started > budget:
            break
        counts[deliver(pk, now)] += 1
    return counts


def unread_count(user) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Channel.PORTAL, read_at__isnull=True
    ).count()


def inbox(user, limit: int = 30) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, channel=Channel.PORTAL)[:limit])


@transaction.atomic
def mark_all_read(user, now: datetime | None = None) -> int:
    return Notification.objects.filter(
        recipient=user, channel=Channel.PORTAL, read_at__isnull=True
    ).update(read_at=now or timezone.now())
