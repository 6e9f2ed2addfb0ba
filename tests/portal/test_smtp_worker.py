"""Integration: a status-update reminder travels timer -> sweep (real Celery worker and beat,
through the configured broker) -> outbox -> delivery task -> a real SMTP server."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Incident
from portal.models import Notification
from tests.portal.test_celery_worker import CeleryProcesses

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_overdue_reminder_is_emailed_once_through_a_real_worker(
    declare, make_user, smtp_server, tmp_path
):
    inbox, port = smtp_server()
    cleo = make_user("cleo", "Responder")
    cleo.email = "cleo@example.org"
    cleo.save()
    past = timezone.now() - timedelta(hours=1)
    incident = declare(
        actor=cleo, severity="P1", severity_reason="checkout", now=past, title="Checkout down"
    )
    assert Incident.objects.get(pk=incident.pk).next_update_due_at < timezone.now()

    celery = CeleryProcesses(tmp_path)
    celery.env["EMAIL_URL"] = f"smtp://127.0.0.1:{port}"
    celery.env["DEFAULT_FROM_EMAIL"] = "incidents@example.org"
    # The worker also serves the default queue, where the delivery tasks go.
    celery.env["CELERY_TASK_DEFAULT_QUEUE"] = f"default-{celery.queue}"
    try:
        celery.worker(extra_queues=[f"default-{celery.queue}"])
        celery.beat()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(inbox.messages) < 2:
            time.sleep(0.25)
        time.sleep(3)  # a few more sweeps: nothing may arrive twice
    finally:
        celery.stop()
    log = celery.log()[-3000:]
    ref = incident.reference
    assert inbox.subjects() == [
        f"{ref}: status update due soon",
        f"{ref}: status update overdue",
    ], log
    assert all(m["To"] == "cleo@example.org" for m in inbox.messages)
    assert incident.get_absolute_url() in inbox.messages[0].get_payload(decode=True).decode()
    assert set(Notification.objects.filter(channel="email").values_list("status", flat=True)) == {
        "sent"
    }
    assert incident.events.filter(kind="update_overdue").count() == 1
