"""The months a report covers: calendar months in the organisation's zone, the period's bounds,
the definitions written on the pages, and how figures are averaged and shown."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from incidents.severity import SEVERITIES

# The period a report may cover: at most three years, from January 2000, up to next month.
MAX_MONTHS = 36
EARLIEST_MONTH = date(2000, 1, 1)
DEFAULT_MONTHS = 12
# The monthly summary shows its month against the months before it.
TREND_MONTHS = 6
# The monthly summary lists at most this many of the month's items (the counts cover all),
# and reads only the fields it shows.
ITEM_LIST_LIMIT = 100
ITEM_LIST_FIELDS = (
    "title",
    "due_on",
    "status",
    "category",
    "priority",
    "owner__username",
    "owner__first_name",
    "owner__last_name",
    "owner__profile__display_name",
    "postmortem__incident__reference",
)

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Month",
        "An incident belongs to the calendar month in which it was detected, and an action "
        "item to the month in which it is due. Months run from midnight to midnight in "
        "{zone}, the organisation's time zone.",
    ),
    (
        "Incidents",
        "Incidents detected in the month, of every status except false alarms, which are left "
        "out of every figure. Severity is the incident's current severity.",
    ),
    (
        "MTTA (mean time to acknowledge)",
        "The mean of acknowledgement time minus detection time, over the month's incidents that "
        "have been acknowledged. Times run from detection, as the response clock does.",
    ),
    (
        "MTTR (mean time to resolve)",
        "The mean of first resolution time minus detection time, over the month's incidents "
        "that have been resolved (resolved or closed; a re-opened incident counts with its "
        "first resolution). Incidents still open are not in it.",
    ),
    (
        "Within SLA",
        "The share of incidents acknowledged by their response-due time (detection plus the "
        "severity's response time: {response_times}). An incident never "
        "acknowledged counts as missed once its response-due time has passed; until then it is "
        "pending and counts on neither side.",
    ),
    (
        "Action-item completion",
        "Of the action items due in the month: done ÷ (due − won't do). Items marked won't do "
        "are left out of both sides and shown separately; an item done late still counts as "
        "done. For the current month the rate is to date.",
    ),
)


def org_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def definitions() -> list[tuple[str, str]]:
    """DEFINITIONS with the organisation's zone and the severity table's response times."""
    values = {
        "zone": settings.TIME_ZONE,
        "response_times": ", ".join(
            f"{level.code} {level.response_time_display}" for level in SEVERITIES.values()
        ),
    }
    return [(term, text.format(**values)) for term, text in DEFINITIONS]


# --- months --------------------------------------------------------------------------------


def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + (month.month - 1) + n
    return date(index // 12, index % 12 + 1, 1)


def months_between(first: date, last: date) -> list[date]:
    """The first days of the months from `first` to `last`, both included."""
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [add_months(first, i) for i in range(max(count, 0))]


def this_month(now: datetime | None = None) -> date:
    return month_of((now or timezone.now()).astimezone(org_zone()).date())


def month_starts_utc(months: list[date], zone: ZoneInfo) -> list[datetime]:
    """The instants the months start at (midnight in `zone`), plus the end of the last, in
    UTC so that comparisons with stored times never depend on the zone's fold handling."""
    edges = [*months, add_months(months[-1], 1)] if months else []
    return [datetime(m.year, m.month, 1, tzinfo=zone).astimezone(UTC) for m in edges]


def latest_month(now: datetime | None = None) -> date:
    """The last month a period may reach: next month (items are planned ahead)."""
    return add_months(this_month(now), 1)


def month_error(month: date, now: datetime | None = None) -> str:
    """Why a report cannot cover this month, or ""."""
    latest = latest_month(now)
    if not EARLIEST_MONTH <= month <= latest:
        return f"Choose a month from {EARLIEST_MONTH:%B %Y} to {latest:%B %Y}."
    return ""


def period_error(first: date, last: date, now: datetime | None = None) -> tuple[str, str]:
    """(field, message) of what is wrong with the period, or ("", "")."""
    for name, month in (("start", first), ("end", last)):
        message = month_error(month, now)
        if message:
            return name, message
    if last < first:
        return "end", "The last month must not be before the first."
    if len(months_between(first, last)) > MAX_MONTHS:
        return "end", f"Choose a period of at most {MAX_MONTHS} months."
    return "", ""


def default_period(now: datetime | None = None) -> tuple[date, date]:
    last = this_month(now)
    return add_months(last, 1 - DEFAULT_MONTHS), last


# --- figures -------------------------------------------------------------------------------


def _mean(total_us: int, n: int) -> timedelta | None:
    # Integer arithmetic, rounded half up to the microsecond: exact for any sum.
    return timedelta(microseconds=(2 * total_us + n) // (2 * n)) if n else None


def _percent(part: int, whole: int) -> float | None:
    return 100.0 * part / whole if whole else None


def percent_text(value: float | None) -> str:
    """66.666… -> "66.7%", 100.0 -> "100%", None -> "—" (nothing to measure)."""
    if value is None:
        return "—"
    return f"{value:.1f}".removesuffix(".0") + "%"
