"""Integration: publishing queues the PDF renders, and a real Celery worker on the reports
queue renders them through the configured broker into the configured file storage."""

import pytest
from django.core.files.storage import default_storage

from postmortems.models import PdfReport
from tests.portal.conftest import wait_for
from tests.portal.test_celery_worker import CeleryProcesses

from .conftest import published

pytestmark = [
    pytest.mark.integration,
    pytest.mark.configured_storage,
    pytest.mark.django_db(transaction=True),
]


def test_a_real_worker_renders_the_reports_of_a_published_revision(
    postmortem, responder, manager, settings, tmp_path
):
    celery = CeleryProcesses(tmp_path)
    settings.CELERY_REPORTS_QUEUE = celery.env["CELERY_REPORTS_QUEUE"] = celery.queue
    try:
        celery.worker()
        published(postmortem, responder, manager)
        ready = wait_for(
            lambda: PdfReport.objects.filter(postmortem=postmortem, state="ready").count() == 2,
            timeout=90,
        )
        assert ready, celery.log()[-3000:]
    finally:
        celery.stop()
    for report in PdfReport.objects.filter(postmortem=postmortem):
        with default_storage.open(report.file_name, "rb") as handle:
            assert handle.read(5) == b"%PDF-"
        assert report.pages > 1
        default_storage.delete(report.file_name)
