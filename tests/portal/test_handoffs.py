"""Handoff reminders (issue 11): the incoming person is told before their shift, once."""

from datetime import UTC, date, datetime, timedelta

import pytest

from portal.models import (
    Notification,
    OnCallSchedule,
    RotationMember,
    ScheduleOverride,
    ScheduleRotation,
)
from portal.oncall import handoffs

pytestmark = pytest.mark.django_db
# Monday 30 November 2026, 09:00 in Berlin is 08:00 UTC.
HANDOFF = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


@pytest.fixture
def weekly(make_user):
    ana, ben = make_user("ana"), make_user("ben")
    schedule = OnCallSchedule.objects.create(
        name="Primary", slug="primary", time_zone="Europe/Berlin"
    )
    rotation = ScheduleRotation.objects.create(
        schedule=schedule, name="Weekly", start=date(2026, 11, 23)
    )
    for position, person in enumerate((ana, ben)):
        RotationMember.objects.create(rotation=rotation, user=person, position=position)
    return schedule, ana, ben


def test_the_incoming_person_is_reminded_an_hour_before_once(weekly):
    schedule, ana, ben = weekly
    assert handoffs.remind(HANDOFF - timedelta(minutes=61)) == 0
    assert handoffs.remind(HANDOFF - timedelta(minutes=59)) == 2  # inbox and email
    assert handoffs.remind(HANDOFF - timedelta(minutes=30)) == 0  # already told
    notice = Notification.objects.get(reason="handoff", channel="portal")
    assert notice.recipient == ben
    assert notice.subject == "You are on call on Primary from Mon 30 Nov 09:00 CET"
    assert notice.url == "/oncall/schedules/primary/"
    assert not Notification.objects.filter(reason="handoff", recipient=ana).exists()


def test_someone_taking_a_cover_is_reminded_too(weekly, make_user):
    schedule, _, _ = weekly
    cy = make_user("cy")
    start = HANDOFF + timedelta(days=2)
    ScheduleOverride.objects.create(
        schedule=schedule, user=cy, starts_at=start, ends_at=start + timedelta(hours=8)
    )
    handoffs.remind(start - timedelta(minutes=10))
    assert Notification.objects.get(reason="handoff", channel="portal").recipient == cy
