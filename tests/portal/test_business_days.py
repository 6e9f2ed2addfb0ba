"""Business days: weekends and the configured country's public holidays skipped, counted in
the organisation's zone, due at the end of the last business day."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from portal.business_days import calendar_error, end_of_business_days, is_business_day

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def local(zone, *args):
    return datetime(*args, tzinfo=zone)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        # Monday 10:00 -> the end of the next Monday.
        (local(NY, 2026, 9, 14, 10), 5, local(NY, 2026, 9, 22, 0)),
        # Friday afternoon -> the end of the next Friday.
        (local(NY, 2026, 9, 18, 16), 5, local(NY, 2026, 9, 26, 0)),
        # Saturday: counting starts on Monday.
        (local(NY, 2026, 9, 19, 12), 1, local(NY, 2026, 9, 22, 0)),
        # Columbus Day (Mon 12 Oct 2026) is a US federal holiday: Fri 9 + 1 -> Tue 13.
        (local(NY, 2026, 10, 9, 12), 1, local(NY, 2026, 10, 14, 0)),
        # Thanksgiving (Thu 26 Nov 2026) is skipped: Tue 24 + 5 -> Wed 2 Dec.
        (local(NY, 2026, 11, 24, 9), 5, local(NY, 2026, 12, 3, 0)),
        # Christmas (Fri 25 Dec) and the weekend: Wed 23 + 2 -> Mon 28.
        (local(NY, 2026, 12, 23, 9), 2, local(NY, 2026, 12, 29, 0)),
        # Across the autumn DST change (1 Nov 2026 in New York): still local midnight.
        (local(NY, 2026, 10, 30, 12), 1, local(NY, 2026, 11, 3, 0)),
    ],
)
def test_end_of_business_days_in_the_us(start, days, due):
    found = end_of_business_days(start, days, zone=NY, country="US")
    assert found == due and found.tzinfo == ZoneInfo("UTC")


def test_the_day_is_the_organisations_not_utcs():
    # 23:30 in New York on Friday is already Saturday in UTC: it still counts from Friday.
    start = local(NY, 2026, 9, 18, 23, 30)
    assert start.astimezone(UTC).weekday() == 5
    assert end_of_business_days(start, 1, zone=NY, country="US") == local(NY, 2026, 9, 22, 0)


def test_a_subdivisions_holidays_count():
    # Epiphany (6 Jan) is a holiday in Bavaria, not in Berlin.
    start = local(BERLIN, 2026, 1, 5, 12)
    bavaria = end_of_business_days(start, 1, zone=BERLIN, country="DE", subdivision="BY")
    berlin = end_of_business_days(start, 1, zone=BERLIN, country="DE", subdivision="BE")
    assert (bavaria, berlin) == (local(BERLIN, 2026, 1, 8, 0), local(BERLIN, 2026, 1, 7, 0))
    assert not is_business_day(datetime(2026, 1, 6).date(), country="DE", subdivision="BY")


def test_the_settings_are_the_default_and_a_bad_country_is_named(settings):
    settings.BUSINESS_DAYS_COUNTRY = "GB"
    settings.BUSINESS_DAYS_SUBDIVISION = "ENG"
    # 31 Aug 2026 is the August bank holiday in England, not a US holiday.
    assert not is_business_day(datetime(2026, 8, 31).date())
    assert is_business_day(datetime(2026, 8, 31).date(), country="US")
    assert calendar_error("GB") == ""
    assert "XX" in calendar_error("XX")
