"""PDF reports of published revisions: requested when a revision is published, rendered by a
Celery task on the reports queue, kept in file storage (every node reads it) under the
revision, the template version and the paper size, and served from there to every later
download. Downloads are recorded."""

import contextlib
import time
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.errors import ApplicationError

from .. import pdf
from ..models import Download, Paper, PdfReport, PostMortem, RenderState, Revision

# A queued render not started after this long (the broker lost it, no worker runs the
# reports queue) is queued again when someone looks at the post-mortem.
STALE_PENDING = timedelta(minutes=2)


def _enqueue(report_ids: list[int]) -> None:
    from ..tasks import render_report

    for report_id in report_ids:
        # The broker is down: the page asks again later (requeue_stale).
        with contextlib.suppress(Exception):
            render_report.apply_async((report_id,), queue=settings.CELERY_REPORTS_QUEUE)


def request_renders(postmortem: PostMortem, revision: int, papers=None) -> list[PdfReport]:
    """The report rows of a revision on each paper size, queued for rendering after commit
    (the rows already there are left as they are)."""
    reports = []
    for paper in papers or Paper.values:
        report, _ = PdfReport.objects.get_or_create(
            postmortem=postmortem,
            revision=revision,
            paper=paper,
            template_version=pdf.TEMPLATE_VERSION,
        )
        reports.append(report)
    queued = [r.pk for r in reports if r.state == RenderState.PENDING]
    if queued:
        transaction.on_commit(lambda: _enqueue(queued))
    return reports


def requeue_stale(reports: list[PdfReport], now=None) -> None:
    """Queue again renders that a lost message or a killed worker left behind."""
    now = now or timezone.now()
    stale_rendering = now - timedelta(seconds=settings.PDF_RENDER_TIME_LIMIT * 2 + 60)
    stale = [
        r.pk
        for r in reports
        if (r.state == RenderState.PENDING and r.requested_at < now - STALE_PENDING)
        or (r.state == RenderState.RENDERING and r.started_at and r.started_at < stale_rendering)
    ]
    if stale:
        PdfReport.objects.filter(pk__in=stale).update(
            state=RenderState.PENDING, requested_at=now, started_at=None
        )
        _enqueue(stale)


def storage_name(report: PdfReport, reference: str) -> str:
    return (
        f"postmortems/{reference}/"
        f"{reference}-postmortem-r{report.revision}-t{report.template_version}-{report.paper}.pdf"
    )


def render_report(report_id: int) -> str:
    """Render one report if it is still waiting (safe to run twice: the row is claimed
    first). Returns its state afterwards."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.PDF_RENDER_TIME_LIMIT * 2 + 60)
    claimed = PdfReport.objects.filter(
        Q(state=RenderState.PENDING) | Q(state=RenderState.RENDERING, started_at__lt=stale),
        pk=report_id,
    ).update(state=RenderState.RENDERING, started_at=now)
    report = PdfReport.objects.select_related("postmortem__incident").filter(pk=report_id).first()
    if report is None or not claimed:
        return report.state if report else "missing"
    revision = Revision.objects.get(postmortem=report.postmortem, number=report.revision)
    from ..documents import postmortem_html

    html = postmortem_html(revision, report.paper)
    started = time.monotonic()
    try:
        data, pages = pdf.render(html)
    except pdf.RenderError as error:
        PdfReport.objects.filter(pk=report.pk).update(
            state=RenderState.FAILED, error=str(error), finished_at=timezone.now()
        )
        return RenderState.FAILED
    elapsed = int((time.monotonic() - started) * 1000)
    name = storage_name(report, report.postmortem.incident.reference)
    if default_storage.exists(name):
        default_storage.delete(name)
    name = default_storage.save(name, ContentFile(data))
    PdfReport.objects.filter(pk=report.pk).update(
        state=RenderState.READY,
        file_name=name,
        pages=pages,
        size=len(data),
        render_ms=elapsed,
        error="",
        finished_at=timezone.now(),
    )
    return RenderState.READY


def report_download(*, actor, report: PdfReport):
    """The report's file, opened, and the download recorded."""
    if report.state != RenderState.READY:
        raise ApplicationError("This report is not ready yet.")
    try:
        handle = default_storage.open(report.file_name, "rb")
    except FileNotFoundError:
        # The file went missing from storage: render it again.
        PdfReport.objects.filter(pk=report.pk).update(
            state=RenderState.PENDING, requested_at=timezone.now(), file_name=""
        )
        _enqueue([report.pk])
        raise ApplicationError("The file is being rendered again; try in a minute.") from None
    Download.objects.create(report=report, user=actor)
    return handle
