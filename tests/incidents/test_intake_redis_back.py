"""Integration (issue 12): alert intake while Redis is down, on the production stack. A real
gunicorn serves the intake URL with Redis (cache and broker) stopped and no worker or beat
running: the alert is stored, its incident declared and its page left in the outbox. Then
Redis comes back (a real redis-server on that port) and the worker and beat start again, as
a supervisor restarts them: the page reaches the SMS provider once. A second alert, sent
after Redis is back, goes through the broker as usual."""

import copy
import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from incidents.intake import services
from incidents.models import Alert, Incident
from portal.models import Notification
from tests.conftest import subprocess_database_url
from tests.portal.conftest import free_port, wait_for
from tests.portal.oncall_fixtures import on_call_team, verified
from tests.portal.test_celery_worker import CeleryProcesses

from .test_intake import ALERTMANAGER

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def post(url: str, body: dict) -> tuple[int, float]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, time.monotonic() - started
    except urllib.error.HTTPError as error:
        return error.code, time.monotonic() - started


def test_intake_stores_with_redis_down_and_pages_once_redis_is_back(
    make_user, http_provider, tmp_path
):
    sms = http_provider()
    team = on_call_team(make_user)
    verified(team.primary, "sms", "+4915100000001")
    from portal.oncall.routing import default_policy

    policy = default_policy()  # every moment a working hour: the same route whenever it runs
    policy.working_start, policy.working_end = "00:00", "23:59:59"
    policy.save()
    _, token = services.integration_create(actor=None, name="Prometheus", kind="alertmanager")

    redis_port = free_port()  # nothing listens here yet: Redis is down
    pages_queue = f"pages-test-{uuid.uuid4().hex[:8]}"
    notices_queue = f"notices-test-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": subprocess_database_url(),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "SMS_PROVIDER_URL": f"{sms.url}/sms",
        "CELERY_PAGES_QUEUE": pages_queue,
        "CELERY_TASK_DEFAULT_QUEUE": notices_queue,
        "PAGE_CONTACT_INTERVAL_SECONDS": "1",
    }
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    web_port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{web_port}",
         "--workers", "1"],
        cwd=ROOT, env={**inherited, **env},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    celery = CeleryProcesses(tmp_path)
    celery.env.update(env)
    redis = None
    intake = f"http://127.0.0.1:{web_port}/integrations/{token}/"
    try:
        up = wait_for(lambda: _answers(f"http://127.0.0.1:{web_port}/healthz"), timeout=30)
        assert up, "gunicorn did not start"

        status, took = post(intake, ALERTMANAGER)
        assert status == 202 and took < 6, (status, took)
        incident = Incident.objects.get()
        assert Alert.objects.count() == 1
        page = Notification.objects.get(reason="page", channel="sms")
        assert page.status == Notification.Status.PENDING
        time.sleep(1)
        assert sms.requests == []  # nothing could send it yet

        # Redis is back; the supervisor starts the worker and beat again.
        redis = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        celery.worker(extra_queues=[pages_queue, notices_queue])
        celery.beat()
        sent = wait_for(lambda: len(sms.requests) >= 1, timeout=60)
        assert sent, celery.log()[-4000:]
        first = sms.requests[0]
        assert first["json"]["to"] == "+4915100000001"
        assert incident.reference in first["json"]["message"]

        # A new alert group after Redis is back: stored, declared and paged as usual.
        second = copy.deepcopy(ALERTMANAGER)
        second["groupKey"] = '{}:{alertname="DiskFull"}'
        second["alerts"][0].update(
            fingerprint="9f0e1d2c3b4a5968", annotations={"summary": "Disk full on db-1"}
        )
        status, _ = post(intake, second)
        assert status == 202
        again = wait_for(lambda: len(sms.requests) >= 2, timeout=30)
        assert again, celery.log()[-4000:]
        time.sleep(3)  # more sweeps: nothing is sent twice
    finally:
        celery.stop()
        web.terminate()
        web.wait(timeout=15)
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=15)
    keys = [r["headers"]["Idempotency-Key"] for r in sms.requests]
    assert len(keys) == 2 and len(set(keys)) == 2, keys
    assert Notification.objects.filter(reason="page", channel="sms", status="sent").count() == 2


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
