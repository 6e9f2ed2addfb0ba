"""Who is on call when: a rotation hands over every `shift_days` days at a local time in the
schedule's zone (spec "Team Structure": weekly, Mondays 09:00 local time), correct across
daylight-saving changes because each handoff is placed on the local calendar first and only
then turned into an instant. Overrides (someone covers a period for someone else) win over the
rotation; a period with nobody on call is a gap, returned as a shift without a person so that
pages can flag it."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONDAY = 0


@dataclass(frozen=True)
class Rotation:
    participants: Sequence[int]  # people, in turn order (their ids)
    start: date  # the first shift begins at the first handoff on or after this local date
    zone: ZoneInfo
    shift_days: int = 7
    handoff_weekday: int | None = MONDAY  # weekly shifts hand over on this day; None: any
    handoff_time: time = time(9)


@dataclass(frozen=True)
class Override:
    person: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Shift:
    person: int | None  # None: a gap, nobody on call
    starts_at: datetime
    ends_at: datetime
    override: bool = False


def first_handoff_date(rotation: Rotation) -> date:
    day = rotation.start
    if rotation.handoff_weekday is not None:
        day += timedelta(days=(rotation.handoff_weekday - day.weekday()) % 7)
    return day


def handoff_at(rotation: Rotation, day: date) -> datetime:
    """The instant of the handoff on a local date (a local time a DST change skips is read
    as the wall clock reads it, an hour later), in UTC."""
    return datetime.combine(day, rotation.handoff_time, tzinfo=rotation.zone).astimezone(UTC)


def shift_index(rotation: Rotation, at: datetime) -> int:
    """Which shift `at` falls in, counted from the first (negative: before the rotation)."""
    first = first_handoff_date(rotation)
    local = at.astimezone(rotation.zone)
    index = (local.date() - first).days // rotation.shift_days
    if at < handoff_at(rotation, first + timedelta(days=index * rotation.shift_days)):
        index -= 1
    return index


def rotation_shift(rotation: Rotation, index: int) -> Shift:
    first = first_handoff_date(rotation)
    starts = handoff_at(rotation, first + timedelta(days=index * rotation.shift_days))
    ends = handoff_at(rotation, first + timedelta(days=(index + 1) * rotation.shift_days))
    people = list(rotation.participants)
    person = people[index % len(people)] if people and index >= 0 else None
    return Shift(person, starts, ends)


def on_call_at(rotation: Rotation, at: datetime, overrides: Sequence[Override] = ()) -> int | None:
    for override in overrides:
        if override.starts_at <= at < override.ends_at:
            return override.person
    return rotation_shift(rotation, shift_index(rotation, at)).person


def shifts(
    rotation: Rotation, start: datetime, end: datetime, overrides: Sequence[Override] = ()
) -> list[Shift]:
    """The shifts covering [start, end), cut to it, overrides laid over the rotation, gaps
    included; consecutive pieces of one person's time are merged."""
    pieces: list[Shift] = []
    index = shift_index(rotation, start)
    while True:
        shift = rotation_shift(rotation, index)
        if shift.starts_at >= end:
            break
        pieces.append(shift)
        index += 1
    # Cut the rotation's shifts by the overrides, then add the overrides themselves.
    for override in sorted(overrides, key=lambda o: o.starts_at):
        cut: list[Shift] = []
        for piece in pieces:
            if (
                piece.override
                or override.ends_at <= piece.starts_at
                or override.starts_at >= piece.ends_at
            ):
                cut.append(piece)
                continue
            if piece.starts_at < override.starts_at:
                cut.append(Shift(piece.person, piece.starts_at, override.starts_at))
            if override.ends_at < piece.ends_at:
                cut.append(Shift(piece.person, override.ends_at, piece.ends_at))
        cut.append(Shift(override.person, override.starts_at, override.ends_at, override=True))
        pieces = sorted(cut, key=lambda s: s.starts_at)
    result: list[Shift] = []
    for piece in pieces:
        piece = Shift(
            piece.person, max(piece.starts_at, start), min(piece.ends_at, end), piece.override
        )
        if piece.starts_at >= piece.ends_at:
            continue
        previous = result[-1] if result else None
        if (
            previous is not None
            and previous.person == piece.person
            and previous.override == piece.override
            and previous.ends_at == piece.starts_at
        ):
            result[-1] = Shift(piece.person, previous.starts_at, piece.ends_at, piece.override)
        else:
            result.append(piece)
    return result


def gaps(found: Sequence[Shift]) -> list[Shift]:
    return [s for s in found if s.person is None]
