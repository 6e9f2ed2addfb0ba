"""Uptime over crafted status histories (issue 9): whole days, outages across midnight, DST
days of 23 and 25 hours, partial outages weighted, maintenance not counted, today only up to
now, and the day's worst status."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from incidents.statuspage.uptime import days, overall

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def at(day: str, hm: str, zone=BERLIN) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=zone)


def one(changes, day: str, *, before="operational", zone=BERLIN, now=None):
    d = date.fromisoformat(day)
    now = now or at("2027-01-01", "00:00", zone)
    return days(changes, status_before=before, first=d, last=d, zone=zone, now=now)[0]


def test_an_operational_day_is_100_percent_and_green():
    d = one([], "2026-11-10")
    assert (d.length, d.uptime, d.worst) == (86400, 100.0, "operational")


def test_an_hour_of_major_outage():
    d = one(
        [(at("2026-11-10", "10:00"), "major_outage"), (at("2026-11-10", "11:00"), "operational")],
        "2026-11-10",
    )
    assert d.seconds == {"operational": 82800, "major_outage": 3600}
    assert d.uptime == pytest.approx(100 * (1 - 3600 / 86400), abs=1e-3)
    assert d.worst == "major_outage"


def test_an_outage_across_midnight_counts_on_both_days():
    changes = [
        (at("2026-11-10", "23:00"), "major_outage"),
        (at("2026-11-11", "01:30"), "operational"),
    ]
    first, second = days(
        changes, status_before="operational", first=date(2026, 11, 10), last=date(2026, 11, 11),
        zone=BERLIN, now=at("2027-01-01", "00:00"),
    )  # fmt: skip
    assert first.seconds["major_outage"] == 3600 and second.seconds["major_outage"] == 5400
    assert (first.worst, second.worst) == ("major_outage", "major_outage")


@pytest.mark.parametrize(("day", "hours"), [("2026-03-29", 23), ("2026-10-25", 25)])
def test_dst_days_have_their_own_length(day, hours):
    changes = [(at(day, "12:00"), "major_outage"), (at(day, "13:00"), "operational")]
    d = one(changes, day)
    assert d.length == hours * 3600
    assert d.uptime == pytest.approx(100 * (1 - 3600 / (hours * 3600)), abs=1e-3)


def test_the_same_instant_is_one_day_in_utc_and_another_in_berlin():
    # 23:30 UTC on the 10th is 00:30 on the 11th in Berlin.
    changes = [(datetime(2026, 11, 10, 23, 30, tzinfo=UTC), "major_outage")]
    now = datetime(2026, 11, 11, 1, 30, tzinfo=UTC)
    utc_day = one(changes, "2026-11-10", zone=UTC, now=now)
    berlin_day = one(changes, "2026-11-10", zone=BERLIN, now=now)
    assert utc_day.seconds["major_outage"] == 1800 and "major_outage" not in berlin_day.seconds


def test_partial_outage_counts_30_percent_and_degraded_none():
    changes = [
        (at("2026-11-10", "08:00"), "partial_outage"),
        (at("2026-11-10", "12:00"), "degraded_performance"),
        (at("2026-11-10", "16:00"), "operational"),
    ]
    d = one(changes, "2026-11-10")
    assert d.uptime == pytest.approx(100 * (1 - 0.3 * 4 * 3600 / 86400), abs=1e-3)
    assert d.worst == "partial_outage"


def test_maintenance_is_not_counted():
    changes = [
        (at("2026-11-10", "02:00"), "under_maintenance"),
        (at("2026-11-10", "04:00"), "operational"),
    ]
    d = one(changes, "2026-11-10")
    assert d.uptime == 100.0 and d.worst == "under_maintenance"
    changes.append((at("2026-11-10", "05:00"), "major_outage"))
    changes.append((at("2026-11-10", "06:00"), "operational"))
    d = one(changes, "2026-11-10")
    assert d.uptime == pytest.approx(100 * (1 - 3600 / (86400 - 7200)), abs=1e-3)


def test_today_counts_only_up_to_now_and_future_days_nothing():
    now = at("2026-11-10", "06:00")
    changes = [(at("2026-11-10", "05:00"), "major_outage")]
    today, tomorrow = days(
        changes, status_before="operational", first=date(2026, 11, 10), last=date(2026, 11, 11),
        zone=BERLIN, now=now,
    )  # fmt: skip
    assert today.length == 6 * 3600 and today.seconds == {
        "operational": 18000,
        "major_outage": 3600,
    }
    assert (tomorrow.length, tomorrow.uptime) == (0, 100.0)


def test_a_status_set_before_the_window_carries_in():
    d = one([], "2026-11-10", before="major_outage")
    assert d.uptime == 0.0 and d.worst == "major_outage"
    earlier = [(at("2026-11-01", "00:00"), "partial_outage")]
    assert one(earlier, "2026-11-10").seconds == {"partial_outage": 86400}


def test_overall_uptime_is_the_formula_over_the_summed_days():
    changes = [
        (at("2026-11-10", "00:00"), "major_outage"),
        (at("2026-11-10", "12:00"), "operational"),
    ]
    window = days(
        changes, status_before="operational", first=date(2026, 11, 9), last=date(2026, 11, 12),
        zone=BERLIN, now=at("2027-01-01", "00:00"),
    )  # fmt: skip
    assert overall(window) == pytest.approx(100 * (1 - 43200 / (4 * 86400)), abs=1e-3)
    assert [d.worst for d in window] == [
        "operational",
        "major_outage",
        "operational",
        "operational",
    ]
    assert window[1].day + timedelta(days=1) == window[2].day
