"""iCal feeds of on-call shifts (issue 11), built with icalendar: a schedule's shifts (gaps
included, so they show in a calendar too), or one person's shifts across every schedule."""

from datetime import UTC, datetime, time, timedelta

import icalendar
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone

from ..models import display_name
from .models import CalendarFeed, OnCallSchedule
from .selectors import schedule_shifts

PAST = timedelta(days=14)
AHEAD = timedelta(days=90)


def _event(uid: str, summary: str, start: datetime, end: datetime, stamp: datetime):
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    return event


def feed_ical(feed: CalendarFeed, now: datetime | None = None) -> bytes:
    now = now or timezone.now()
    # The window moves a week at a time (from a Monday, UTC): shifts cut at its edges keep
    # their times, and so their UIDs, from one fetch to the next.
    monday = (now - PAST).date() - timedelta(days=(now - PAST).weekday())
    start = datetime.combine(monday, time.min, tzinfo=UTC)
    end = start + PAST + AHEAD + timedelta(days=7)
    domain = settings.SITE_URL.split("://")[-1].split("/")[0] or "portal"
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Incident response portal//On-call//EN")
    calendar.add("version", "2.0")
    if feed.schedule_id is not None:
        schedules = [feed.schedule]
        calendar.add("x-wr-calname", f"On call: {feed.schedule.name}")
    else:
        schedules = list(OnCallSchedule.objects.all())
        calendar.add("x-wr-calname", f"On call: {display_name(feed.owner)}")
    people = {u.pk: u for u in get_user_model().objects.select_related("profile")}
    for schedule in schedules:
        for shift in schedule_shifts(schedule, start, end):
            if feed.is_personal and shift.person != feed.owner_id:
                continue
            if shift.person is None:
                summary = f"{schedule.name}: nobody on call (gap)"
            elif feed.is_personal:
                summary = f"On call: {schedule.name}"
            else:
                summary = f"{schedule.name}: {display_name(people.get(shift.person))}"
            if shift.override:
                summary += " (override)"
            uid = f"{schedule.pk}-{shift.starts_at:%Y%m%dT%H%M%SZ}-{shift.person or 0}@{domain}"
            calendar.add_component(_event(uid, summary, shift.starts_at, shift.ends_at, now))
    return calendar.to_ical()
