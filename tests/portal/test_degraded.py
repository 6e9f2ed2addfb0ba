"""Integration: the portal while its own dependencies fail. Redis stopped or frozen, the
broker unreachable, beat stopped: pages and log-in keep working, the clocks keep ticking from
the database, and what is degraded is shown."""

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from portal import health
from portal.models import Notification, SweepStatus
from tests.conftest import PASSWORD
from tests.portal.conftest import FrozenServer, free_port, wait_for
from tests.portal.test_celery_worker import CeleryProcesses

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_with_the_broker_down_beat_sweeps_and_a_due_reminder_goes_out(
    declare, make_user, smtp_server, tmp_path
):
    inbox, port = smtp_server()
    cleo = make_user("cleo", "Responder")
    cleo.email = "cleo@example.org"
    cleo.save()
    incident = declare(
        actor=cleo,
        severity="P1",
        severity_reason="checkout",
        now=timezone.now() - timedelta(hours=1),
    )
    celery = CeleryProcesses(tmp_path)
    celery.env.update(
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",  # the broker is stopped: nothing listens
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
        DEFAULT_FROM_EMAIL="incidents@example.org",
    )
    try:
        started = time.monotonic()
        celery.beat()  # no worker could take anything even if the broker were up
        arrived = wait_for(lambda: len(inbox.messages) >= 2, timeout=30)
        elapsed = time.monotonic() - started
        time.sleep(2)  # a few more sweeps: nothing twice
    finally:
        celery.stop()
    log = celery.log()
    assert arrived, log[-4000:]
    assert "broker unreachable" in log
    ref = incident.reference
    assert inbox.subjects() == [f"{ref}: status update due soon", f"{ref}: status update overdue"]
    # Beat needs a few seconds to start; after that, within a sweep interval (1 s) or two.
    assert elapsed < 15, elapsed
    assert incident.events.filter(kind="update_overdue").count() == 1
    status = SweepStatus.objects.get()
    assert status.last_local_at is not None and status.last_worker_at is None


def test_stopping_beat_turns_the_sweep_stale_and_shows_a_banner(
    client, responder, settings, tmp_path
):
    settings.TIMER_SWEEP_SECONDS = 1
    celery = CeleryProcesses(tmp_path)
    try:
        celery.worker()
        celery.beat()
        ok = wait_for(lambda: health.report()["worker"] == "ok", timeout=45)
        assert ok, celery.log()[-3000:]
        client.force_login(responder)
        health._banner_cache.update(at=None, value=None)
        assert "Scheduler stalled" not in client.get("/").content.decode()
        assert client.get("/healthz/ready").status_code == 200
        celery.procs[-1].terminate()  # beat only; the worker keeps running
        celery.procs[-1].wait(timeout=15)
        stale = wait_for(lambda: health.report()["sweep"] == "stale", timeout=20)
        assert stale, health.report()
    finally:
        celery.stop()
    response = client.get("/healthz")
    body = json.loads(response.content)
    assert response.status_code == 200 and body["sweep"] == "stale"
    assert body["status"] == "degraded"
    assert client.get("/healthz/ready").status_code == 503
    health._banner_cache.update(at=None, value=None)
    page = client.get("/").content.decode()
    assert "Scheduler stalled" in page


@pytest.fixture(params=["stopped", "frozen"])
def broken_redis(request, settings):
    if request.param == "stopped":
        url, server = f"redis://127.0.0.1:{free_port()}/0", None
    else:
        server = FrozenServer()
        url = f"redis://127.0.0.1:{server.port}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "portal",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    yield request.param
    if server is not None:
        server.close()


def test_log_in_pages_and_the_war_room_work_with_redis_down(
    client, responder, declare, broken_redis
):
    incident = declare()
    started = time.monotonic()
    response = client.post(
        "/accounts/login/", {"username": responder.username, "password": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == "/", response.status_code
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Redis unavailable" in dashboard.content.decode()
    assert client.get("/incidents/").status_code == 200
    assert client.get(incident.get_absolute_url()).status_code == 200
    note = client.post(
        f"/incidents/{incident.reference}/notes/", {"text": "Redis is down; DB carries on"}
    )
    assert note.status_code == 302
    assert incident.events.filter(kind="note").count() == 1
    # A frozen Redis costs one socket timeout, then the breaker skips it.
    assert time.monotonic() - started < 6
    # Notices still reach the outbox (and the database sweep delivers them).
    assert not Notification.objects.filter(status="failed").exists()


SHOW_TIMEOUT = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SHOW statement_timeout")
    print(cursor.fetchone()[0])
"""


def test_the_statement_timeout_applies_to_web_processes_only():
    import os
    import subprocess
    import sys

    from django.db import connection

    from tests.conftest import subprocess_database_url

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL setting (CI runs PostgreSQL)")

    def show(**extra):
        env = {k: v for k, v in os.environ.items() if k != "PORTAL_PROCESS"}
        env.update(DATABASE_URL=subprocess_database_url(), **extra)
        env["DJANGO_SETTINGS_MODULE"] = "portal.settings"
        out = subprocess.run(
            [sys.executable, "-c", SHOW_TIMEOUT], env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr[-2000:]
        return out.stdout.strip()

    assert show(PORTAL_PROCESS="web") == "5s"
    assert show() == "0"  # workers, beat, migrations: no statement timeout
