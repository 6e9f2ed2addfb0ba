"""Readiness metrics and the monthly improvement summary, for Managers and Admins (the
incidents.view_reports permission). Read-only GET pages: each calls metrics.py and renders.
A period or month the forms refuse is answered 400 with the form's message, never a 500; a PDF
that cannot be rendered is answered 503 with the renderer's message."""

import csv
import io
import logging
from datetime import timedelta

from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from incidents.exports import csv_safe

from .. import charts, documents, pdf
from .. import metrics as metrics_lib
from ..forms_reports import MonthForm, PeriodForm
from ..models import Paper

log = logging.getLogger(__name__)

REPORTS = "incidents.view_reports"

CSV_HEADER = [
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


def _errors(form) -> list[str]:
    return [
        f"{form.fields[f].label}: {e}" if f in form.fields else str(e)
        for f, errors in form.errors.items()
        for e in errors
    ]


def _period_query(first, last) -> str:
    return urlencode({"start": f"{first:%Y-%m}", "end": f"{last:%Y-%m}"})


@require_GET
@permission_required(REPORTS, raise_exception=True)
def metrics(request):
    form = PeriodForm(request.GET)
    context = {"form": form, "definitions": metrics_lib.definitions()}
    if not form.is_valid():
        return render(request, "postmortems/metrics.html", context, status=400)
    first, last = form.period
    report = metrics_lib.readiness(first, last)
    query = _period_query(first, last)
    context |= {
        "report": report,
        "charts": charts.readiness_charts(report),
        "csv_url": f"{reverse('postmortems:metrics_csv')}?{query}",
        "monthly_url": reverse("postmortems:monthly")
        + f"?month={min(last, metrics_lib.this_month()):%Y-%m}",
        "wide_charts": report.month_count > 18,
    }
    return render(request, "postmortems/metrics.html", context)


def _minutes(value: timedelta | None) -> str:
    return "" if value is None else f"{value / timedelta(minutes=1):.2f}"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _csv_row(month: str, severity: str, f: metrics_lib.Readiness) -> list[str]:
    return [
        csv_safe(month),
        csv_safe(severity),
        str(f.incidents),
        str(f.acknowledged),
        _minutes(f.mtta),
        str(f.resolved),
        _minutes(f.mttr),
        str(f.sla_met),
        str(f.sla_missed),
        str(f.sla_pending),
        _pct(f.sla_percent),
        str(f.items_due),
        str(f.items_done),
        str(f.items_wont_do),
        _pct(f.completion_percent),
    ]


@require_GET
@permission_required(REPORTS, raise_exception=True)
def metrics_csv(request):
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest(
            "The export was refused: " + " ".join(_errors(form)),
            content_type="text/plain; charset=utf-8",
        )
    first, last = form.period
    report = metrics_lib.readiness(first, last)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for row in report.months:
        month = f"{row.month:%Y-%m}"
        for cell in row.cells:
            writer.writerow(_csv_row(month, cell.level.code, cell.figures))
        writer.writerow(_csv_row(month, "all", row.total))
    for cell in report.by_severity:
        writer.writerow(_csv_row("all", cell.level.code, cell.figures))
    writer.writerow(_csv_row("all", "all", report.total))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"readiness-{first:%Y-%m}-to-{last:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _monthly_context(summary: metrics_lib.MonthlySummary) -> dict:
    month = summary.month
    previous, following = metrics_lib.add_months(month, -1), metrics_lib.add_months(month, 1)
    base = reverse("postmortems:monthly")
    return {
        "summary": summary,
        "charts": charts.readiness_charts(summary.readiness, highlight=month),
        "category_chart": charts.category_chart(summary),
        "definitions": metrics_lib.definitions(),
        "previous_url": f"{base}?month={previous:%Y-%m}"
        if not metrics_lib.month_error(previous)
        else "",
        "next_url": f"{base}?month={following:%Y-%m}"
        if not metrics_lib.month_error(following)
        else "",
        "pdf_urls": [
            (p.label, f"{reverse('postmortems:monthly_pdf')}?month={month:%Y-%m}&paper={p.value}")
            for p in Paper
        ],
        "metrics_url": f"{reverse('postmortems:metrics')}?"
        + _period_query(summary.readiness.first, summary.readiness.last),
    }


@require_GET
@permission_required(REPORTS, raise_exception=True)
def monthly(request):
    form = MonthForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "postmortems/monthly.html",
            {"form": form, "definitions": metrics_lib.definitions()},
            status=400,
        )
    summary = metrics_lib.monthly_summary(form.cleaned_data["month"])
    return render(request, "postmortems/monthly.html", {"form": form} | _monthly_context(summary))


def monthly_html(summary: metrics_lib.MonthlySummary, paper: str) -> str:
    """The PDF's HTML: the page's figures on paper, times in the organisation's zone."""
    context = documents.common_context(paper) | _monthly_context(summary)
    with timezone.override(context["zone"]):
        return render_to_string("postmortems/pdf/monthly.html", context)


@require_GET
@permission_required(REPORTS, raise_exception=True)
def monthly_pdf(request):
    form = MonthForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "postmortems/monthly.html",
            {"form": form, "definitions": metrics_lib.definitions()},
            status=400,
        )
    month, paper = form.cleaned_data["month"], form.cleaned_data["paper"]
    summary = metrics_lib.monthly_summary(month)
    try:
        data, _pages = pdf.render_in_request(monthly_html(summary, paper))
    except pdf.RenderError as error:
        log.warning("Monthly summary PDF for %s failed: %s", f"{month:%Y-%m}", error)
        context = {"form": form, "pdf_error": str(error)} | _monthly_context(summary)
        return render(request, "postmortems/monthly.html", context, status=503)
    response = HttpResponse(data, content_type="application/pdf")
    name = f"improvement-summary-{month:%Y-%m}-{paper}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
