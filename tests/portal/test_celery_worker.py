"""Integration: a real Celery worker (and beat) process, through the configured broker (Redis
in CI, the filesystem broker on a laptop), against the test database."""

import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from incidents.models import TimelineEvent
from portal.models import Timer
from portal.tasks import sweep_timers
from tests.conftest import subprocess_database_url
from tests.portal.conftest import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]


class CeleryProcesses:
    """Starts `celery worker` / `celery beat` subprocesses on a queue of their own, against
    the test database; stops them at the end of the test."""

    def __init__(self, tmp_path):
        self.queue = f"timers-test-{uuid.uuid4().hex[:8]}"
        self.log_path = tmp_path / "celery.log"
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "DATABASE_URL": subprocess_database_url(),
            "CELERY_TIMERS_QUEUE": self.queue,
            "TIMER_SWEEP_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        self.procs: list[subprocess.Popen] = []

    def _start(self, *args: str) -> None:
        with open(self.log_path, "a") as log:
            self.procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "celery", "-A", "portal", *args],
                    cwd=ROOT,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    def worker(self, extra_queues: list[str] | None = None) -> None:
        queues = ",".join([self.queue, *(extra_queues or [])])
        self._start(
            "worker", "--pool=solo", "--concurrency=1", f"--queues={queues}",
            "--loglevel=INFO", f"--hostname=test-{self.queue}@%h",
        )  # fmt: skip

    def beat(self) -> None:
        self._start("beat", "--loglevel=INFO", f"--schedule={self.tmp_path / 'beat-schedule'}")

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def celery(tmp_path):
    processes = CeleryProcesses(tmp_path)
    yield processes
    processes.stop()


def _breach_events(incident):
    return TimelineEvent.objects.filter(incident=incident, kind="response_breached").count()


def test_real_worker_runs_the_sweep_task(declare, celery):
    incident = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    timer = Timer.objects.get(object_id=incident.pk, kind="incidents.response_breach")
    assert timer.due_at < timezone.now()

    celery.worker()
    sweep_timers.apply_async(queue=celery.queue)
    fired = wait_for(lambda: _breach_events(incident) == 1)
    assert fired, "the worker did not fire the timer:\n" + celery.log()[-3000:]
    timer.refresh_from_db()
    assert timer.state == Timer.State.FIRED
    # The worker really went through the configured broker: Redis in CI.
    transport = re.search(r"transport:\s+(\S+)", celery.log())
    assert transport, celery.log()[:2000]
    expected = "redis://" if os.environ.get("REDIS_URL") else "filesystem://"
    assert transport.group(1).startswith(expected), transport.group(1)
    # A second sweep through the worker finds nothing due and doubles nothing.
    sweep_timers.apply_async(queue=celery.queue)
    assert wait_for(lambda: celery.log().count("succeeded") >= 2), celery.log()[-3000:]
    assert _breach_events(incident) == 1


def test_beat_schedules_the_sweep_without_anyone_asking(declare, celery):
    incident = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    celery.worker()
    celery.beat()
    fired = wait_for(lambda: _breach_events(incident) == 1)
    assert fired, "beat + worker did not fire the timer:\n" + celery.log()[-3000:]
    celery.stop()
    assert _breach_events(incident) == 1
