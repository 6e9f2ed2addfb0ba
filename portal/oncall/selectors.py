"""Who is on call on a schedule, from its rows (the math is rotation.py)."""

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .models import OnCallRole, OnCallSchedule, TeamRole
from .rotation import Override, Rotation, Shift, on_call_at, shifts

log = logging.getLogger(__name__)


def zone_of(name: str) -> ZoneInfo:
    """A stored zone name; one that is not (any more) a zone reads as UTC rather than
    breaking every page and every page out (DESIGN.md decision 10)."""
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, zoneinfo.ZoneInfoNotFoundError):
        log.error("unknown time zone %r; using UTC", name)
        return ZoneInfo("UTC")


def rotations_of(schedule: OnCallSchedule) -> list[Rotation]:
    """The schedule's rotations as rotation.Rotation values, lowest layer first."""
    zone = zone_of(schedule.time_zone)
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


def schedule_shifts(schedule: OnCallSchedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call on the schedule over [start, end): the layers combined (an override
    first, then the highest layer with someone), consecutive time of one person merged, gaps
    as shifts with nobody."""
    layers = [shifts(rotation, start, end) for rotation in rotations_of(schedule)]
    overrides = [
        Override(o.user_id, max(o.starts_at, start), min(o.ends_at, end))
        for o in schedule.overrides.filter(starts_at__lt=end, ends_at__gt=start)
    ]
    cuts = {start, end}
    for layer in layers:
        for shift in layer:
            cuts.update((shift.starts_at, shift.ends_at))
    for override in overrides:
        cuts.update((override.starts_at, override.ends_at))
    points = sorted(c for c in cuts if start <= c <= end)
    result: list[Shift] = []
    for begin, finish in zip(points, points[1:], strict=False):
        person, covered = None, False
        for override in overrides:
            if override.starts_at <= begin < override.ends_at:
                person, covered = override.person, True
                break
        if not covered:
            for layer in reversed(layers):
                found = next(
                    (s.person for s in layer if s.starts_at <= begin < s.ends_at and s.person),
                    None,
                )
                if found is not None:
                    person = found
                    break
        previous = result[-1] if result else None
        if previous and previous.person == person and previous.override == covered:
            result[-1] = Shift(person, previous.starts_at, finish, covered)
        else:
            result.append(Shift(person, begin, finish, covered))
    return result


@dataclass(frozen=True)
class ScheduleNow:
    schedule: OnCallSchedule
    now: Shift | None
    next: Shift | None
    gaps: list[Shift]
    zone: str  # the schedule's zone, or UTC when the stored one is not a zone


def overview(at: datetime, days: int = 14) -> list[ScheduleNow]:
    """Every schedule: who is on call now, who is next and from when, and the gaps over the
    coming `days`."""
    found = []
    for schedule in OnCallSchedule.objects.select_related("team").prefetch_related(
        "rotations__members"
    ):
        coming = schedule_shifts(schedule, at, at + timedelta(days=days))
        found.append(
            ScheduleNow(
                schedule,
                coming[0] if coming else None,
                coming[1] if len(coming) > 1 else None,
                [s for s in coming if s.person is None],
                zone_of(schedule.time_zone).key,
            )
        )
    return found


def role_holders(at: datetime) -> list[tuple[str, object, str]]:
    """The spec's team roles: (role, person id or None, where from)."""
    held = {r.role: r for r in OnCallRole.objects.select_related("schedule", "user")}
    rows = []
    for role in TeamRole:
        holder = held.get(role.value)
        if holder is None:
            rows.append((role.label, None, "not assigned"))
        elif holder.schedule is not None:
            rows.append((role.label, on_call(holder.schedule, at), holder.schedule.name))
        else:
            rows.append((role.label, holder.user_id, "named person"))
    return rows


def escalations_for(topic: str, limit: int = 5) -> list:
    """The latest escalations of a subject (an incident), with their pages."""
    from django.db.models import Prefetch

    from .models import Escalation, Page

    return list(
        Escalation.objects.filter(topic=topic)
        .select_related("acknowledged_by__profile", "started_by__profile", "route")
        .prefetch_related(Prefetch("pages", queryset=Page.objects.select_related("user__profile")))
        .order_by("-started_at", "-id")[:limit]
    )


def page_targets() -> dict:
    """Whom "page someone" offers: teams, schedules."""
    from ..models import Team

    return {
        "teams": list(Team.objects.order_by("name")),
        "schedules": list(OnCallSchedule.objects.order_by("name")),
    }
