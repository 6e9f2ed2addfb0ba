"""/healthz (the load balancer's probe) and /healthz/ready (monitoring): what each dependency
is reported as, which status code follows, and that both answer within a second."""

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from portal import health
from portal.celery import app as celery_app
from portal.models import Notification, SweepStatus, Timer
from tests.portal.conftest import FrozenServer, free_port

ROOT = Path(__file__).resolve().parents[2]
# The probe runs its database check on its own connection: the rows it reads must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def stamp_sweep(ago: timedelta, *, worker_ago: timedelta | None = None):
    now = timezone.now()
    SweepStatus.objects.update_or_create(
        pk=1,
        defaults={
            "last_finished_at": now - ago,
            "last_worker_at": now - (worker_ago if worker_ago is not None else ago),
        },
    )


def get(client, url):
    started = time.monotonic()
    response = client.get(url)
    return response, json.loads(response.content), time.monotonic() - started


def test_everything_ok(client):
    stamp_sweep(timedelta(seconds=1))
    response, body, _ = get(client, "/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert {k: body[k] for k in ("status", "database", "broker", "sweep", "worker")} == {
        "status": "ok",
        "database": "ok",
        "broker": "ok",
        "sweep": "ok",
        "worker": "ok",
    }
    assert body["failed_timers"] == 0 and body["failed_notifications"] == 0
    assert not response.cookies, "healthz must not set cookies"
    assert "no-store" in response["Cache-Control"]
    assert client.get("/healthz/ready").status_code == 200
    assert client.get("/healthz?strict=1").status_code == 200


def test_a_stale_sweep_degrades_but_the_node_stays_in_service(client, settings):
    settings.TIMER_SWEEP_SECONDS = 5
    stamp_sweep(timedelta(seconds=16))  # more than 3 intervals
    response, body, _ = get(client, "/healthz")
    assert response.status_code == 200, "a dead beat must not take the node out of service"
    assert body["status"] == "degraded" and body["sweep"] == "stale"
    assert body["worker"] == "stale"
    assert client.get("/healthz/ready").status_code == 503


def test_beat_sweeping_alone_shows_the_worker_stale(client, settings):
    settings.TIMER_SWEEP_SECONDS = 5
    stamp_sweep(timedelta(seconds=2), worker_ago=timedelta(minutes=5))
    _, body, _ = get(client, "/healthz")
    assert body["sweep"] == "ok" and body["worker"] == "stale" and body["status"] == "degraded"


def test_never_swept_is_down(client):
    _, body, _ = get(client, "/healthz")
    assert body["sweep"] == "down" and body["worker"] == "down"
    assert client.get("/healthz/ready").status_code == 503


def test_failures_are_counted(client, declare):
    stamp_sweep(timedelta(seconds=1))
    incident = declare()
    Timer.objects.create(
        kind="incidents.response_breach",
        object_id=incident.pk,
        due_at=timezone.now(),
        state="failed",
    )
    Notification.objects.create(
        idempotency_key="k1", reason="escalation", destination="x@example.org", channel="email",
        subject="s", status="failed",
    )  # fmt: skip
    _, body, _ = get(client, "/healthz")
    assert body["failed_timers"] == 1 and body["failed_notifications"] == 1


def test_an_unreachable_broker_degrades_without_failing_the_probe(client, monkeypatch):
    stamp_sweep(timedelta(seconds=1))
    dead = free_port()  # nothing listens here
    monkeypatch.setitem(celery_app.conf, "broker_url", f"redis://127.0.0.1:{dead}/0")
    response, body, elapsed = get(client, "/healthz")
    assert response.status_code == 200
    assert body["broker"] == "down" and body["status"] == "degraded"
    assert client.get("/healthz/ready").status_code == 503
    assert elapsed < 1.0


def test_broker_check_passes_on_the_configured_broker():
    assert health.check_broker() == "ok"


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_healthz_only_answers_get(client, method):
    assert getattr(client, method)("/healthz").status_code == 405


def test_healthz_answers_head_and_any_host_over_plain_http(client, settings):
    settings.ALLOWED_HOSTS = ["incidents.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert client.head("/healthz", HTTP_HOST="10.1.2.3").status_code == 200
    assert client.get("/healthz/ready", HTTP_HOST="10.1.2.3").status_code in (200, 503)
    # Every other page still validates the host.
    assert client.get("/accounts/login/", HTTP_HOST="10.1.2.3").status_code == 400


@pytest.fixture
def frozen():
    servers = []

    def make():
        servers.append(FrozenServer())
        return servers[-1]

    yield make
    for server in servers:
        server.close()


PROBE = """
import json, time, django
django.setup()
from django.test import Client
c = Client()
out = {}
for url in ("/healthz", "/healthz/ready"):
    t = time.monotonic()
    r = c.get(url)
    out[url] = [r.status_code, json.loads(r.content), time.monotonic() - t]
print(json.dumps(out))
"""


@pytest.mark.integration
def test_frozen_postgres_and_redis_answer_within_a_second(frozen):
    db, redis = frozen(), frozen()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{db.port}/portal",
        "REDIS_URL": f"redis://127.0.0.1:{redis.port}/0",
    }
    out = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    code, body, elapsed = result["/healthz"]
    assert code == 503, body  # this node cannot serve pages
    assert body["database"] == "down" and body["broker"] == "down"
    assert elapsed < 1.0, elapsed
    code, body, elapsed = result["/healthz/ready"]
    assert code == 503 and elapsed < 1.0, elapsed
