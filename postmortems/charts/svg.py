"""Charts drawn on the server as inline SVG: no JavaScript, the same markup on the page and in
the PDF (WeasyPrint renders inline SVG).

- Every text that reaches the markup is escaped here (`_attr`, `_text`); the result is marked
  safe only once it is complete.
- Shapes are drawn in `currentColor`, so a chart follows the theme (light or dark) and prints
  in black; a series' hue comes from a Bootstrap text class on its group, and series differ by
  pattern (solid, hatched, cross-hatched, outlined) and by label as well, never by colour alone.
- Presentation attributes only, no style attributes or <style>: the page's Content Security
  Policy allows no inline styles.
- A chart is as wide as its container and of fixed height: across, shapes and labels are
  placed in percentages of the width, so text keeps its size on a phone and on a wide screen.
- The <svg> carries role="img", an aria-label (its title) and a <desc> that reads out every
  value, for screen readers; the page's table holds the same figures."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_ID = re.compile(r"^[a-z][a-z0-9-]{0,40}$")

FONT = 12
SMALL = 11


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    svg: SafeString

    def __html__(self) -> str:
        return self.svg

    def __str__(self) -> str:
        return self.svg


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None
    text: str = ""  # the value as printed over the bar ("" for none)
    description: str = ""  # the bar for the <desc>, e.g. "March 2026: 12 min"
    sublabel: str = ""  # a second line under the label (the year)


@dataclass(frozen=True)
class Series:
    name: str
    style: str  # solid | hatch | cross | outline
    tone: str  # a Bootstrap colour name: primary, success, danger, secondary...


# --- markup helpers -----------------------------------------------------------------------


def _attr(value) -> str:
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return escape(str(value))


def _open(tag: str, attrs: dict) -> str:
    text = " ".join(f'{name.replace("_", "-")}="{_attr(v)}"' for name, v in attrs.items())
    return f"<{tag} {text}" if text else f"<{tag}"


def _el(tag: str, attrs: dict, content: str = "") -> str:
    """An element with its attributes escaped; `content` must already be markup."""
    return f"{_open(tag, attrs)}>{content}</{tag}>" if content else f"{_open(tag, attrs)}/>"


def _text(x: float, y: float, content: str, **attrs) -> str:
    return _el("text", {"x": x, "y": y, **attrs}, escape(content))


def _svg(chart_id: str, title: str, height: float, desc: str, body: str) -> Chart:
    if not _ID.match(chart_id):
        raise ValueError(f"chart id {chart_id!r}: lower-case letters, digits and hyphens")
    svg = _el(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "id": chart_id,
            "class": "chart d-block",
            "role": "img",
            "aria-label": title,
            "width": "100%",
            "height": float(height),
            "font-size": FONT,
            "fill": "currentColor",
            "overflow": "visible",
        },
        _el("title", {}, escape(title)) + _el("desc", {}, escape(desc or title)) + body,
    )
    # Every attribute and text above went through escape(); the markup is complete.
    return Chart(chart_id, title, mark_safe(svg))


def _pattern_defs(pattern_id: str, style: str) -> str:
    """The fill of a series style, defined inside the series' group so that its currentColor
    is the series' colour."""
    if style == "hatch":
        lines = _el("path", {"d": "M0 0V6", "stroke": "currentColor", "stroke_width": 2})
    elif style == "cross":
        lines = _el("path", {"d": "M0 0V6M0 0H6", "stroke": "currentColor", "stroke_width": 1.5})
    else:
        return ""
    pattern = _el(
        "pattern",
        {
            "id": pattern_id,
            "width": 6,
            "height": 6,
            "patternUnits": "userSpaceOnUse",
            "patternTransform": "rotate(45)",
        },
        lines,
    )
    return _el("defs", {}, pattern)


def _shape_attrs(pattern_id: str, style: str) -> dict:
    if style == "solid":
        return {"fill": "currentColor"}
    if style == "outline":
        return {
            "fill": "currentColor",
            "fill_opacity": 0.08,
            "stroke": "currentColor",
            "stroke_width": 1.5,
            "stroke_dasharray": "3 2",
        }
    return {"fill": f"url(#{pattern_id})", "stroke": "currentColor", "stroke_width": 1}


