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

from .figures import (
    _US,
    Cell,
    Cells,
    MetricsReport,
    MonthRow,
    Readiness,
    _incidents_in_database,
    _incidents_in_python,
    _naive_utc,
    _stamp,
    _text,
    readiness,
)
from .improvements import (
    PRIORITY_LABELS,
    CategoryRow,
    ItemLine,
    MonthlySummary,
    monthly_summary,
    short_category,
)
from .periods import (
    DEFAULT_MONTHS,
    DEFINITIONS,
    EARLIEST_MONTH,
    ITEM_LIST_FIELDS,
    ITEM_LIST_LIMIT,
    MAX_MONTHS,
    TREND_MONTHS,
    _mean,
    _percent,
    add_months,
    default_period,
    definitions,
    latest_month,
    month_error,
    month_of,
    month_starts_utc,
    months_between,
    org_zone,
    percent_text,
    period_error,
    this_month,
)

__all__ = [
    "CategoryRow",
    "Cell",
    "Cells",
    "DEFAULT_MONTHS",
    "DEFINITIONS",
    "EARLIEST_MONTH",
    "ITEM_LIST_FIELDS",
    "ITEM_LIST_LIMIT",
    "ItemLine",
    "MAX_MONTHS",
    "MetricsReport",
    "MonthRow",
    "MonthlySummary",
    "PRIORITY_LABELS",
    "Readiness",
    "TREND_MONTHS",
    "_US",
    "_incidents_in_database",
    "_incidents_in_python",
    "_mean",
    "_naive_utc",
    "_percent",
    "_stamp",
    "_text",
    "add_months",
    "default_period",
    "definitions",
    "latest_month",
    "month_error",
    "month_of",
    "month_starts_utc",
    "monthly_summary",
    "months_between",
    "org_zone",
    "percent_text",
    "period_error",
    "readiness",
    "short_category",
    "this_month",
]
