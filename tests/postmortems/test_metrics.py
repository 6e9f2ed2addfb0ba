"""Readiness metrics and the monthly improvement summary (postmortems/metrics.py): exact figures
over crafted incidents and action items."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident, Status
from postmortems import metrics
from postmortems.models import ActionItem, ItemStatus, PostMortem
from postmortems.rules import Category

JAN, FEB, MAR = date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)
LATER = datetime(2025, 6, 1, tzinfo=UTC)  # long after every response-due time below

# The incidents are aggregated by the database on PostgreSQL and in Python elsewhere: both
# ways must give the same figures, on either database.
BOTH_WAYS = pytest.mark.parametrize("in_database", [False, True], ids=["python", "database"])


def at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def craft(declare, *, severity, detected, ack=None, resolved=None, status=Status.RESOLVED):
    """An incident declared through the service, then given exact times."""
    incident = declare(severity=severity, severity_reason="Crafted for the metrics tests.")
    Incident.objects.filter(pk=incident.pk).update(
        detected_at=detected,
        declared_at=detected,
        acknowledged_at=ack,
        resolved_at=resolved,
        status=status,
    )
    incident.refresh_from_db()
    return incident


def item(incident, owner, *, due_on, status=ItemStatus.OPEN, category=Category.DETECTION, **kw):
    postmortem = PostMortem.objects.filter(incident=incident).first() or PostMortem.objects.create(
        incident=incident, owner=owner, due_at=incident.detected_at + timedelta(days=7)
    )
    return ActionItem.objects.create(
        postmortem=postmortem,
        title=kw.pop("title", "Alert on queue depth"),
        owner=owner,
        created_by=owner,
        due_on=due_on,
        category=category,
        impact="high",
        effort="low",
        priority=1,
        status=status,
        **kw,
    )


def cell(report, month, code):
    row = report.row(month)
    return next(c.figures for c in row.cells if c.level.code == code)


def severity_total(report, code):
    return next(c.figures for c in report.by_severity if c.level.code == code)


@pytest.fixture
def crafted(declare):
    """January: two P1s (met, missed) and a P2 still open; February: one P1."""
    return [
        craft(
            declare,
            severity="P1",
            detected=at(2025, 1, 10, 10, 0),
            ack=at(2025, 1, 10, 10, 10),
            resolved=at(2025, 1, 10, 12, 0),
        ),
        craft(
            declare,
            severity="P1",
            detected=at(2025, 1, 20, 8, 0),
            ack=at(2025, 1, 20, 8, 20),
            resolved=at(2025, 1, 20, 12, 0),
            status=Status.CLOSED,
        ),
        craft(
            declare,
            severity="P2",
            detected=at(2025, 1, 5, 9, 0),
            ack=at(2025, 1, 5, 9, 5),
            status=Status.INVESTIGATING,
        ),
        craft(
            declare,
            severity="P1",
            detected=at(2025, 2, 1, 0, 0),
            ack=at(2025, 2, 1, 0, 3),
            resolved=at(2025, 2, 1, 1, 0),
        ),
    ]


@BOTH_WAYS
def test_mtta_mttr_and_sla_are_exact_per_month_and_severity(crafted, in_database):
    report = metrics.readiness(JAN, MAR, now=LATER, in_database=in_database)

    jan_p1 = cell(report, JAN, "P1")
    assert (jan_p1.incidents, jan_p1.acknowledged, jan_p1.resolved) == (2, 2, 2)
    assert jan_p1.mtta == timedelta(minutes=15)
    assert jan_p1.mttr == timedelta(hours=3)
    assert (jan_p1.sla_met, jan_p1.sla_missed, jan_p1.sla_pending) == (1, 1, 0)
    assert jan_p1.sla_percent == 50.0

    jan_p2 = cell(report, JAN, "P2")
    assert jan_p2.mtta == timedelta(minutes=5)
    assert jan_p2.mttr is None  # still open: not in MTTR
    assert jan_p2.sla_percent == 100.0

    january = report.row(JAN).total
    assert january.incidents == 3
    assert january.mtta == timedelta(minutes=11, seconds=40)  # (10 + 20 + 5) / 3
    assert january.mttr == timedelta(hours=3)
    assert (january.sla_met, january.sla_counted) == (2, 3)

    feb_p1 = cell(report, FEB, "P1")
    assert (feb_p1.incidents, feb_p1.mtta, feb_p1.mttr) == (
        1,
        timedelta(minutes=3),
        timedelta(hours=1),
    )

    march = report.row(MAR).total
    assert (march.incidents, march.mtta, march.mttr, march.sla_percent) == (0, None, None, None)

    p1 = severity_total(report, "P1")
    assert p1.incidents == 3
    assert p1.mtta == timedelta(minutes=11)  # (10 + 20 + 3) / 3
    assert p1.mttr == timedelta(hours=2, minutes=20)  # (2 h + 4 h + 1 h) / 3
    assert report.total.incidents == 4
    assert report.total.mtta == timedelta(minutes=9, seconds=30)  # (10 + 20 + 5 + 3) / 4
    assert report.total.sla_percent == 75.0
    assert [r.month for r in report.months] == [JAN, FEB, MAR]


@BOTH_WAYS
def test_false_alarms_are_left_out_of_every_figure(declare, crafted, in_database):
    craft(
        declare,
        severity="P1",
        detected=at(2025, 1, 11, 10, 0),
        ack=at(2025, 1, 11, 14, 0),
        status=Status.FALSE_ALARM,
    )
    report = metrics.readiness(JAN, JAN, now=LATER, in_database=in_database)
    assert cell(report, JAN, "P1").incidents == 2
    assert cell(report, JAN, "P1").mtta == timedelta(minutes=15)
    assert report.total.incidents == 3


@BOTH_WAYS
def test_unacknowledged_incident_misses_the_sla_once_due_and_is_pending_before(
    declare, in_database
):
    now = at(2025, 1, 15, 12, 0)
    # P3 must be acknowledged within 4 h: detected 5 h ago, never acknowledged.
    craft(declare, severity="P3", detected=now - timedelta(hours=5), status=Status.TRIAGE)
    # P4 within 24 h: detected an hour ago, not acknowledged yet.
    craft(declare, severity="P4", detected=now - timedelta(hours=1), status=Status.TRIAGE)
    # Acknowledged exactly at the due time is within the SLA.
    craft(
        declare,
        severity="P2",
        detected=at(2025, 1, 2, 9, 0),
        ack=at(2025, 1, 2, 9, 30),
        status=Status.INVESTIGATING,
    )
    report = metrics.readiness(JAN, JAN, now=now, in_database=in_database)

    p3, p4, p2 = (cell(report, JAN, code) for code in ("P3", "P4", "P2"))
    assert (p3.sla_met, p3.sla_missed, p3.sla_pending, p3.sla_percent) == (0, 1, 0, 0.0)
    assert p3.mtta is None
    assert (p4.sla_met, p4.sla_missed, p4.sla_pending, p4.sla_percent) == (0, 0, 1, None)
    assert (p2.sla_met, p2.sla_missed) == (1, 0)
    total = report.row(JAN).total
    assert (total.sla_met, total.sla_counted, total.sla_pending) == (1, 2, 1)
    assert total.sla_percent == 50.0


@BOTH_WAYS
def test_months_are_calendar_months_in_the_organisation_time_zone(settings, declare, in_database):
    settings.TIME_ZONE = "America/New_York"
    ack = timedelta(minutes=1)
    # 2025-02-01 03:00 UTC is 31 January 22:00 in New York (EST, UTC-5).
    craft(declare, severity="P2", detected=at(2025, 2, 1, 3, 0), ack=at(2025, 2, 1, 3, 0) + ack)
    # 05:00 UTC is midnight on 1 February there.
    craft(declare, severity="P2", detected=at(2025, 2, 1, 5, 0), ack=at(2025, 2, 1, 5, 0) + ack)
    # After the switch to summer time (EDT, UTC-4): 03:59 UTC on 1 April is still 31 March.
    craft(declare, severity="P3", detected=at(2025, 4, 1, 3, 59), ack=at(2025, 4, 1, 4, 0))
    craft(declare, severity="P3", detected=at(2025, 4, 1, 4, 0), ack=at(2025, 4, 1, 4, 1))
    report = metrics.readiness(JAN, date(2025, 4, 1), now=LATER, in_database=in_database)

    assert [r.total.incidents for r in report.months] == [1, 1, 1, 1]
    assert cell(report, JAN, "P2").incidents == 1
    assert cell(report, MAR, "P3").incidents == 1
    assert cell(report, date(2025, 4, 1), "P3").incidents == 1


@BOTH_WAYS
def test_incidents_outside_the_period_are_not_counted(declare, crafted, in_database):
    report = metrics.readiness(FEB, FEB, now=LATER, in_database=in_database)
    assert report.total.incidents == 1
    assert [r.month for r in report.months] == [FEB]


def test_completion_rate_counts_items_due_in_the_month_and_leaves_out_wont_do(crafted, manager):
    p1, _, p2, feb = crafted
    item(p1, manager, due_on=date(2025, 1, 10), status=ItemStatus.DONE)
    item(p1, manager, due_on=date(2025, 1, 15), status=ItemStatus.OPEN)
    item(p2, manager, due_on=date(2025, 1, 31), status=ItemStatus.WONT_DO)
    item(p2, manager, due_on=date(2025, 1, 31), status=ItemStatus.IN_PROGRESS)
    item(feb, manager, due_on=date(2025, 2, 1), status=ItemStatus.DONE)
    item(feb, manager, due_on=date(2024, 12, 31), status=ItemStatus.DONE)  # before the period
    item(feb, manager, due_on=date(2025, 4, 1), status=ItemStatus.OPEN)  # after it

    report = metrics.readiness(JAN, MAR, now=LATER)
    january = report.row(JAN).total
    assert (january.items_due, january.items_done, january.items_wont_do) == (4, 1, 1)
    assert january.items_counted == 3
    assert january.completion_percent == pytest.approx(100 / 3)
    # Items count under their incident's severity.
    assert cell(report, JAN, "P1").completion_percent == 50.0
    assert cell(report, JAN, "P2").completion_percent == 0.0
    assert report.row(FEB).total.completion_percent == 100.0
    assert report.row(MAR).total.completion_percent is None
    assert (report.total.items_due, report.total.items_done) == (5, 2)
    assert report.total.completion_percent == 50.0


def test_only_wont_do_items_give_no_rate_instead_of_dividing_by_zero(crafted, manager):
    item(crafted[0], manager, due_on=date(2025, 1, 3), status=ItemStatus.WONT_DO)
    report = metrics.readiness(JAN, JAN, now=LATER)
    figures = report.row(JAN).total
    assert (figures.items_due, figures.items_wont_do, figures.items_counted) == (1, 1, 0)
    assert figures.completion_percent is None


def test_a_period_without_data_has_empty_figures(db):
    report = metrics.readiness(JAN, MAR, now=LATER)
    assert report.month_count == 3
    total = report.total
    assert (total.incidents, total.items_due) == (0, 0)
    assert (total.mtta, total.mttr, total.sla_percent, total.completion_percent) == (
        None,
        None,
        None,
        None,
    )


@BOTH_WAYS
def test_mean_is_exact_to_the_microsecond(declare, in_database):
    for seconds in (1, 2, 2):
        d = at(2025, 1, 7, 10, 0)
        craft(declare, severity="P4", detected=d, ack=d + timedelta(seconds=seconds))
    report = metrics.readiness(JAN, JAN, now=LATER, in_database=in_database)
    assert report.total.mtta == timedelta(seconds=1, microseconds=666667)


def copies(incident, n):
    """n incidents like `incident`, inserted at once, spread over the quarter and severities."""
    fields = {
        f.attname: getattr(incident, f.attname)
        for f in Incident._meta.concrete_fields
        if f.attname not in {"id", "reference", "public_id"}
    }
    Incident.objects.bulk_create(
        Incident(
            **fields
            | {
                "reference": f"BULK-{i}",
                "public_id": f"bulk{i:04d}",
                "severity": f"P{1 + i % 4}",
                "detected_at": at(2025, 1 + i % 3, 1 + i % 27, 10, 0),
            }
        )
        for i in range(n)
    )


@BOTH_WAYS
@pytest.mark.parametrize("n", [5, 50])
def test_readiness_takes_two_queries_whatever_the_number_of_rows(declare, manager, n, in_database):
    first = craft(declare, severity="P1", detected=at(2025, 1, 3, 10, 0))
    copies(first, n)
    for i in range(n):
        item(first, manager, due_on=date(2025, 1 + i % 3, 1 + i % 27))
    with CaptureQueriesContext(connection) as ctx:
        report = metrics.readiness(JAN, MAR, now=LATER, in_database=in_database)
    assert len(ctx.captured_queries) == 2
    assert report.total.incidents == n + 1
    assert report.total.items_due == n


def test_months_between_and_add_months():
    assert metrics.add_months(date(2025, 11, 1), 3) == date(2026, 2, 1)
    assert metrics.add_months(date(2025, 1, 1), -1) == date(2024, 12, 1)
    assert metrics.months_between(date(2024, 11, 1), date(2025, 2, 1)) == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]
    assert metrics.months_between(FEB, JAN) == []


@pytest.mark.parametrize(
    ("first", "last", "error"),
    [
        (date(2025, 1, 1), date(2025, 12, 1), ("", "")),
        (date(2023, 7, 1), date(2026, 6, 1), ("", "")),  # 36 months
        (date(2023, 6, 1), date(2026, 6, 1), ("end", "Choose a period of at most 36 months.")),
        (
            date(2025, 3, 1),
            date(2025, 2, 1),
            ("end", "The last month must not be before the first."),
        ),
        (
            date(1999, 12, 1),
            date(2000, 1, 1),
            ("start", "Choose a month from January 2000 to July 2026."),
        ),
        (
            date(2026, 1, 1),
            date(2026, 8, 1),
            ("end", "Choose a month from January 2000 to July 2026."),
        ),
    ],
)
def test_period_bounds(first, last, error):
    now = at(2026, 6, 15, 12, 0)  # next month, July 2026, is the latest
    assert metrics.period_error(first, last, now) == error


def test_monthly_summary_counts_items_by_category(crafted, manager):
    p1, _, p2, _ = crafted
    now = at(2025, 1, 20, 12, 0)
    created_jan = at(2025, 1, 12, 9, 0)
    item(p1, manager, due_on=date(2025, 1, 10), status=ItemStatus.DONE, created_at=created_jan)
    item(p1, manager, due_on=date(2025, 1, 14), status=ItemStatus.OPEN, created_at=created_jan)
    item(p1, manager, due_on=date(2025, 1, 28), status=ItemStatus.IN_PROGRESS)
    item(
        p2,
        manager,
        due_on=date(2025, 1, 30),
        status=ItemStatus.WONT_DO,
        category=Category.PREVENTION,
        created_at=created_jan,
    )
    item(
        p2,
        manager,
        due_on=date(2025, 3, 1),
        category=Category.RECOVERY,
        created_at=at(2025, 1, 31, 23, 0),
    )
    item(p2, manager, due_on=date(2025, 2, 3), category=Category.RESPONSE)  # due next month

    summary = metrics.monthly_summary(JAN, now=now)
    rows = {r.category: r for r in summary.categories}
    detection = rows[Category.DETECTION]
    assert (detection.created, detection.due, detection.done) == (2, 3, 1)
    assert (detection.open, detection.overdue, detection.wont_do) == (1, 1, 0)
    assert detection.completion_percent == pytest.approx(100 / 3)
    assert detection.short == "Detection"
    prevention = rows[Category.PREVENTION]
    assert (prevention.created, prevention.due, prevention.wont_do) == (1, 1, 1)
    assert prevention.completion_percent is None
    assert (rows[Category.RECOVERY].created, rows[Category.RECOVERY].due) == (1, 0)
    assert rows[Category.RESPONSE].due == 0
    assert (summary.total.created, summary.total.due, summary.total.done) == (4, 4, 1)
    assert summary.total.completion_percent == pytest.approx(100 / 3)
    assert summary.item_count == 4
    assert [line.state for line in summary.items] == ["done", "overdue", "in_progress", "wont_do"]
    assert summary.items[1].state_label == "Overdue (open)"
    assert summary.items[0].priority == "1 - Immediate"
    assert summary.in_progress is True
    # The month's readiness against the months before it.
    assert summary.readiness.first == date(2024, 8, 1)
    assert summary.readiness.last == JAN
    assert summary.figures.incidents == 3


def test_monthly_summary_takes_a_constant_number_of_queries(crafted, manager):
    for i in range(20):
        item(crafted[i % 4], manager, due_on=date(2025, 1, 1 + i))
    with CaptureQueriesContext(connection) as ctx:
        summary = metrics.monthly_summary(JAN, now=LATER)
    assert len(ctx.captured_queries) == 5
    assert summary.item_count == 20


def test_definitions_name_the_organisation_time_zone(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    text = dict(metrics.definitions())
    assert "Europe/Berlin" in text["Month"]
    assert "false alarms" in text["Incidents"]
    assert "won't do" in text["Action-item completion"]


def test_percentages_are_written_to_one_decimal_or_a_dash():
    assert metrics.percent_text(200 / 3) == "66.7%"
    assert metrics.percent_text(100.0) == "100%"
    assert metrics.percent_text(0.0) == "0%"
    assert metrics.percent_text(None) == "—"


def test_stored_times_read_as_text_in_either_database_format():
    assert metrics._stamp("2025-01-10 10:00:00.5+01") == datetime(2025, 1, 10, 9, 0, 0, 500000)
    assert metrics._stamp("2025-01-10 10:00:00") == datetime(2025, 1, 10, 10, 0)
    assert metrics._stamp(None) is None
    assert metrics._stamp("10000-01-01 00:00:00+00") is None  # no page fails on it
