"""Readiness metrics by month and severity: MTTA, MTTR, within SLA and action-item completion
(see the package's docstring for the definitions)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import reduce
from operator import or_
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, Sum, TextField
from django.db.models.functions import Cast, TruncMonth
from django.utils import timezone

from incidents.models import Incident
from incidents.models import Status as IncidentStatus
from incidents.severity import SEVERITIES, SeverityLevel

from ..models import ActionItem, ItemStatus
from .periods import (
    _mean,
    _percent,
    add_months,
    month_starts_utc,
    months_between,
    org_zone,
    percent_text,
)

_US = timedelta(microseconds=1)


@dataclass
class Readiness:
    """The figures of one cell: a (month, severity), a month, a severity, or the period."""

    incidents: int = 0
    acknowledged: int = 0
    ack_us: int = 0
    resolved: int = 0
    resolve_us: int = 0
    sla_met: int = 0
    sla_missed: int = 0
    sla_pending: int = 0
    items_due: int = 0
    items_done: int = 0
    items_wont_do: int = 0

    def add_incident(
        self,
        detected: datetime,
        acknowledged: datetime | None,
        resolved: datetime | None,
        due: datetime,
        now: datetime,
    ) -> None:
        self.incidents += 1
        if acknowledged is not None:
            self.acknowledged += 1
            self.ack_us += (acknowledged - detected) // _US
            if acknowledged <= due:
                self.sla_met += 1
            else:
                self.sla_missed += 1
        elif now > due:
            self.sla_missed += 1
        else:
            self.sla_pending += 1
        if resolved is not None:
            self.resolved += 1
            self.resolve_us += (resolved - detected) // _US

    def add_items(self, status: str, count: int) -> None:
        self.items_due += count
        if status == ItemStatus.DONE:
            self.items_done += count
        elif status == ItemStatus.WONT_DO:
            self.items_wont_do += count

    def merge(self, other: Readiness) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def mtta(self) -> timedelta | None:
        return _mean(self.ack_us, self.acknowledged)

    @property
    def mttr(self) -> timedelta | None:
        return _mean(self.resolve_us, self.resolved)

    @property
    def sla_counted(self) -> int:
        return self.sla_met + self.sla_missed

    @property
    def sla_percent(self) -> float | None:
        return _percent(self.sla_met, self.sla_counted)

    @property
    def items_counted(self) -> int:
        return self.items_due - self.items_wont_do

    @property
    def completion_percent(self) -> float | None:
        return _percent(self.items_done, self.items_counted)

    @property
    def sla_text(self) -> str:
        return percent_text(self.sla_percent)

    @property
    def completion_text(self) -> str:
        return percent_text(self.completion_percent)


@dataclass
class Cell:
    level: SeverityLevel
    figures: Readiness


@dataclass
class MonthRow:
    month: date
    cells: list[Cell]
    total: Readiness


@dataclass
class MetricsReport:
    first: date
    last: date
    zone_name: str
    now: datetime
    levels: list[SeverityLevel]
    months: list[MonthRow]
    by_severity: list[Cell]
    total: Readiness

    @property
    def month_count(self) -> int:
        return len(self.months)

    def row(self, month: date) -> MonthRow | None:
        return next((r for r in self.months if r.month == month), None)


def _text(name: str) -> Cast:
    return Cast(name, output_field=TextField())


def _stamp(value: str | None) -> datetime | None:
    """A stored time read as text, as a naive UTC datetime: SQLite keeps naive UTC text,
    PostgreSQL gives ISO 8601 with the offset. The database's text and
    datetime.fromisoformat are many times faster than the drivers' per-value converters,
    which cost more than the whole page may over 10,000 incidents. A value Python cannot hold
    (year 10000) counts as missing."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


Cells = dict[tuple[int, str], Readiness]


def _incidents_in_python(cells: Cells, edges: list[datetime], now: datetime) -> None:
    """One row per incident, four columns, aggregated here: the fast way on SQLite, whose
    date arithmetic runs as Python functions called for every row."""
    response_time = {level.code: level.response_time for level in SEVERITIES.values()}
    rows = (
        Incident.objects.filter(detected_at__gte=edges[0], detected_at__lt=edges[-1])
        .exclude(status=IncidentStatus.FALSE_ALARM)
        .values_list(
            "severity", _text("detected_at"), _text("acknowledged_at"), _text("resolved_at")
        )
    )
    # Compared as naive UTC: no time zone to attach to every value read.
    starts, now = [_naive_utc(edge) for edge in edges], _naive_utc(now)
    for code, detected_text, acknowledged, resolved in rows.iterator(chunk_size=5000):
        allowed = response_time.get(code)
        detected = _stamp(detected_text)
        if allowed is None or detected is None:  # not a severity the table knows
            continue
        # The month: the last month start at or before the detection.
        index = bisect.bisect_right(starts, detected) - 1
        cells[(index, code)].add_incident(
            detected, _stamp(acknowledged), _stamp(resolved), detected + allowed, now
        )


