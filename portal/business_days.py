"""Business days (DESIGN.md decision 8: schedules in their own time zone): weekends and the
public holidays of a configured country (the `holidays` library) are skipped. Used for the
post-mortem meeting, "within 5 business days of resolution"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

WEEKEND = (5, 6)  # Saturday, Sunday


@lru_cache(maxsize=32)
def _calendar(country: str, subdivision: str) -> holidays.HolidayBase:
    return holidays.country_holidays(country, subdiv=subdivision or None)


def calendar_error(country: str, subdivision: str = "") -> str:
    """Why this country/subdivision has no holiday calendar, or "" when it has one."""
    try:
        _calendar(country, subdivision)
    except (NotImplementedError, KeyError, ValueError) as error:
        return str(error) or f"No holiday calendar for {country!r}."
    return ""


def is_business_day(
    day: date, *, country: str | None = None, subdivision: str | None = None
) -> bool:
    """country None: the configured calendar (BUSINESS_DAYS_COUNTRY and _SUBDIVISION); a
    country given without a subdivision means the whole country."""
    if country is None:
        country = settings.BUSINESS_DAYS_COUNTRY
        if subdivision is None:
            subdivision = settings.BUSINESS_DAYS_SUBDIVISION
    return day.weekday() not in WEEKEND and day not in _calendar(country, subdivision or "")


def end_of_business_days(
    start: datetime,
    days: int,
    *,
    zone: ZoneInfo | None = None,
    country: str | None = None,
    subdivision: str | None = None,
) -> datetime:
    """The end (local midnight after it) of the `days`-th business day after the day of
    `start` in `zone`: resolved on Friday afternoon, 5 business days run to the end of the
    next Friday (or later, if a holiday falls in between). Aware, in UTC."""
    zone = zone or ZoneInfo(settings.TIME_ZONE)
    day = start.astimezone(zone).date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day, country=country, subdivision=subdivision):
            counted += 1
    midnight = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return midnight.astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True)
class WorkingHours:
    """Working hours on business days in a zone (spec "Response Activation": 9:00 AM - 5:00 PM
    local time); outside them is "after hours"."""

    zone: ZoneInfo
    opens: time = time(9)
    closes: time = time(17)
    country: str | None = None
    subdivision: str | None = None

    def _business(self, day: date) -> bool:
        try:
            return is_business_day(day, country=self.country, subdivision=self.subdivision)
        except (NotImplementedError, KeyError, ValueError):
            # A stored country the holidays library does not know: weekdays only, rather
            # than no routing at all (DESIGN.md decision 10).
            return day.weekday() not in WEEKEND

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        return self._business(local.date()) and self.opens <= local.time() < self.closes

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself when inside working hours, else when they next open. Aware, in UTC."""
        if self.contains(at):
            return at
        local = at.astimezone(self.zone)
        day = local.date()
        if local.time() >= self.opens:
            day += timedelta(days=1)
        for _ in range(366):
            if self._business(day):
                break
            day += timedelta(days=1)
        return datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(UTC)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """`start` plus `duration` of working time: a P4's 24 hours declared on a Friday
        evening start running on Monday at opening and stop overnight and at weekends."""
        at = self.next_opening(start)
        left = duration
        for _ in range(3660):
            local = at.astimezone(self.zone)
            closing = datetime.combine(local.date(), self.closes, tzinfo=self.zone)
            today = closing - local.replace(tzinfo=self.zone)
            if left <= today:
                return (local + left).astimezone(UTC)
            left -= today
            at = self.next_opening(closing.astimezone(UTC))
        raise ValueError("duration too long for working hours")