def nice_scale(top: float, ticks: int = 4) -> tuple[float, float]:
    """(axis maximum, tick step) for values up to `top`: a round step (1, 2, 2.5 or 5 times a
    power of ten) and the first multiple of it at or above `top`. Never zero."""
    if not top or top <= 0 or not math.isfinite(top):
        return 1.0, 0.25
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return round(step * math.ceil(top / step - 1e-9), 12), step


def number(value: float) -> str:
    """A figure for a chart label: whole from 10 up, one decimal below."""
    if value >= 10 or float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.1f}"


# --- charts --------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


def bar_chart(
    *,
    chart_id: str,
    title: str,
    bars: list[Bar],
    maximum: float | None = None,
    suffix: str = "",
    tone: str = "primary",
    highlight: int | None = None,
    empty: str = "No data for this period.",
) -> Chart:
    """Vertical bars, one per label; a bar without a value is marked "–" on the baseline.
    `maximum` fixes the axis (100 for percentages); `highlight` picks out one bar (the
    others are drawn lighter and its label bold).

    The chart is as wide as its container and of fixed height: across, everything is placed
    in percentages of the width, so the text keeps its size on a phone and on a wide screen.
    Labels thin out as months get many: every month up to 12, every second up to 24, else
    every third."""
    n = len(bars)
    gutter, right = 11.0, 1.5  # % of the width: the value axis, and a margin
    top, plot, bottom = 20.0, 140.0, 40.0  # px
    height = top + plot + bottom
    slot = (100.0 - gutter - right) / max(n, 1)
    every = 1 if n <= 12 else 2 if n <= 24 else 3
    values = [b.value for b in bars if b.value is not None]
    if maximum is not None:
        axis_max, step = maximum, maximum / 4
    else:
        axis_max, step = nice_scale(max(values) if values else 0)
    base = top + plot

    def y(v: float) -> float:
        return base - plot * min(max(v, 0.0), axis_max) / axis_max

    grid = []
    for k in range(round(axis_max / step) + 1):
        v = k * step
        line = {"x1": _pct(gutter), "x2": _pct(100 - right), "y1": y(v), "y2": y(v)}
        grid.append(
            _el("line", line | {"stroke": "currentColor", "stroke_opacity": 0.15 if k else 0.6})
        )
        label = number(v) + suffix
        grid.append(_text(_pct(gutter), y(v) + 4, label, dx=-5, text_anchor="end", font_size=SMALL))

    shapes, labels = [], []
    for i, bar in enumerate(bars):
        cx = gutter + (i + 0.5) * slot
        faded = highlight is not None and i != highlight
        if bar.value is not None:
            h = base - y(bar.value)
            rect = {
                "x": _pct(gutter + (i + 0.18) * slot),
                "y": base - h,
                "width": _pct(slot * 0.64),
                "height": h,
                "fill_opacity": 0.45 if faded else 1.0,
            }
            shapes.append(_el("rect", rect, _el("title", {}, escape(bar.description or bar.text))))
            if n <= 12 and bar.text:
                labels.append(
                    _text(_pct(cx), base - h - 4, bar.text, text_anchor="middle", font_size=SMALL)
                )
        else:
            labels.append(_text(_pct(cx), base - 4, "–", text_anchor="middle", fill_opacity=0.6))
        if i % every == 0 or highlight == i:
            weight = {"font_weight": "bold"} if highlight == i else {}
            labels.append(_text(_pct(cx), base + 15, bar.label, text_anchor="middle", **weight))

    # The second line names the year once per run of bars with the same year, from where the
    # run starts; a first run too short to hold it goes without (the caption names the period).
    runs = [i for i, bar in enumerate(bars) if bar.sublabel] if n else []
    for r, i in enumerate(runs):
        length = (runs[r + 1] if r + 1 < len(runs) else n) - i
        if r == 0 and length * slot < 9 and len(runs) > 1:
            continue
        x = _pct(gutter + i * slot)
        labels.append(
            _text(x, base + 32, bars[i].sublabel, dx=2, font_size=SMALL, fill_opacity=0.75)
        )
        if i:
            labels.append(
                _el(
                    "line",
                    {
                        "x1": x,
                        "x2": x,
                        "y1": base,
                        "y2": base + 36,
                        "stroke": "currentColor",
                        "stroke_opacity": 0.4,
                    },
                )
            )

    parts = [
        _el("g", {"class": "chart-grid"}, "".join(grid)),
        _el("g", {"class": f"text-{tone}", "fill": "currentColor"}, "".join(shapes)),
        _el("g", {"class": "chart-labels"}, "".join(labels)),
    ]
    if not values:
        parts.append(
            _text(
                _pct(gutter + (100 - gutter - right) / 2),
                top + plot / 2,
                empty,
                text_anchor="middle",
            )
        )
    desc = "; ".join(b.description for b in bars if b.description) if values else empty
    return _svg(chart_id, title, height, desc, "".join(parts))


