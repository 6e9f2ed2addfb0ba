"""Uptime from a component's status history (issue 9): a day at a time, in the status page's
time zone, so that a DST day has 23 or 25 hours and an outage across midnight counts on both
days.

The formula (the one Atlassian Statuspage documents, so numbers match what people know):

    downtime = major_outage seconds + 0.3 x partial_outage seconds
    counted  = the day's seconds (up to now) - under_maintenance seconds
    uptime % = 100 x (1 - downtime / counted)       (100 when nothing is counted)

Degraded performance is not downtime. A day's colour is its worst status (major outage >
partial outage > degraded performance > under maintenance > operational)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OPERATIONAL = "operational"
DEGRADED = "degraded_performance"
PARTIAL = "partial_outage"
MAJOR = "major_outage"
MAINTENANCE = "under_maintenance"

DOWNTIME_WEIGHT = {MAJOR: 1.0, PARTIAL: 0.3}
# Worst first: the colour of a day with several statuses.
SEVERITY = (MAJOR, PARTIAL, DEGRADED, MAINTENANCE, OPERATIONAL)


@dataclass
class Day:
    day: date
    seconds: dict[str, float] = field(default_factory=dict)  # status -> seconds held
    length: float = 0.0  # seconds of the day that have happened (all of it, before today)

    @property
    def worst(self) -> str:
        held = [status for status, s in self.seconds.items() if s > 0]
        return next((status for status in SEVERITY if status in held), OPERATIONAL)

    @property
    def downtime(self) -> float:
        return sum(self.seconds.get(s, 0.0) * w for s, w in DOWNTIME_WEIGHT.items())

    @property
    def uptime(self) -> float:
        counted = self.length - self.seconds.get(MAINTENANCE, 0.0)
        if counted <= 0:
            return 100.0
        return round(100.0 * (1 - self.downtime / counted), 4)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    # In UTC: two aware datetimes sharing a zone subtract as wall-clock times, which is an
    # hour off across a DST change.
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def days(
    changes: Iterable[tuple[datetime, str]],
    *,
    status_before: str,
    first: date,
    last: date,
    zone: ZoneInfo,
    now: datetime,
) -> list[Day]:
    """The days first..last (inclusive, in `zone`), from changes (when, new status) sorted by
    time; status_before is the status at the start of `first`. Time after `now` is not
    counted."""
    timeline = sorted((at.astimezone(UTC), status) for at, status in changes)
    now = now.astimezone(UTC)
    result: list[Day] = []
    status = status_before
    i = 0
    day = first
    while day <= last:
        start = _midnight(day, zone)
        end = min(_midnight(day + timedelta(days=1), zone), now)
        current = Day(day)
        current.length = max((end - start).total_seconds(), 0.0)
        # Changes before the day's start set the status it begins with.
        while i < len(timeline) and timeline[i][0] <= start:
            status = timeline[i][1]
            i += 1
        cursor = start
        j = i
        while j < len(timeline) and timeline[j][0] < end:
            at, new = timeline[j]
            current.seconds[status] = (
                current.seconds.get(status, 0.0) + (at - cursor).total_seconds()
            )
            cursor, status = at, new
            j += 1
        if end > cursor:
            current.seconds[status] = (
                current.seconds.get(status, 0.0) + (end - cursor).total_seconds()
            )
        i = j
        result.append(current)
        day += timedelta(days=1)
    return result


def overall(window: list[Day]) -> float:
    """Uptime over several days: the same formula over their summed seconds."""
    total = Day(window[0].day if window else date.min)
    for d in window:
        total.length += d.length
        for status, seconds in d.seconds.items():
            total.seconds[status] = total.seconds.get(status, 0.0) + seconds
    return total.uptime
