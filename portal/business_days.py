"""Business days (DESIGN.md decision 8: schedules in their own time zone): weekends and the
public holidays of a configured country (the `holidays` library) are skipped. Used for the
post-mortem meeting, "within 5 business days of resolution"."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
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
