"""The readiness and improvement charts of the reports, drawn with charts.svg."""

from __future__ import annotations

from datetime import date, timedelta

from ..metrics import MetricsReport, MonthlySummary
from .svg import Bar, Chart, Series, bar_chart, number, stacked_bar_chart


def _duration_unit(values: list[timedelta]) -> tuple[str, str, float]:
    """(name, abbreviation, seconds) of the unit the largest value reads best in."""
    top = max((v.total_seconds() for v in values), default=0)
    if top < 2 * 3600:
        return "minutes", "min", 60.0
    if top < 72 * 3600:
        return "hours", "h", 3600.0
    return "days", "d", 86400.0


def _month_label(month: date, index: int) -> tuple[str, str]:
    return f"{month:%b}", (f"{month:%Y}" if index == 0 or month.month == 1 else "")


def _duration_chart(
    report: MetricsReport, chart_id: str, title: str, attr: str, highlight: int | None, noun: str
) -> Chart:
    durations = [getattr(r.total, attr) for r in report.months]
    unit, abbr, seconds = _duration_unit([d for d in durations if d is not None])
    bars = []
    for i, (row, value) in enumerate(zip(report.months, durations, strict=True)):
        label, sub = _month_label(row.month, i)
        if value is None:
            bars.append(Bar(label, None, "", f"{row.month:%B %Y}: no {noun}", sub))
        else:
            v = value.total_seconds() / seconds
            bars.append(Bar(label, v, number(v), f"{row.month:%B %Y}: {number(v)} {abbr}", sub))
    return bar_chart(
        chart_id=chart_id,
        title=f"{title} ({unit})",
        bars=bars,
        highlight=highlight,
        empty=f"No {noun} in this period.",
    )


def _percent_chart(
    report: MetricsReport,
    chart_id: str,
    title: str,
    attr: str,
    highlight: int | None,
    noun: str,
    tone: str,
) -> Chart:
    bars = []
    for i, row in enumerate(report.months):
        value = getattr(row.total, attr)
        label, sub = _month_label(row.month, i)
        if value is None:
            bars.append(Bar(label, None, "", f"{row.month:%B %Y}: no {noun}", sub))
        else:
            bars.append(
                Bar(label, value, number(value), f"{row.month:%B %Y}: {number(value)}%", sub)
            )
    return bar_chart(
        chart_id=chart_id,
        title=title,
        bars=bars,
        maximum=100.0,
        suffix="%",
        tone=tone,
        highlight=highlight,
        empty=f"No {noun} in this period.",
    )


def readiness_charts(report: MetricsReport, *, highlight: date | None = None) -> list[Chart]:
    """MTTA, MTTR, within-SLA and action-item completion, by month."""
    index = next((i for i, r in enumerate(report.months) if r.month == highlight), None)
    return [
        _duration_chart(
            report,
            "chart-mtta",
            "Mean time to acknowledge",
            "mtta",
            index,
            "acknowledged incidents",
        ),
        _duration_chart(
            report, "chart-mttr", "Mean time to resolve", "mttr", index, "resolved incidents"
        ),
        _percent_chart(
            report,
            "chart-sla",
            "Acknowledged within SLA (%)",
            "sla_percent",
            index,
            "incidents to measure",
            "primary",
        ),
        _percent_chart(
            report,
            "chart-completion",
            "Action items completed (%)",
            "completion_percent",
            index,
            "action items due",
            "success",
        ),
    ]


ITEM_SERIES = [
    Series("Done", "solid", "success"),
    Series("Open", "hatch", "primary"),
    Series("Overdue", "cross", "danger"),
    Series("Won't do", "outline", "secondary"),
]


def category_chart(summary: MonthlySummary) -> Chart:
    """The month's due action items by category, split by where they stand."""
    return stacked_bar_chart(
        chart_id="chart-categories",
        title=f"Action items due in {summary.month:%B %Y} by category",
        rows=[(c.short, [c.done, c.open, c.overdue, c.wont_do]) for c in summary.categories],
        series=ITEM_SERIES,
        total_label="due",
        empty=f"No action items are due in {summary.month:%B %Y}.",
    )
