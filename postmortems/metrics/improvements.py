"""The monthly summary of incident-driven improvements (spec "Improvement Tracking"): action
items by category, the completion rate, and the month's readiness."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from portal.models import display_name

from ..models import OPEN_STATUSES, ActionItem, ItemStatus
from ..rules import PRIORITY_MATRIX, Category
from .figures import (
    Cell,
    MetricsReport,
    Readiness,
    readiness,
)
from .periods import (
    EARLIEST_MONTH,
    ITEM_LIST_FIELDS,
    ITEM_LIST_LIMIT,
    TREND_MONTHS,
    _percent,
    add_months,
    month_of,
    month_starts_utc,
    org_zone,
    percent_text,
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
