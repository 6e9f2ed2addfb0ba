"""Server-side SVG charts (postmortems/charts.py): escaped, accessible, well-formed, and drawn
without dividing by zero whatever the data."""

import re
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest

from postmortems import charts, metrics

SVG = "{http://www.w3.org/2000/svg}"


def parse(chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))


def texts(chart) -> list[str]:
    return [t.text or "" for t in parse(chart).iter(f"{SVG}text")]


def bars(values):
    return [
        charts.Bar(f"M{i}", v, "" if v is None else charts.number(v), f"M{i}: {v}")
        for i, v in enumerate(values)
    ]


def test_labels_and_titles_are_escaped():
    hostile = '<script>alert("x")</script>'
    chart = charts.bar_chart(
        chart_id="chart-x",
        title=f"Title {hostile}",
        bars=[charts.Bar(hostile, 3.0, "3", f"{hostile}: 3", sublabel="&amp;")],
    )
    svg = str(chart.svg)
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in svg
    assert 'aria-label="Title &lt;script&gt;' in svg
    assert "&amp;amp;" in svg  # already-escaped text is escaped again, not trusted
    root = parse(chart)
    assert root.find(f"{SVG}title").text == f"Title {hostile}"
    assert hostile in texts(chart)


def test_stacked_chart_escapes_row_and_series_names():
    chart = charts.stacked_bar_chart(
        chart_id="chart-y",
        title="Items",
        rows=[("<b>Detection</b>", [1, 2])],
        series=[
            charts.Series("Done <i>", "solid", "success"),
            charts.Series("Open", "hatch", "primary"),
        ],
    )
    svg = str(chart.svg)
    assert "<b>" not in svg and "<i>" not in svg
    assert "&lt;b&gt;Detection&lt;/b&gt;" in svg
    parse(chart)


def test_chart_is_accessible_and_follows_the_theme():
    chart = charts.bar_chart(chart_id="chart-a", title="MTTA (minutes)", bars=bars([4.0, 12.5]))
    root = parse(chart)
    assert root.get("role") == "img"
    assert root.get("aria-label") == "MTTA (minutes)"
    assert root.find(f"{SVG}title").text == "MTTA (minutes)"
    assert root.find(f"{SVG}desc").text == "M0: 4.0; M1: 12.5"
    assert root.get("fill") == "currentColor"
    svg = str(chart.svg)
    # The Content Security Policy allows no inline styles: presentation attributes only.
    assert "style=" not in svg and "<style" not in svg and "<script" not in svg
    assert "#" not in re.sub(r'url\(#[a-z0-9-]+\)|id="[^"]*"', "", svg)  # no hard-coded colour
    assert {"4", "12", "M0", "M1"} <= set(texts(chart))


def test_bar_values_and_axis_are_labelled():
    chart = charts.bar_chart(chart_id="chart-b", title="t", bars=bars([40.0, None, 100.0]))
    labels = texts(chart)
    assert labels[:5] == ["0", "25", "50", "75", "100"]  # the axis, in round steps
    assert "40" in labels and "100" in labels
    assert "–" in labels  # the month without data
    assert len(parse(chart).findall(f".//{SVG}rect")) == 2


def test_percent_chart_axis_runs_to_100():
    chart = charts.bar_chart(
        chart_id="chart-c", title="t", bars=bars([50.0]), maximum=100.0, suffix="%"
    )
    assert texts(chart)[:5] == ["0%", "25%", "50%", "75%", "100%"]


@pytest.mark.parametrize("values", [[], [None], [None, None, None]])
def test_bar_chart_without_data_draws_a_message_not_an_error(values):
    chart = charts.bar_chart(
        chart_id="chart-e", title="t", bars=bars(values), empty="No incidents in this period."
    )
    assert "No incidents in this period." in texts(chart)
    assert parse(chart).find(f"{SVG}desc").text == "No incidents in this period."
    assert not parse(chart).findall(f".//{SVG}rect")


