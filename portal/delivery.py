"""Notification health for admins (issue 11): what the outbox is doing now. Short-circuited
providers with their last error, the backlog per lane, the last day's outcomes per channel,
the latest failures, and the late-page auditor's counts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from .models import Channel, ChannelCircuit, Lane, Notification
from .oncall.audit import LatePages, late_pages


@dataclass(frozen=True)
class DeliveryHealth:
    circuits: list  # open or failing providers
    backlog: list[tuple[str, int]]  # (lane label, pending rows)
    outcomes: list[dict]  # per channel: sent, failed, skipped, pending in the last 24 h
    failures: list  # the latest failed, skipped or retrying rows
    late: LatePages


def delivery_health(now: datetime | None = None) -> DeliveryHealth:
    now = now or timezone.now()
    active = (Notification.Status.PENDING, Notification.Status.SENDING)
    backlog = dict(
        Notification.objects.filter(status__in=active)
        .values_list("lane")
        .annotate(n=Count("id"))
        .values_list("lane", "n")
    )
    outcomes: dict[str, dict] = {}
    for channel, status, n in (
        Notification.objects.filter(created_at__gte=now - timedelta(hours=24))
        .values_list("channel", "status")
        .annotate(n=Count("id"))
        .values_list("channel", "status", "n")
    ):
        outcomes.setdefault(channel, {"channel": Channel(channel).label})[status] = n
    return DeliveryHealth(
        circuits=list(
            ChannelCircuit.objects.filter(consecutive_failures__gt=0).order_by("-updated_at")[:50]
        ),
        backlog=[(label, backlog.get(value, 0)) for value, label in Lane.choices],
        outcomes=sorted(outcomes.values(), key=lambda o: o["channel"]),
        failures=list(
            # Given up, skipped, or failing and waiting for a retry.
            Notification.objects.filter(
                Q(status__in=(Notification.Status.FAILED, Notification.Status.SKIPPED))
                | Q(status=Notification.Status.PENDING, attempts__gt=0)
            )
            .select_related("recipient__profile")
            .order_by("-id")[:50]
        ),
        late=late_pages(now),
    )
