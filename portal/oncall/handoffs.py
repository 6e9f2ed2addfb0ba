"""Handoff reminders (issue 11): the person coming on call is told before their shift starts
(HANDOFF_REMINDER_MINUTES ahead), once per schedule and shift start. Beat runs the check every
few minutes over every schedule; the notice's idempotency key makes a repeated or overlapping
check tell nobody twice."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from ..notifications import notify
from .models import OnCallSchedule
from .selectors import schedule_shifts, zone_of


def lead() -> timedelta:
    return timedelta(minutes=settings.HANDOFF_REMINDER_MINUTES)


def remind(now: datetime) -> int:
    """Tell everyone whose shift starts within the lead time (and has not started yet)."""
    told = 0
    people = get_user_model().objects.filter(is_active=True)
    for schedule in OnCallSchedule.objects.all():
        # From a moment before now, so the shift running now is the first one and a handoff
        # in the window is a change of person.
        found = schedule_shifts(schedule, now - timedelta(seconds=1), now + lead())
        for previous, shift in zip(found, found[1:], strict=False):
            if shift.person is None or shift.person == previous.person:
                continue
            person = people.filter(pk=shift.person).first()
            if person is None:
                continue
            local = timezone.localtime(shift.starts_at, timezone=_zone(schedule))
            told += len(
                notify(
                    key=f"handoff:{schedule.pk}:{shift.starts_at.isoformat()}",
                    reason="handoff",
                    recipients=[person],
                    subject=f"You are on call on {schedule.name} from {local:%a %d %b %H:%M %Z}",
                    body="Check your contact methods on your profile: pages reach you from then.",
                    url=reverse("oncall:schedule", args=[schedule.slug]),
                    topic=f"schedule:{schedule.pk}",
                    now=now,
                )
            )
    return told


def _zone(schedule):
    return zone_of(schedule.time_zone)
