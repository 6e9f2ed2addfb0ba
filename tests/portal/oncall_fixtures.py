"""Shared set-up for the paging tests: schedules for the spec's team roles, filled."""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from portal import roles
from portal.models import (
    ContactMethod,
    OnCallRole,
    OnCallSchedule,
    RotationMember,
    ScheduleRotation,
)

# A Monday in working hours (UTC is the tests' policy zone), and a Monday night.
WORKING = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
NIGHT = datetime(2026, 11, 23, 22, 0, tzinfo=UTC)


def schedule_with(name: str, *people, slug: str | None = None) -> OnCallSchedule:
    schedule, _ = OnCallSchedule.objects.get_or_create(
        slug=slug or name.lower().replace(" ", "-"), defaults={"name": name}
    )
    if people:
        rotation = ScheduleRotation.objects.create(
            schedule=schedule, name="Weekly", start=date(2026, 11, 2)
        )
        for position, person in enumerate(people):
            RotationMember.objects.create(rotation=rotation, user=person, position=position)
    return schedule


def verified(user, kind: str, address: str) -> ContactMethod:
    return ContactMethod.objects.create(user=user, kind=kind, address=address, verified_at=WORKING)


@dataclass
class OnCall:
    primary: object
    secondary: object
    escalation_manager: object
    primary_schedule: OnCallSchedule
    secondary_schedule: OnCallSchedule


def on_call_team(make_user) -> OnCall:
    pia = make_user("pia", roles.RESPONDER)
    sam = make_user("sam", roles.RESPONDER)
    max_ = make_user("max", roles.MANAGER)
    primary = schedule_with("Primary", pia)
    secondary = schedule_with("Secondary", sam)
    OnCallRole.objects.create(role="primary_oncall", schedule=primary)
    OnCallRole.objects.create(role="secondary_oncall", schedule=secondary)
    schedule_with("Escalation managers", max_, slug="escalation-managers")
    return OnCall(pia, sam, max_, primary, secondary)