def test_bar_chart_of_zeros_has_an_axis_and_flat_bars():
    chart = charts.bar_chart(chart_id="chart-z", title="t", bars=bars([0.0, 0.0]))
    assert texts(chart)[:5] == ["0", "0.2", "0.5", "0.8", "1"]
    assert [r.get("height") for r in parse(chart).findall(f".//{SVG}rect")] == ["0", "0"]


def test_stacked_chart_without_data_draws_a_message():
    chart = charts.stacked_bar_chart(
        chart_id="chart-f",
        title="t",
        rows=[("Detection", [0, 0]), ("Response", [0, 0])],
        series=[
            charts.Series("Done", "solid", "success"),
            charts.Series("Open", "hatch", "primary"),
        ],
        empty="No action items are due.",
    )
    assert "No action items are due." in texts(chart)
    segments = [r for r in parse(chart).iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert segments == []  # the legend's swatches only


def test_stacked_chart_series_differ_by_pattern_not_only_colour():
    chart = charts.stacked_bar_chart(
        chart_id="chart-g",
        title="t",
        rows=[("Detection", [1, 2, 3, 4])],
        series=charts.ITEM_SERIES,
    )
    svg = str(chart.svg)
    assert 'id="chart-g-p1"' in svg and 'id="chart-g-p2"' in svg  # hatched, cross-hatched
    assert 'stroke-dasharray="3 2"' in svg  # won't do: outlined
    assert svg.count('fill="url(#chart-g-p1)"') == 2  # the legend swatch and the segment
    legend = [t for t in texts(chart) if t in {"Done", "Open", "Overdue", "Won't do"}]
    assert legend == ["Done", "Open", "Overdue", "Won't do"]
    assert "10 due" not in texts(chart)
    assert "10" in texts(chart)


def test_chart_ids_are_checked():
    with pytest.raises(ValueError):
        charts.bar_chart(chart_id='x" onload="alert(1)', title="t", bars=[])


@pytest.mark.parametrize(
    ("top", "scale"),
    [
        (0, (1.0, 0.25)),
        (7, (8.0, 2.0)),
        (100, (100.0, 25.0)),
        (101, (150.0, 50.0)),
        (0.3, (0.3, 0.1)),
        (0.31, (0.4, 0.1)),
    ],
)
def test_nice_scale(top, scale):
    assert charts.nice_scale(top) == pytest.approx(scale)


def test_readiness_charts_over_a_period_without_incidents(db):
    report = metrics.readiness(date(2025, 1, 1), date(2025, 12, 1))
    drawn = charts.readiness_charts(report)
    assert [c.id for c in drawn] == ["chart-mtta", "chart-mttr", "chart-sla", "chart-completion"]
    assert drawn[0].title == "Mean time to acknowledge (minutes)"
    assert "No acknowledged incidents in this period." in texts(drawn[0])
    assert "No action items due in this period." in texts(drawn[3])
    for chart in drawn:
        assert texts(chart).count("–") == 12
        parse(chart)


def test_duration_chart_picks_a_readable_unit():
    assert charts._duration_unit([timedelta(minutes=90)])[0] == "minutes"
    assert charts._duration_unit([timedelta(hours=5)])[0] == "hours"
    assert charts._duration_unit([timedelta(days=4)])[0] == "days"
    assert charts._duration_unit([])[0] == "minutes"


def test_long_periods_label_every_third_month():
    labels = [charts.Bar(f"L{i}", 1.0, "1") for i in range(36)]
    chart = charts.bar_chart(chart_id="chart-h", title="t", bars=labels)
    shown = [t for t in texts(chart) if t.startswith("L")]
    assert shown == [f"L{i}" for i in range(0, 36, 3)]


def test_highlighted_bar_is_bold_and_the_others_lighter():
    chart = charts.bar_chart(chart_id="chart-i", title="t", bars=bars([1.0, 2.0]), highlight=1)
    root = parse(chart)
    rects = root.findall(f".//{SVG}rect")
    assert [r.get("fill-opacity") for r in rects] == ["0.45", "1"]
    bold = [t.text for t in root.iter(f"{SVG}text") if t.get("font-weight") == "bold"]
    assert bold == ["M1"]