def _incidents_in_database(
    cells: Cells, edges: list[datetime], first: date, zone: ZoneInfo, now: datetime
) -> None:
    """The same figures aggregated by the database, per (month in `zone`, severity): a few
    dozen rows whatever the number of incidents; the fast way on PostgreSQL. Durations are
    summed exactly (intervals)."""
    met, missed, pending = [], [], []
    for level in SEVERITIES.values():
        ours = Q(severity=level.code)
        acked = ours & Q(acknowledged_at__isnull=False)
        in_time = Q(acknowledged_at__lte=F("detected_at") + level.response_time)
        overdue = Q(detected_at__lt=now - level.response_time)
        met.append(acked & in_time)
        missed.append(acked & ~in_time)
        missed.append(ours & Q(acknowledged_at__isnull=True) & overdue)
        pending.append(ours & Q(acknowledged_at__isnull=True) & ~overdue)
    rows = (
        Incident.objects.filter(detected_at__gte=edges[0], detected_at__lt=edges[-1])
        .exclude(status=IncidentStatus.FALSE_ALARM)
        .annotate(month=TruncMonth("detected_at", tzinfo=zone))
        .values("month", "severity")
        .annotate(
            incidents=Count("pk"),
            acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
            ack_total=Sum(F("acknowledged_at") - F("detected_at")),
            resolved=Count("pk", filter=Q(resolved_at__isnull=False)),
            resolve_total=Sum(F("resolved_at") - F("detected_at")),
            sla_met=Count("pk", filter=reduce(or_, met)),
            sla_missed=Count("pk", filter=reduce(or_, missed)),
            sla_pending=Count("pk", filter=reduce(or_, pending)),
        )
        .order_by()
    )
    for row in rows:
        month = row["month"]
        month = month.date() if isinstance(month, datetime) else month
        figures = cells.get(
            ((month.year - first.year) * 12 + month.month - first.month, row["severity"])
        )
        if figures is None:  # a severity the table does not know
            continue
        figures.incidents += row["incidents"]
        figures.acknowledged += row["acknowledged"]
        figures.ack_us += (row["ack_total"] or timedelta(0)) // _US
        figures.resolved += row["resolved"]
        figures.resolve_us += (row["resolve_total"] or timedelta(0)) // _US
        figures.sla_met += row["sla_met"]
        figures.sla_missed += row["sla_missed"]
        figures.sla_pending += row["sla_pending"]


def readiness(
    first: date, last: date, *, now: datetime | None = None, in_database: bool | None = None
) -> MetricsReport:
    """The readiness figures for the months from `first` to `last` (first days of months,
    checked by period_error), per (month, severity), per month, per severity and overall.
    Two queries: the period's incidents, aggregated by the database on PostgreSQL and here
    elsewhere (`in_database` forces either: the tests check they agree), and its action items
    counted by due date, status and severity."""
    now = now or timezone.now()
    zone = org_zone()
    months = months_between(first, last)
    edges = month_starts_utc(months, zone)
    levels = list(SEVERITIES.values())
    cells: Cells = {(i, level.code): Readiness() for i in range(len(months)) for level in levels}
    if in_database is None:
        in_database = connection.vendor == "postgresql"
    if in_database:
        _incidents_in_database(cells, edges, first, zone, now)
    else:
        _incidents_in_python(cells, edges, now)

    items = (
        ActionItem.objects.filter(due_on__gte=first, due_on__lt=add_months(last, 1))
        .values_list("due_on", "status", "postmortem__incident__severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for due_on, status, code, count in items:
        index = (due_on.year - first.year) * 12 + due_on.month - first.month
        figures = cells.get((index, code))
        if figures is not None:
            figures.add_items(status, count)

    by_severity = {level.code: Readiness() for level in levels}
    total = Readiness()
    month_rows = []
    for i, month in enumerate(months):
        month_total = Readiness()
        row_cells = []
        for level in levels:
            figures = cells[(i, level.code)]
            month_total.merge(figures)
            by_severity[level.code].merge(figures)
            row_cells.append(Cell(level, figures))
        total.merge(month_total)
        month_rows.append(MonthRow(month, row_cells, month_total))
    return MetricsReport(
        first=first,
        last=last,
        zone_name=settings.TIME_ZONE,
        now=now,
        levels=levels,
        months=month_rows,
        by_severity=[Cell(level, by_severity[level.code]) for level in levels],
        total=total,
    )
