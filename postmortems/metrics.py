"""Readiness metrics (spec "Readiness Metrics") and the monthly summary of incident-driven
improvements (spec "Improvement Tracking"), computed over calendar months in the organisation's
time zone (settings.TIME_ZONE).

The definitions are fixed here and written out on the pages (DEFINITIONS):
- an incident belongs to the month in which it was detected; false alarms are left out;
- MTTA and MTTR run from detection, as the core's response clock does (Incident.response_due_at),
  to the first acknowledgement and to the first resolution (a re-opened incident keeps its
  first resolution time, as Incident.time_to_resolve does);
- "within SLA": acknowledged by the incident's response-due time; an incident never
  acknowledged counts as missed once that time has passed, and as pending (in neither side of
  the percentage) until then;
- the action-item completion rate counts the items due in the month: done / (due - won't do).

Each report costs a constant number of queries (values_list rows aggregated here), whatever the
number of incidents or items: see tests/bench/bench_metrics.py."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
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
from portal.models import display_name

from .models import OPEN_STATUSES, ActionItem, ItemStatus
from .rules import PRIORITY_MATRIX, Category

# The period a report may cover: at most three years, from January 2000, up to next month.
MAX_MONTHS = 36
EARLIEST_MONTH = date(2000, 1, 1)
DEFAULT_MONTHS = 12
# The monthly summary shows its month against the months before it.
TREND_MONTHS = 6
# The monthly summary lists at most this many of the month's items (the counts cover all),
# and reads only the fields it shows.
ITEM_LIST_LIMIT = 200
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


# --- the monthly summary of improvements ----------------------------------------------------


def short_category(label: str) -> str:
    """ "Detection: monitoring, alerting and observability" -> "Detection"."""
    return str(label).split(":", 1)[0]


@dataclass
class CategoryRow:
    category: str
    label: str
    short: str
    created: int = 0
    due: int = 0
    done: int = 0
    open: int = 0
    overdue: int = 0
    wont_do: int = 0

    @property
    def counted(self) -> int:
        return self.due - self.wont_do

    @property
    def completion_percent(self) -> float | None:
        return _percent(self.done, self.counted)

    @property
    def completion_text(self) -> str:
        return percent_text(self.completion_percent)

    def add(self, other: CategoryRow) -> None:
        for name in ("created", "due", "done", "open", "overdue", "wont_do"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


PRIORITY_LABELS = {p.rank: str(p) for p in PRIORITY_MATRIX.values()}


@dataclass
class ItemLine:
    """An action item due in the month, as the summary lists it."""

    item: ActionItem
    owner: str
    category: str
    priority: str
    state: str  # done | wont_do | overdue | open | in_progress
    state_label: str


def _item_line(item: ActionItem, today: date) -> ItemLine:
    if item.status in OPEN_STATUSES and item.due_on < today:
        state, label = "overdue", f"Overdue ({item.get_status_display().lower()})"
    else:
        state, label = item.status, item.get_status_display()
    return ItemLine(
        item=item,
        owner=display_name(item.owner),
        category=short_category(item.get_category_display()),
        priority=PRIORITY_LABELS.get(item.priority, str(item.priority)),
        state=state,
        state_label=label,
    )


@dataclass
class MonthlySummary:
    month: date
    zone_name: str
    today: date
    in_progress: bool
    categories: list[CategoryRow]
    total: CategoryRow
    items: list[ItemLine]
    item_count: int
    readiness: MetricsReport
    figures: Readiness = field(init=False)

    def __post_init__(self) -> None:
        row = self.readiness.row(self.month)
        self.figures = row.total if row else Readiness()

    @property
    def month_cells(self) -> list[Cell]:
        row = self.readiness.row(self.month)
        return row.cells if row else []


def monthly_summary(month: date, *, now: datetime | None = None) -> MonthlySummary:
    """One month's incident-driven improvements: the action items created in it and due in it,
    by category (spec "Categorization of Improvements"), and the month's readiness figures
    against the months before it. Five queries."""
    now = now or timezone.now()
    zone = org_zone()
    today = now.astimezone(zone).date()
    start, end = month_starts_utc([month], zone)
    next_month = add_months(month, 1)

    rows = {c.value: CategoryRow(c.value, c.label, short_category(c.label)) for c in Category}
    created = (
        ActionItem.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("category")
        .annotate(n=Count("id"))
        .order_by()
    )
    for entry in created:
        if entry["category"] in rows:
            rows[entry["category"]].created = entry["n"]

    due = ActionItem.objects.filter(due_on__gte=month, due_on__lt=next_month)
    count = 0
    counted = due.values_list("category", "status", "due_on").annotate(n=Count("pk")).order_by()
    for category, status, due_on, n in counted:
        count += n
        row = rows.get(category)
        if row is None:
            continue
        row.due += n
        if status == ItemStatus.DONE:
            row.done += n
        elif status == ItemStatus.WONT_DO:
            row.wont_do += n
        elif status in OPEN_STATUSES and due_on < today:
            row.overdue += n
        else:
            row.open += n
    items = [
        _item_line(item, today)
        for item in due.select_related("owner__profile", "postmortem__incident")
        .only(*ITEM_LIST_FIELDS)
        .order_by("due_on", "priority", "id")[:ITEM_LIST_LIMIT]
    ]

    total = CategoryRow("", "All categories", "All")
    for row in rows.values():
        total.add(row)
    first = max(add_months(month, 1 - TREND_MONTHS), EARLIEST_MONTH)
    return MonthlySummary(
        month=month,
        zone_name=settings.TIME_ZONE,
        today=today,
        in_progress=month >= month_of(today),
        categories=list(rows.values()),
        total=total,
        items=items,
        item_count=count,
        readiness=readiness(first, month, now=now),
    )
