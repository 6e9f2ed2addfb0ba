"""The late-page auditor (issue 11): a page is late when it reached its provider (or, for the
inbox, was written) more than PAGE_LATE_SECONDS after its escalation step was due, when it is
still unsent that long after, or when an escalation's next step is that overdue (the sweep is
not running). Shown on the dashboard and in the health report as degraded: a reason to look,
never a reason to take web nodes out of service."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, F, Q
from django.utils import timezone

from ..models import Lane, Notification
from .models import Escalation

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class LatePages:
    late: int  # sent late in the last 24 hours
    waiting: int  # due, still unsent, already late
    stalled: int  # open escalations whose next step is overdue
    threshold: int

    @property
    def total(self) -> int:
        return self.late + self.waiting + self.stalled


def late_pages(now: datetime | None = None) -> LatePages:
    now = now or timezone.now()
    threshold = timedelta(seconds=settings.PAGE_LATE_SECONDS)
    late_sent = Q(
        due_at__gte=now - WINDOW,
        status=Notification.Status.SENT,
        sent_at__gt=F("due_at") + threshold,
    )
    unsent = Q(
        status__in=(Notification.Status.PENDING, Notification.Status.SENDING),
        due_at__lt=now - threshold,
    )
    counts = Notification.objects.filter(
        late_sent | unsent, lane=Lane.PAGE, due_at__isnull=False
    ).aggregate(late=Count("id", filter=late_sent), waiting=Count("id", filter=unsent))
    late, waiting = counts["late"], counts["waiting"]
    stalled = Escalation.objects.filter(
        state__in=Escalation.OPEN_STATES, next_step_at__lt=now - threshold
    ).count()
    return LatePages(late, waiting, stalled, settings.PAGE_LATE_SECONDS)