def stacked_bar_chart(
    *,
    chart_id: str,
    title: str,
    rows: list[tuple[str, list[int]]],
    series: list[Series],
    total_label: str = "",
    empty: str = "Nothing to show.",
) -> Chart:
    """Horizontal bars, one per row under its label, each split into the series' counts, with
    a legend. Across in percentages of the width, like bar_chart."""
    legend_h, row_h, bar_h, axis_h = 28.0, 40.0, 16.0, 22.0
    plot = 84.0  # % of the width for the bars; the rest holds the totals
    height = legend_h + row_h * len(rows) + axis_h
    totals = [sum(counts) for _, counts in rows]
    axis_max, step = nice_scale(max(totals, default=0))
    if axis_max < 4:
        axis_max, step = 4.0, 1.0
    step = max(step, 1.0)

    def x(v: float) -> float:
        return plot * v / axis_max

    # Legend: a swatch drawn like the series, and its name (placed in px: it must fit a phone).
    legend = []
    lx = 0.0
    for s_index, s in enumerate(series):
        pid = f"{chart_id}-p{s_index}"
        swatch = _el(
            "rect", {"x": lx + 1, "y": 5, "width": 13, "height": 13, **_shape_attrs(pid, s.style)}
        )
        legend.append(
            _el("g", {"class": f"text-{s.tone}"}, swatch)
            + _text(lx + 19, 16, s.name, font_size=SMALL)
        )
        lx += 19 + 6.6 * len(s.name) + 14

    base = legend_h + row_h * len(rows)
    grid = []
    for k in range(round(axis_max / step) + 1):
        v = k * step
        line = {"x1": _pct(x(v)), "x2": _pct(x(v)), "y1": legend_h + 4, "y2": base}
        grid.append(
            _el("line", line | {"stroke": "currentColor", "stroke_opacity": 0.15 if k else 0.6})
        )
        anchor = "start" if k == 0 else "middle"
        grid.append(_text(_pct(x(v)), base + 15, number(v), text_anchor=anchor, font_size=SMALL))

    # Segments are grouped by series (one colour group each, its pattern defined inside).
    groups: list[list[str]] = [[] for _ in series]
    labels = []
    for r, (label, counts) in enumerate(rows):
        y0 = legend_h + r * row_h
        labels.append(_text(0, y0 + 14, label, dx=2))
        offset = 0
        for s_index, count in enumerate(counts):
            if count <= 0:
                continue
            pid = f"{chart_id}-p{s_index}"
            rect = {
                "x": _pct(x(offset)),
                "y": y0 + 19,
                "width": _pct(x(offset + count) - x(offset)),
                "height": bar_h,
                **_shape_attrs(pid, series[s_index].style),
            }
            what = escape(f"{label}: {count} {series[s_index].name.lower()}")
            groups[s_index].append(_el("rect", rect, _el("title", {}, what)))
            offset += count
        total = f"{totals[r]} {total_label}".strip()
        labels.append(_text(_pct(x(offset)), y0 + 19 + bar_h - 3, total, dx=6, font_size=SMALL))

    parts = [
        _el("g", {"class": "chart-legend"}, "".join(legend)),
        _el("g", {"class": "chart-grid"}, "".join(grid)),
    ]
    for s_index, s in enumerate(series):
        defs = _pattern_defs(f"{chart_id}-p{s_index}", s.style)
        parts.append(_el("g", {"class": f"text-{s.tone}"}, defs + "".join(groups[s_index])))
    parts.append(_el("g", {"class": "chart-labels"}, "".join(labels)))
    if not any(totals):
        parts.append(
            _text(_pct(plot / 2), legend_h + row_h * len(rows) / 2 + 4, empty, text_anchor="middle")
        )
        desc = empty
    else:
        desc = "; ".join(
            f"{label}: "
            + ", ".join(f"{c} {s.name.lower()}" for s, c in zip(series, counts, strict=True))
            for label, counts in rows
        )
    return _svg(chart_id, title, height, desc, "".join(parts))


# --- the portal's charts ---------------------------------------------------------------------
