"""Who a step pages (issue 11): the policy and route for a severity at a moment, and each
target resolved to people through schedules, the escalation matrix and the team roles. Pure
reads; the escalation service (services.py) decides what to do with the answer."""

import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model

from ..business_days import WorkingHours
from ..roles import MANAGER
from .models import (
    EscalationPolicy,
    EscalationRoute,
    MatrixEntry,
    OnCallRole,
    StepTarget,
    TargetKind,
    TeamRole,
    Window,
)
from .selectors import on_call, zone_of

# A matrix tier with no schedule falls back to the team role of the same rank.
TIER_ROLES = {
    1: TeamRole.PRIMARY_ONCALL,
    2: TeamRole.SECONDARY_ONCALL,
    3: TeamRole.ENGINEERING_MANAGER,
}
TIER_LABELS = {1: "First responder", 2: "Secondary escalation", 3: "Tertiary escalation"}
TIER_KINDS = {
    TargetKind.FIRST_RESPONDER: 1,
    TargetKind.SECOND_RESPONDER: 2,
    TargetKind.THIRD_RESPONDER: 3,
}


def working_hours(policy: EscalationPolicy) -> WorkingHours:
    return WorkingHours(
        zone_of(policy.time_zone),
        policy.working_start,
        policy.working_end,
        country=policy.holiday_country or None,
        subdivision=policy.holiday_subdivision or None,
    )


def default_policy() -> EscalationPolicy | None:
    return EscalationPolicy.objects.filter(is_default=True).first()


_hours: dict = {"at": None, "value": None}
HOURS_CACHE_SECONDS = 60.0


def business_hours() -> WorkingHours:
    """The default policy's working hours, read at most once a minute per process (every
    P3/P4 on a page asks for them); without a policy, 09:00-17:00 in TIME_ZONE."""
    now = time.monotonic()
    if _hours["at"] is not None and now - _hours["at"] < HOURS_CACHE_SECONDS:
        return _hours["value"]
    policy = default_policy()
    value = working_hours(policy) if policy else WorkingHours(ZoneInfo(settings.TIME_ZONE))
    _hours.update(at=now, value=value)
    return value


def forget_business_hours() -> None:
    _hours.update(at=None, value=None)


def window_at(policy: EscalationPolicy, at: datetime) -> str:
    return Window.WORKING if working_hours(policy).contains(at) else Window.AFTER_HOURS


def route_for(policy: EscalationPolicy | None, severity: str, at: datetime):
    """The route for this severity in the window `at` falls in, with its steps and targets."""
    if policy is None:
        return None
    return (
        EscalationRoute.objects.filter(
            policy=policy, severity=severity, window=window_at(policy, at)
        )
        .prefetch_related("steps__targets__schedule", "steps__targets__user")
        .first()
    )


@dataclass(frozen=True)
class Resolved:
    """One target of a step at a moment: a person, a bare destination (a team's queue), or
    nobody, with why (gap)."""

    label: str
    user: object = None
    destination: str = ""
    gap: str = ""

    @property
    def reaches_someone(self) -> bool:
        return self.user is not None or bool(self.destination)


def _matrix_entry(team, incident_type: str) -> MatrixEntry | None:
    """The incident type's row (security, data) overrides the owning team's."""
    if incident_type:
        entry = MatrixEntry.objects.filter(incident_type=incident_type).first()
        if entry is not None:
            return entry
    if team is not None:
        return MatrixEntry.objects.filter(team=team).first()
    return None


def _from_schedule(label: str, schedule, at: datetime) -> Resolved:
    person_id = on_call(schedule, at)
    if person_id is None:
        return Resolved(label, gap=f"Nobody is on call on {schedule.name}.")
    user = get_user_model().objects.filter(pk=person_id, is_active=True).first()
    if user is None:
        return Resolved(label, gap=f"The person on call on {schedule.name} is deactivated.")
    return Resolved(label, user=user)


def _from_role(role: str, at: datetime) -> Resolved:
    label = TeamRole(role).label
    holder = OnCallRole.objects.filter(role=role).select_related("schedule", "user").first()
    if holder is None:
        return Resolved(label, gap=f"Nobody holds the {label} role.")
    if holder.schedule is not None:
        return _from_schedule(f"{label} ({holder.schedule.name})", holder.schedule, at)
    if not holder.user.is_active:
        return Resolved(label, gap=f"The {label} is deactivated.")
    return Resolved(label, user=holder.user)


def resolve(target: StepTarget, *, team, incident_type: str, at: datetime) -> Resolved:
    kind = target.kind
    if kind in TIER_KINDS:
        tier = TIER_KINDS[kind]
        entry = _matrix_entry(team, incident_type)
        schedule = entry.tier(tier) if entry is not None else None
        if schedule is not None:
            return _from_schedule(f"{TIER_LABELS[tier]}: {schedule.name}", schedule, at)
        return _from_role(TIER_ROLES[tier], at)
    if kind == TargetKind.SCHEDULE:
        return _from_schedule(target.schedule.name, target.schedule, at)
    if kind == TargetKind.USER:
        user = target.user
        if not user.is_active:
            return Resolved(user.get_username(), gap=f"{user.get_username()} is deactivated.")
        return Resolved(user.get_full_name() or user.get_username(), user=user)
    if kind == TargetKind.ROLE:
        return _from_role(target.role, at)
    if team is None:
        return Resolved(TargetKind(kind).label, gap="The incident has no owning team.")
    if kind == TargetKind.TEAM_LEAD:
        if team.lead is None or not team.lead.is_active:
            return Resolved(f"{team.name} lead", gap=f"{team.name} has no team lead.")
        return Resolved(f"{team.name} lead", user=team.lead)
    if kind == TargetKind.TEAM_QUEUE:
        if not team.queue_email:
            return Resolved(f"{team.name} queue", gap=f"{team.name} has no queue mailbox.")
        return Resolved(f"{team.name} queue", destination=team.queue_email)
    raise ValueError(f"unknown target kind {kind!r}")


def managers() -> list:
    """The last resort when a whole escalation resolves to nobody: the Manager group."""
    return list(
        get_user_model()
        .objects.filter(groups__name=MANAGER, is_active=True)
        .order_by("pk")
        .distinct()
    )


def team_responder(team, at: datetime) -> Resolved:
    """Whom "page a team" reaches: the team's first responder in the escalation matrix, else
    whoever is on call on the team's own schedules, else its lead."""
    entry = MatrixEntry.objects.filter(team=team).select_related("first").first()
    if entry is not None and entry.first is not None:
        found = _from_schedule(f"{team.name}: {entry.first.name}", entry.first, at)
        if found.reaches_someone:
            return found
    for schedule in team.schedules.order_by("name"):
        found = _from_schedule(f"{team.name}: {schedule.name}", schedule, at)
        if found.reaches_someone:
            return found
    if team.lead is not None and team.lead.is_active:
        return Resolved(f"{team.name} lead", user=team.lead)
    return Resolved(team.name, gap=f"Nobody is on call for {team.name} and it has no lead.")
