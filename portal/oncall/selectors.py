"""Who is on call on a schedule, from its rows (the math is rotation.py)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from .models import OnCallSchedule
from .rotation import Override, Rotation, on_call_at


def rotations_of(schedule: OnCallSchedule) -> list[Rotation]:
    """The schedule's rotations as rotation.Rotation values, lowest layer first."""
    zone = ZoneInfo(schedule.time_zone)
    return [
        Rotation(
            participants=[m.user_id for m in r.members.all()],
            start=r.start,
            zone=zone,
            shift_days=r.shift_days,
            handoff_weekday=r.handoff_weekday,
            handoff_time=r.handoff_time,
        )
        for r in schedule.rotations.prefetch_related("members").order_by("layer", "id")
    ]


def on_call(schedule: OnCallSchedule, at: datetime) -> int | None:
    """The person on call at `at` (their id): an override first, then the highest layer that
    has someone; None is a gap."""
    overrides = [
        Override(o.user_id, o.starts_at, o.ends_at)
        for o in schedule.overrides.filter(starts_at__lte=at, ends_at__gt=at)
    ]
    if overrides:
        return overrides[0].person
    for rotation in reversed(rotations_of(schedule)):
        person = on_call_at(rotation, at)
        if person is not None:
            return person
    return None
