"""The readiness metrics page, its CSV, and the monthly improvement summary (page and PDF)."""

import csv
import io
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, Status
from postmortems import metrics
from postmortems.models import ActionItem, ItemStatus, PostMortem
from postmortems.rules import Category
from postmortems.views.reports import CSV_HEADER

URLS = ["postmortems:metrics", "postmortems:metrics_csv", "postmortems:monthly"]


@pytest.fixture(autouse=True)
def _banner_read_once(settings):
    # The staff banner reads the sweep's state once per interval: not what is measured here.
    settings.TIMER_SWEEP_SECONDS = 3600


def this_month() -> date:
    return metrics.this_month()


def craft(declare, *, severity="P2", detected, ack=None, resolved=None, status=Status.RESOLVED):
    incident = declare(severity=severity, severity_reason="Crafted for the report tests.")
    Incident.objects.filter(pk=incident.pk).update(
        detected_at=detected,
        declared_at=detected,
        acknowledged_at=ack,
        resolved_at=resolved,
        status=status,
    )
    incident.refresh_from_db()
    return incident


def add_item(incident, owner, *, due_on, status=ItemStatus.OPEN, category=Category.DETECTION):
    postmortem = PostMortem.objects.filter(incident=incident).first() or PostMortem.objects.create(
        incident=incident, owner=owner, due_at=incident.detected_at + timedelta(days=7)
    )
    return ActionItem.objects.create(
        postmortem=postmortem,
        title="Page the database on-call on replication lag",
        owner=owner,
        created_by=owner,
        due_on=due_on,
        category=category,
        impact="high",
        effort="high",
        priority=2,
        status=status,
    )


def month_start_utc(month: date):
    return metrics.month_starts_utc([month], metrics.org_zone())[0]


@pytest.mark.parametrize("name", [*URLS, "postmortems:monthly_pdf"])
def test_responder_without_view_reports_is_refused(login, responder, name):
    assert not responder.has_perm("incidents.view_reports")
    response = login(responder).get(reverse(name))
    assert response.status_code == 403


@pytest.mark.parametrize("name", URLS)
def test_manager_may_read_the_reports(login, manager, name):
    assert login(manager).get(reverse(name)).status_code == 200


@pytest.mark.parametrize("name", URLS)
def test_reports_are_get_only(login, manager, name):
    assert login(manager).post(reverse(name)).status_code == 405


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("postmortems:metrics"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_metrics_page_shows_the_period_figures_definitions_and_charts(declare, login, manager):
    start = month_start_utc(this_month())
    craft(
        declare,
        severity="P1",
        detected=start + timedelta(hours=1),
        ack=start + timedelta(hours=1, minutes=12),
        resolved=start + timedelta(hours=3, minutes=1),
    )
    response = login(manager).get(reverse("postmortems:metrics"))
    assert response.status_code == 200
    report = response.context["report"]
    first, last = metrics.default_period()
    assert (report.first, report.last) == (first, last)
    assert report.total.mtta == timedelta(minutes=12)
    page = response.content.decode()
    assert "How these figures are measured" in page
    assert "false alarms, which are left" in page
    assert "acknowledged by their response-due time" in page
    assert "done ÷ (due − won&#x27;t do)" in page
    assert f"Months run from midnight to midnight in {metrics.org_zone().key}" in page
    for chart_id in ("chart-mtta", "chart-mttr", "chart-sla", "chart-completion"):
        assert f'id="{chart_id}"' in page
    assert 'role="img"' in page
    assert page.count('class="table-responsive"') == 1
    assert f"{this_month():%b %Y}" in page
    assert reverse("postmortems:metrics_csv") + f"?start={first:%Y-%m}&amp;end={last:%Y-%m}" in page


def test_metrics_page_takes_the_chosen_period(login, manager):
    response = login(manager).get(
        reverse("postmortems:metrics"), {"start": "2024-11", "end": "2025-02"}
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert [r.month for r in report.months] == [
        date(2024, 11, 1),
        date(2024, 12, 1),
        date(2025, 1, 1),
        date(2025, 2, 1),
    ]
    assert 'value="2024-11"' in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "2025-13"}, "Enter a month as YYYY-MM, for example 2026-03."),
        ({"start": "March"}, "Enter a month as YYYY-MM, for example 2026-03."),
        ({"end": "0000-01"}, "Enter a month as YYYY-MM, for example 2026-03."),
        ({"start": "2025-06", "end": "2025-01"}, "The last month must not be before the first."),
        ({"start": "2020-01", "end": "2024-12"}, "Choose a period of at most 36 months."),
        ({"start": "1999-12", "end": "2000-03"}, "Choose a month from January 2000 to"),
        ({"start": "9999-12"}, "Choose a month from January 2000 to"),
        ({"end": "2999-01"}, "Choose a month from January 2000 to"),
    ],
)
def test_metrics_page_refuses_a_bad_period_with_a_form_error(login, manager, params, message):
    client = login(manager)
    response = client.get(reverse("postmortems:metrics"), params)
    assert response.status_code == 400
    assert "report" not in response.context
    assert message in response.content.decode()
    csv_response = client.get(reverse("postmortems:metrics_csv"), params)
    assert csv_response.status_code == 400
    assert message in csv_response.content.decode()


