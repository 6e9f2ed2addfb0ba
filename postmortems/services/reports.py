"""PDF reports of published revisions: requested when a revision is published, rendered by a
Celery task on the reports queue, kept in file storage (every node reads it) under the
revision, the template version and the paper size, and served from there to every later
download. Downloads are recorded.

The broker only speeds rendering up (DESIGN.md decision 3): each request also schedules a
durable check that queues the render again if no worker took it (the broker was down, a
worker died mid-render), and after CHECK_ATTEMPTS says so on the page instead of spinning
for ever. A failed render can be tried again."""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal import resilience, timers
from portal.errors import ApplicationError
from portal.models import Timer

from .. import authority, pdf
from ..models import Download, Paper, PdfReport, PostMortem, RenderState, Revision

log = logging.getLogger(__name__)

CHECK_TIMER = "pdf_report_check"
CHECK_AFTER = timedelta(minutes=3)
CHECK_ATTEMPTS = 5
NO_WORKER = (
    "No worker rendered the report: check that a Celery worker takes the reports queue "
    "({queue}), then try again."
)


def _stale_rendering(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.PDF_RENDER_TIME_LIMIT * 2 + 60)


def _enqueue(report_ids: list[int]) -> None:
    """Hand the renders to the workers now; with the broker down the durable check queues
    them again later, so a staff page never waits for Redis."""
    from ..tasks import render_report

    if resilience.redis.is_open():
        return
    for report_id in report_ids:
        try:
            render_report.apply_async((report_id,), queue=settings.CELERY_REPORTS_QUEUE)
        except Exception as exc:
            resilience.redis.trip(exc)
            log.warning("could not queue PDF report %s (%s); the check will", report_id, exc)
            return


def _queue(reports: list[PdfReport], now: datetime) -> None:
    ids = [r.pk for r in reports]
    for report_id in ids:
        timers.schedule(CHECK_TIMER, report_id, now + CHECK_AFTER)
    transaction.on_commit(lambda: _enqueue(ids))


def request_renders(postmortem: PostMortem, revision: int, papers=None) -> list[PdfReport]:
    """The report rows of a revision on each paper size; the new ones are queued for
    rendering after commit (the rows already there are left as they are)."""
    reports, created = [], []
    for paper in papers or Paper.values:
        report, new = PdfReport.objects.get_or_create(
            postmortem=postmortem,
            revision=revision,
            paper=paper,
            template_version=pdf.TEMPLATE_VERSION,
        )
        reports.append(report)
        if new:
            created.append(report)
    if created:
        _queue(created, timezone.now())
    return reports


@timers.register(CHECK_TIMER)
def check_report(timer: Timer, now: datetime) -> None:
    """The durable check: a render still waiting (or stuck past any render's time) is queued
    again, up to CHECK_ATTEMPTS times; then the page says why."""
    stuck = Q(state=RenderState.PENDING) | Q(
        state=RenderState.RENDERING, started_at__lt=_stale_rendering(now)
    )
    report = PdfReport.objects.filter(stuck, pk=timer.object_id).first()
    if report is None:
        return
    if report.attempts + 1 >= CHECK_ATTEMPTS:
        PdfReport.objects.filter(pk=report.pk).update(
            state=RenderState.FAILED,
            error=NO_WORKER.format(queue=settings.CELERY_REPORTS_QUEUE),
            finished_at=now,
        )
        return
    PdfReport.objects.filter(pk=report.pk).update(
        state=RenderState.PENDING, attempts=report.attempts + 1, requested_at=now, started_at=None
    )
    _queue([report], now)


@transaction.atomic
def report_retry(*, actor, report: PdfReport) -> PdfReport:
    """Render a failed report again (after a timeout under load, or once a worker runs)."""
    authority.require("retry_report", actor, report.postmortem)
    now = timezone.now()
    if not PdfReport.objects.filter(pk=report.pk, state=RenderState.FAILED).update(
        state=RenderState.PENDING, attempts=0, error="", requested_at=now, started_at=None
    ):
        raise ApplicationError("This report is not failed: it is rendering or ready.")
    report.refresh_from_db()
    _queue([report], now)
    return report


def storage_name(report: PdfReport, reference: str) -> str:
    return (
        f"postmortems/{reference}/"
        f"{reference}-postmortem-r{report.revision}-t{report.template_version}-{report.paper}.pdf"
    )


def _finish(report_id: int, **fields) -> None:
    PdfReport.objects.filter(pk=report_id).update(finished_at=timezone.now(), **fields)


def render_report(report_id: int) -> str:
    """Render one report if it is still waiting (safe to run twice: the row is claimed
    first). Returns its state afterwards."""
    now = timezone.now()
    claimed = PdfReport.objects.filter(
        Q(state=RenderState.PENDING)
        | Q(state=RenderState.RENDERING, started_at__lt=_stale_rendering(now)),
        pk=report_id,
    ).update(state=RenderState.RENDERING, started_at=now)
    report = PdfReport.objects.select_related("postmortem__incident").filter(pk=report_id).first()
    if report is None or not claimed:
        return report.state if report else "missing"
    started = time.monotonic()
    try:
        from ..documents import postmortem_html

        revision = Revision.objects.get(postmortem=report.postmortem, number=report.revision)
        data, pages = pdf.render(postmortem_html(revision, report.paper))
        name = storage_name(report, report.postmortem.incident.reference)
        if default_storage.exists(name):
            default_storage.delete(name)
        name = default_storage.save(name, ContentFile(data))
    except pdf.RenderError as error:
        _finish(report.pk, state=RenderState.FAILED, error=str(error))
        return RenderState.FAILED
    except Exception as error:  # a template, storage or database fault: said on the page
        log.exception("PDF report %s failed", report.pk)
        _finish(
            report.pk,
            state=RenderState.FAILED,
            error=f"The report could not be rendered ({type(error).__name__}); try again.",
        )
        return RenderState.FAILED
    _finish(
        report.pk,
        state=RenderState.READY,
        file_name=name,
        pages=pages,
        size=len(data),
        render_ms=int((time.monotonic() - started) * 1000),
        error="",
    )
    timers.cancel(CHECK_TIMER, report.pk)
    return RenderState.READY


def report_download(*, actor, report: PdfReport):
    """The report's file, opened, and the download recorded. A file gone from storage is
    rendered again."""
    if report.state != RenderState.READY:
        raise ApplicationError("This report is not ready yet.")
    try:
        handle = default_storage.open(report.file_name, "rb")
    except Exception as error:  # FileNotFoundError locally, a client error from S3
        log.warning("PDF report %s unreadable (%s); rendering it again", report.pk, error)
        with transaction.atomic():
            PdfReport.objects.filter(pk=report.pk).update(
                state=RenderState.PENDING, requested_at=timezone.now(), file_name="", attempts=0
            )
            _queue([report], timezone.now())
        raise ApplicationError(
            "The file could not be read from storage, so it is being rendered again; the "
            "download appears here when it is ready."
        ) from None
    Download.objects.create(report=report, user=actor)
    return handle
