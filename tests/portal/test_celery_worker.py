"""Integration: a real Celery worker (and beat) process, through the configured broker (Redis
in CI, the filesystem broker on a laptop), against the test database."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from incidents.models import TimelineEvent
from portal.models import Timer
from portal.tasks import sweep_timers

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def celery_env():
    queue = f"timers-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TIMERS_QUEUE": queue,
        "TIMER_SWEEP_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    return env, queue


def _start(args, env, log):
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "portal", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(*procs):
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for(predicate, timeout=45.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def _breach_events(incident):
    return TimelineEvent.objects.filter(incident=incident, kind="response_breached").count()


def test_broker_is_redis_when_redis_url_is_set():
    if os.environ.get("REDIS_URL"):
        assert settings.CELERY_BROKER_URL.startswith("redis://")
    else:
        assert settings.CELERY_BROKER_URL == "filesystem://"


def test_real_worker_runs_the_sweep_task(declare, celery_env, tmp_path):
    env, queue = celery_env
    incident = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    timer = Timer.objects.get(object_id=incident.pk)
    assert timer.due_at < timezone.now()

    log = open(tmp_path / "worker.log", "w+")
    worker = _start(
        ["worker", "--pool=solo", "--concurrency=1", f"--queues={queue}", "--loglevel=INFO",
         f"--hostname=test-{queue}@%h"],
        env,
        log,
    )  # fmt: skip
    try:
        sweep_timers.apply_async(queue=queue)
        fired = _wait_for(lambda: _breach_events(incident) == 1)
        log.seek(0)
        assert fired, "the worker did not fire the timer:\n" + log.read()[-3000:]
        timer.refresh_from_db()
        assert timer.state == Timer.State.FIRED
        # A second sweep through the worker finds nothing due and doubles nothing.
        sweep_timers.apply_async(queue=queue)
        log_path = Path(log.name)
        assert _wait_for(lambda: log_path.read_text().count("succeeded") >= 2)
    finally:
        _stop(worker)
    assert _breach_events(incident) == 1


def test_beat_schedules_the_sweep_without_anyone_asking(declare, celery_env, tmp_path):
    env, queue = celery_env
    incident = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    log = open(tmp_path / "celery.log", "w+")
    worker = _start(
        ["worker", "--pool=solo", "--concurrency=1", f"--queues={queue}", "--loglevel=INFO",
         f"--hostname=test-{queue}@%h"],
        env,
        log,
    )  # fmt: skip
    beat = _start(
        ["beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"], env, log
    )
    try:
        fired = _wait_for(lambda: _breach_events(incident) == 1)
        log.seek(0)
        assert fired, "beat + worker did not fire the timer:\n" + log.read()[-3000:]
    finally:
        _stop(beat, worker)
    assert _breach_events(incident) == 1
