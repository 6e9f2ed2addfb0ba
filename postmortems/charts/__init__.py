"""Server-side SVG charts: the drawing (svg.py) and the reports' charts (reports.py)."""

from .reports import ITEM_SERIES, _duration_unit, category_chart, readiness_charts
from .svg import Bar, Chart, Series, bar_chart, nice_scale, number, stacked_bar_chart

__all__ = [
    "ITEM_SERIES",
    "Bar",
    "Chart",
    "Series",
    "_duration_unit",
    "bar_chart",
    "category_chart",
    "nice_scale",
    "number",
    "readiness_charts",
    "stacked_bar_chart",
]
