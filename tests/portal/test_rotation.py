"""Rotation math (issue 11): weekly handoffs on Monday 09:00 local time across DST changes in
two zones, overrides, and gaps. Pure functions: no database, any clock."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.oncall.rotation import Override, Rotation, gaps, on_call_at, shifts

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
A, B, C = 1, 2, 3


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "winter", "summer"),
    [
        # Berlin: UTC+1 in winter, UTC+2 from 2026-03-29.
        (BERLIN, utc(2026, 3, 23, 8), utc(2026, 3, 30, 7)),
        # New York: UTC-5 in winter, UTC-4 from 2026-03-08.
        (NEW_YORK, utc(2026, 3, 2, 14), utc(2026, 3, 9, 13)),
    ],
)
def test_weekly_handoff_stays_at_nine_local_across_the_spring_change(zone, winter, summer):
    rotation = Rotation([A, B, C], start=date(2026, 1, 5), zone=zone)
    found = shifts(rotation, winter - timedelta(days=1), summer + timedelta(days=1))
    handoffs = [s.starts_at for s in found[1:]]
    assert handoffs == [winter, summer]
    for moment in handoffs:
        assert moment.astimezone(zone).time() == time(9) and moment.weekday() == 0
    assert summer - winter == timedelta(days=7, hours=-1)  # the week is an hour short


def test_the_autumn_change_makes_the_week_an_hour_longer():
    rotation = Rotation([A, B], start=date(2026, 10, 19), zone=BERLIN)
    (first, second) = shifts(rotation, utc(2026, 10, 19, 7), utc(2026, 11, 2, 8))
    assert first.ends_at - first.starts_at == timedelta(days=7, hours=1)  # 25 October
    assert second.starts_at.astimezone(BERLIN).time() == time(9)


def test_turns_follow_the_order_and_change_exactly_at_the_handoff():
    rotation = Rotation([A, B, C], start=date(2026, 11, 2), zone=BERLIN)  # a Monday
    handoff = datetime(2026, 11, 9, 9, tzinfo=BERLIN)
    assert on_call_at(rotation, handoff - timedelta(seconds=1)) == A
    assert on_call_at(rotation, handoff) == B
    assert on_call_at(rotation, handoff + timedelta(days=7)) == C
    assert on_call_at(rotation, handoff + timedelta(days=14)) == A


def test_a_start_in_mid_week_begins_at_the_next_monday_and_before_it_is_a_gap():
    rotation = Rotation([A, B], start=date(2026, 11, 4), zone=NEW_YORK)  # a Wednesday
    first = datetime(2026, 11, 9, 9, tzinfo=NEW_YORK)
    assert on_call_at(rotation, first - timedelta(minutes=1)) is None
    found = shifts(rotation, first - timedelta(days=2), first + timedelta(days=1))
    assert [(s.person, s.starts_at) for s in found] == [
        (None, first - timedelta(days=2)),
        (A, first),
    ]
    assert len(gaps(found)) == 1


def test_daily_shifts_hand_over_every_day():
    rotation = Rotation([A, B], start=date(2026, 11, 4), zone=BERLIN, shift_days=1,
                        handoff_weekday=None, handoff_time=time(8))  # fmt: skip
    day = datetime(2026, 11, 4, 8, tzinfo=BERLIN)
    assert [on_call_at(rotation, day + timedelta(days=n)) for n in range(4)] == [A, B, A, B]


def test_an_override_covers_part_of_a_shift_and_the_rest_stays():
    rotation = Rotation([A, B], start=date(2026, 11, 2), zone=BERLIN)
    monday = datetime(2026, 11, 2, 9, tzinfo=BERLIN)
    cover = Override(C, monday + timedelta(days=2), monday + timedelta(days=3))
    assert on_call_at(rotation, monday + timedelta(days=2, hours=1), [cover]) == C
    assert on_call_at(rotation, monday + timedelta(days=3), [cover]) == A
    found = shifts(rotation, monday, monday + timedelta(days=7), [cover])
    assert [(s.person, s.override) for s in found] == [(A, False), (C, True), (A, False)]
    assert found[1].starts_at == cover.starts_at and found[2].ends_at == monday + timedelta(7)


def test_an_override_across_a_handoff_and_the_range_edges():
    rotation = Rotation([A, B], start=date(2026, 11, 2), zone=BERLIN)
    monday = datetime(2026, 11, 9, 9, tzinfo=BERLIN)
    cover = Override(C, monday - timedelta(hours=5), monday + timedelta(hours=5))
    found = shifts(rotation, monday - timedelta(hours=6), monday + timedelta(hours=6), [cover])
    assert [s.person for s in found] == [A, C, B]
    assert found[0].starts_at == monday - timedelta(hours=6)
    assert found[-1].ends_at == monday + timedelta(hours=6)


def test_nobody_in_the_rotation_is_one_long_gap():
    rotation = Rotation([], start=date(2026, 11, 2), zone=BERLIN)
    start = datetime(2026, 11, 3, tzinfo=BERLIN)
    found = shifts(rotation, start, start + timedelta(days=20))
    assert found == gaps(found) and len(found) == 1
    assert (found[0].starts_at, found[0].ends_at) == (start, start + timedelta(days=20))