def test_metrics_csv_has_the_header_and_one_row_per_month_and_severity(declare, login, manager):
    month = date(2025, 3, 1)
    start = month_start_utc(month)
    incident = craft(
        declare,
        severity="P1",
        detected=start + timedelta(days=2),
        ack=start + timedelta(days=2, minutes=7, seconds=30),
        resolved=start + timedelta(days=2, hours=2),
    )
    add_item(incident, manager, due_on=date(2025, 3, 20), status=ItemStatus.DONE)
    add_item(incident, manager, due_on=date(2025, 3, 21), status=ItemStatus.WONT_DO)
    response = login(manager).get(
        reverse("postmortems:metrics_csv"), {"start": "2025-02", "end": "2025-03"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="readiness-2025-02-to-2025-03.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == CSV_HEADER
    assert rows[0] == [
        "month",
        "severity",
        "incidents",
        "acknowledged",
        "mtta_minutes",
        "resolved",
        "mttr_minutes",
        "within_sla",
        "missed_sla",
        "sla_pending",
        "within_sla_percent",
        "items_due",
        "items_done",
        "items_wont_do",
        "completion_percent",
    ]
    # 2 months x (4 severities + all), 4 severity totals, the overall total.
    assert len(rows) == 1 + 2 * 5 + 4 + 1
    by_key = {(r[0], r[1]): r for r in rows[1:]}
    assert by_key[("2025-03", "P1")] == [
        "2025-03",
        "P1",
        "1",
        "1",
        "7.50",
        "1",
        "120.00",
        "1",
        "0",
        "0",
        "100.0",
        "2",
        "1",
        "1",
        "100.0",
    ]
    assert by_key[("2025-02", "all")][2:] == [
        "0",
        "0",
        "",
        "0",
        "",
        "0",
        "0",
        "0",
        "",
        "0",
        "0",
        "0",
        "",
    ]
    assert by_key[("all", "all")][2] == "1"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def page_queries(client, url) -> int:
    client.get(url)  # warm the session (time zone)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_metrics_page_query_count_does_not_grow_with_incidents(declare, login, manager):
    client = login(manager)
    url = reverse("postmortems:metrics")
    start = month_start_utc(this_month())

    def make(n):
        for i in range(n):
            incident = craft(
                declare,
                severity=f"P{1 + i % 4}",
                detected=start + timedelta(minutes=i),
                ack=start + timedelta(minutes=i + 3),
            )
            if i % 5 == 0:
                add_item(incident, manager, due_on=this_month() + timedelta(days=i % 27))

    make(5)
    few = page_queries(client, url)
    make(45)
    assert Incident.objects.count() == 50
    many = page_queries(client, url)
    assert many == few


def test_monthly_page_shows_categories_items_and_readiness(declare, login, manager):
    month = date(2025, 3, 1)
    start = month_start_utc(month)
    incident = craft(
        declare,
        severity="P2",
        detected=start + timedelta(days=3),
        ack=start + timedelta(days=3, minutes=20),
    )
    add_item(incident, manager, due_on=date(2025, 3, 5), status=ItemStatus.DONE)
    add_item(incident, manager, due_on=date(2025, 3, 6), category=Category.RECOVERY)
    add_item(incident, manager, due_on=date(2025, 4, 6), category=Category.RECOVERY)
    response = login(manager).get(reverse("postmortems:monthly"), {"month": "2025-03"})
    assert response.status_code == 200
    summary = response.context["summary"]
    rows = {r.category: r for r in summary.categories}
    assert (rows["detection"].due, rows["detection"].done) == (1, 1)
    assert (rows["recovery"].due, rows["recovery"].overdue) == (1, 1)
    assert summary.total.completion_percent == 50.0
    assert summary.figures.mtta == timedelta(minutes=20)
    page = response.content.decode()
    assert "Improvement summary" in page and "March 2025" in page
    assert page.count('data-item="') == 2
    assert "Page the database on-call on replication lag" in page
    assert "2 - Planned Project" in page
    assert "Overdue (open)" in page
    assert 'id="chart-categories"' in page and 'id="chart-mtta"' in page
    assert "?month=2025-03&amp;paper=a4" in page and "?month=2025-03&amp;paper=letter" in page
    assert "?month=2025-02" in page and "?month=2025-04" in page


def test_monthly_page_defaults_to_this_month(login, manager):
    response = login(manager).get(reverse("postmortems:monthly"))
    assert response.status_code == 200
    assert response.context["summary"].month == this_month()


@pytest.mark.parametrize("params", [{"month": "2025-00"}, {"month": "1999-12"}, {"paper": "a3"}])
def test_monthly_page_and_pdf_refuse_bad_input(login, manager, params):
    client = login(manager)
    for name in ("postmortems:monthly", "postmortems:monthly_pdf"):
        response = client.get(reverse(name), params)
        assert response.status_code == 400
        assert "summary" not in response.context
        assert 'data-testid="form-errors"' in response.content.decode()


def poppler(tool: str, data: bytes, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} (Debian package poppler-utils) is needed to read the PDF")
    result = subprocess.run(
        [tool, *args, "-", *(["-"] if tool == "pdftotext" else [])],
        input=data,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode()


def pdf_text(data: bytes) -> str:
    return poppler("pdftotext", data, "-layout")


@pytest.mark.parametrize(
    ("paper", "size"), [("a4", "595.276 x 841.89 pts (A4)"), ("letter", "612 x 792 pts (letter)")]
)
def test_monthly_pdf_has_the_month_its_counts_and_page_numbers(
    declare, login, manager, paper, size
):
    month = date(2025, 3, 1)
    start = month_start_utc(month)
    incident = craft(
        declare,
        severity="P1",
        detected=start + timedelta(days=3),
        ack=start + timedelta(days=3, minutes=9),
        resolved=start + timedelta(days=3, hours=1),
    )
    for day in (3, 4, 5):
        add_item(incident, manager, due_on=date(2025, 3, day), category=Category.PREVENTION)
    response = login(manager).get(
        reverse("postmortems:monthly_pdf"), {"month": "2025-03", "paper": paper}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="improvement-summary-2025-03-{paper}.pdf"'
    )
    data = response.content
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    assert f"Page size: {size}" in " ".join(poppler("pdfinfo", data).split())
    assert "Improvement summary" in text
    assert "March 2025" in text
    assert "Page 1 of" in text
    prevention = next(line for line in text.splitlines() if line.strip().startswith("Prevention"))
    # Created 0 in March 2025 (they were created today), due 3, done 0; all 3 overdue.
    assert prevention.split()[1:4] == ["0", "3", "0"]
    assert "Overdue" in text
    assert "9 min" in text  # the month's MTTA
    assert f"Generated {timezone.now().astimezone(metrics.org_zone()):%Y-%m-%d}" in text


def test_monthly_pdf_failure_is_a_503_with_the_message(settings, login, manager):
    settings.PDF_RENDER_TIME_LIMIT = 0.001  # a real render, stopped at its time limit
    response = login(manager).get(reverse("postmortems:monthly_pdf"), {"month": "2025-03"})
    assert response.status_code == 503
    page = response.content.decode()
    assert "The PDF could not be made." in page
    assert "took longer than 0.001 seconds" in page
    assert response.context["summary"].month == date(2025, 3, 1)


def test_monthly_page_query_count_does_not_grow_with_items(declare, login, manager):
    client = login(manager)
    url = reverse("postmortems:monthly") + "?month=2025-03"
    start = month_start_utc(date(2025, 3, 1))
    incidents = [
        craft(
            declare,
            severity="P2",
            detected=start + timedelta(days=i),
            ack=start + timedelta(days=i, minutes=4),
        )
        for i in range(3)
    ]
    for i in range(3):
        add_item(incidents[i], manager, due_on=date(2025, 3, 10 + i))
    few = page_queries(client, url)
    for i in range(30):
        add_item(
            incidents[i % 3], manager, due_on=date(2025, 3, 1 + i % 28), category=Category.RESPONSE
        )
    many = page_queries(client, url)
    assert many == few
