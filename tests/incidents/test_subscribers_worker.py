"""Integration (issue 14): a subscriber fan-out through a real Celery worker and a real SMTP
server survives the worker being killed mid-send: every subscriber has exactly one outbox
row for the update and receives it, under one Message-ID."""

import os
import signal
import time

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Subscriber, SubscriberNotice, SubscriberState
from portal.channels.email import message_id
from portal.models import Notification
from tests.portal.test_celery_worker import CeleryProcesses

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SUBSCRIBERS = 150


def test_one_email_per_subscriber_and_update_through_a_worker_kill(
    declare,
    smtp_server,
    tmp_path,
):
    inbox, port = smtp_server(stall=0.03)
    Subscriber.objects.bulk_create(
        Subscriber(
            kind="email",
            email=f"reader{n}@example.org",
            state=SubscriberState.ACTIVE,
            confirmed_at=timezone.now(),
            token=f"token-{n}",
        )
        for n in range(SUBSCRIBERS)
    )
    celery = CeleryProcesses(tmp_path)
    celery.env.update(
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        CELERY_TASK_DEFAULT_QUEUE=f"default-{celery.queue}",
        CELERY_BULK_QUEUE=f"bulk-{celery.queue}",
        CELERY_PAGES_QUEUE=f"pages-{celery.queue}",
        NOTIFICATION_MIN_LEASE_SECONDS="5",
    )
    queues = [f"default-{celery.queue}", f"bulk-{celery.queue}", f"pages-{celery.queue}"]
    try:
        celery.worker(extra_queues=queues)
        celery.beat()
        incident = declare(severity="P1", severity_reason="checkout down")
        if not incident.is_public:
            services.incident_verify(actor=incident.declared_by, incident=incident)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(inbox.messages) < SUBSCRIBERS // 3:
            time.sleep(0.1)
        assert len(inbox.messages) >= SUBSCRIBERS // 3, celery.log()[-3000:]
        worker = celery.procs[0]
        os.killpg(worker.pid, signal.SIGKILL)  # mid-send, no warning
        worker.wait()
        at_kill = len(inbox.messages)
        assert at_kill < SUBSCRIBERS
        celery.worker(extra_queues=queues)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len({m["To"] for m in inbox.messages}) < SUBSCRIBERS:
            time.sleep(0.25)
        time.sleep(3)  # a few more sweeps: nothing may arrive again
    finally:
        celery.stop()
    notice = SubscriberNotice.objects.get(incident=incident)
    rows = Notification.objects.filter(topic=notice.topic)
    assert rows.count() == SUBSCRIBERS
    assert set(rows.values_list("status", flat=True)) == {"sent"}, celery.log()[-3000:]
    # Each subscriber's email carries the Message-ID of its own row: a recipient mailed
    # from two rows (a notice written twice) would show two.
    expected = {
        row.destination: message_id(row.idempotency_key)
        for row in rows.only("destination", "idempotency_key")
    }
    received: dict[str, set[str]] = {}
    for message in inbox.messages:
        received.setdefault(str(message["To"]), set()).add(str(message["Message-ID"]))
    assert received == {to: {mid} for to, mid in expected.items()}
    # Delivery is at-least-once: only the message the mail server accepted in the instant
    # before the kill, its row still "sending", may arrive twice (the same Message-ID).
    assert len(inbox.messages) <= SUBSCRIBERS + 1
