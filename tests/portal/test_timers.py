from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import TimelineEvent
from portal import timers
from portal.models import SweepStatus, Timer
from tests.conftest import race

CALLS: list[int] = []


@timers.register("tests.record")
def _record(timer, now):
    CALLS.append(timer.object_id)


@timers.register("tests.explode")
def _explode(timer, now):
    raise RuntimeError("provider down")


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def test_schedule_moves_the_pending_timer_instead_of_adding_one(db):
    now = timezone.now()
    timers.schedule("tests.record", 7, now + timedelta(minutes=5))
    timers.schedule("tests.record", 7, now + timedelta(minutes=1))
    timer = Timer.objects.get(kind="tests.record", object_id=7)
    assert timer.due_at == now + timedelta(minutes=1)


def test_schedule_unknown_kind_is_a_programming_error(db):
    with pytest.raises(KeyError):
        timers.schedule("nobody.handles.this", 1, timezone.now())


def test_sweep_fires_only_due_timers_once(db):
    now = timezone.now()
    timers.schedule("tests.record", 1, now - timedelta(seconds=1))
    timers.schedule("tests.record", 2, now + timedelta(minutes=1))
    assert timers.sweep(now)["fired"] == 1
    assert timers.sweep(now)["fired"] == 0
    assert CALLS == [1]
    assert Timer.objects.get(kind__startswith="tests.", object_id=1).state == Timer.State.FIRED
    assert Timer.objects.get(kind__startswith="tests.", object_id=2).state == Timer.State.PENDING
    status = SweepStatus.objects.get()
    assert status.total_fired == 1 and status.last_finished_at is not None


def test_cancelled_timer_never_fires(db):
    now = timezone.now()
    timers.schedule("tests.record", 3, now - timedelta(seconds=1))
    timers.cancel("tests.record", 3)
    assert timers.sweep(now)["fired"] == 0
    assert CALLS == []


def test_failing_handler_rolls_back_and_retries_with_backoff(db):
    now = timezone.now()
    timers.schedule("tests.explode", 4, now - timedelta(seconds=1))
    assert timers.sweep(now)["retry"] == 1
    timer = Timer.objects.get(kind__startswith="tests.", object_id=4)
    assert timer.state == Timer.State.PENDING
    assert timer.attempts == 1
    assert "provider down" in timer.last_error
    assert timer.due_at == now + timedelta(seconds=15)
    # Not due again until the backoff has passed.
    assert timers.sweep(now)["retry"] == 0
    later = now + timedelta(seconds=16)
    assert timers.sweep(later)["retry"] == 1
    timer.refresh_from_db()
    assert timer.attempts == 2 and timer.due_at == later + timedelta(seconds=30)


def test_handler_gives_up_after_max_attempts(db):
    now = timezone.now()
    timers.schedule("tests.explode", 5, now)
    Timer.objects.filter(object_id=5).update(attempts=timers.MAX_ATTEMPTS - 1)
    assert timers.sweep(now)["failed"] == 1
    assert Timer.objects.get(kind__startswith="tests.", object_id=5).state == Timer.State.FAILED


def test_handler_failure_leaves_no_partial_writes(declare, monkeypatch):
    """The handler's writes and the claim are one transaction: a crash mid-handler leaves
    the timer pending and nothing half-written, so the next sweep does it all once."""
    from incidents import services, timeline

    incident = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    original = timeline.response_breached

    def write_then_crash(inc):
        original(inc)
        raise ConnectionError("worker lost")

    monkeypatch.setattr(timeline, "response_breached", write_then_crash)
    assert timers.sweep()["retry"] == 1
    assert not TimelineEvent.objects.filter(kind="response_breached").exists()
    timer = Timer.objects.get(kind=services.RESPONSE_TIMER, object_id=incident.pk)
    assert timer.state == Timer.State.PENDING

    monkeypatch.setattr(timeline, "response_breached", original)
    assert timers.sweep(timezone.now() + timedelta(minutes=1))["fired"] == 1
    assert TimelineEvent.objects.filter(kind="response_breached").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_fire_each_timer_exactly_once():
    now = timezone.now()
    for i in range(40):
        Timer.objects.create(kind="tests.record", object_id=100 + i, due_at=now)
    results = race(lambda: timers.sweep(now), lambda: timers.sweep(now))
    assert sum(r["fired"] for r in results) == 40
    assert sorted(CALLS) == list(range(100, 140))
    assert Timer.objects.filter(state=Timer.State.FIRED).count() == 40
