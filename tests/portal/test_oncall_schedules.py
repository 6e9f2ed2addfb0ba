"""On-call schedules as rows: who is on call from rotations, layers and overrides."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError

from portal.models import OnCallSchedule, RotationMember, ScheduleOverride, ScheduleRotation
from portal.oncall.selectors import on_call

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def people(make_user):
    return [make_user(name) for name in ("ana", "ben", "cem")]


def rotation(schedule, people, *, layer=1, start=date(2026, 11, 2), **kw):
    row = ScheduleRotation.objects.create(
        schedule=schedule, name=f"Layer {layer}", layer=layer, start=start, **kw
    )
    for position, person in enumerate(people):
        RotationMember.objects.create(rotation=row, user=person, position=position)
    return row


@pytest.fixture
def primary(people):
    schedule = OnCallSchedule.objects.create(
        name="Primary On-call", slug="primary", time_zone="Europe/Berlin"
    )
    rotation(schedule, people)
    return schedule


def test_the_rotation_hands_over_on_monday_at_nine_in_the_schedules_zone(primary, people):
    ana, ben, _ = people
    monday = datetime(2026, 11, 9, 9, tzinfo=BERLIN)
    assert on_call(primary, monday - timedelta(seconds=1)) == ana.pk
    assert on_call(primary, monday) == ben.pk


def test_an_override_wins_over_the_rotation(primary, people):
    ana, _, cem = people
    monday = datetime(2026, 11, 2, 9, tzinfo=BERLIN)
    ScheduleOverride.objects.create(
        schedule=primary, user=cem, starts_at=monday + timedelta(days=1),
        ends_at=monday + timedelta(days=2), reason="Ana at a conference",
    )  # fmt: skip
    assert on_call(primary, monday + timedelta(days=1, hours=3)) == cem.pk
    assert on_call(primary, monday + timedelta(days=2)) == ana.pk


def test_a_higher_layer_wins_where_it_has_someone(primary, people):
    _, ben, cem = people
    # A second layer, Cem alone from Saturday on, wins over the first where it has someone.
    rotation(primary, [cem], layer=2, start=date(2026, 11, 7), shift_days=2,
             handoff_weekday=5, handoff_time=time(9))  # fmt: skip
    saturday = datetime(2026, 11, 7, 10, tzinfo=BERLIN)
    assert on_call(primary, saturday) == cem.pk


def test_an_empty_schedule_is_a_gap(people):
    schedule = OnCallSchedule.objects.create(name="Security Lead", slug="security")
    assert on_call(schedule, datetime(2026, 11, 9, 12, tzinfo=BERLIN)) is None


def test_an_override_must_end_after_it_starts(primary, people):
    at = datetime(2026, 11, 9, 12, tzinfo=BERLIN)
    with pytest.raises(IntegrityError):
        ScheduleOverride.objects.create(schedule=primary, user=people[0], starts_at=at, ends_at=at)
