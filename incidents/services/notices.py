"""The outbox notices that go with incident changes: who hears of what, in which words. The
services decide when; this module decides to whom."""

import zoneinfo
from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils import timezone

from portal import notifications

from .. import authority, timeline
from ..models import Incident, ResponseRole, RoleAssignment


def notify(incident: Incident, **kwargs):
    """An outbox notice about this incident: linked to it, and listed on its page if it fails."""
    return notifications.notify(
        url=incident.get_absolute_url(), topic=f"incident:{incident.pk}", **kwargs
    )


def holders(incident: Incident, *role_names: str) -> dict:
    """role -> the person holding it now, for the given roles (one query)."""
    return {
        a.role: a.user
        for a in RoleAssignment.objects.filter(
            incident=incident, released_at__isnull=True, role__in=role_names
        ).select_related("user")
    }


def communicator(incident: Incident):
    """The Communications Coordinator, or the Incident Commander when there is none."""
    found = holders(incident, ResponseRole.COMMUNICATIONS, ResponseRole.COMMANDER)
    return found.get(ResponseRole.COMMUNICATIONS) or found.get(ResponseRole.COMMANDER)


def managers():
    """The Managers as the authority table knows them: whoever may command any incident (the
    Manager and Admin groups, or the permission given by hand)."""
    return (
        get_user_model()
        .objects.with_perm(
            authority.MANAGER_PERM,
            include_superusers=False,
            backend="django.contrib.auth.backends.ModelBackend",
        )
        .filter(is_active=True)
    )


def local_time(user, when: datetime) -> str:
    profile = getattr(user, "profile", None)
    try:
        zone = zoneinfo.ZoneInfo(profile.time_zone) if profile else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = None
    return timezone.localtime(when, zone).strftime("%Y-%m-%d %H:%M %Z")


def role_given(incident: Incident, *, user, label: str, actor, key: str, now) -> None:
    """Tell a person they were given a response role (not when they took it themselves)."""
    if user is None or user == actor:
        return
    notify(
        incident,
        key=f"role:{key}",
        reason="role_assigned",
        recipients=[user],
        subject=f"{incident.reference}: you are now {label}",
        body=f"{timeline.display_name(actor)} made you {label} of {incident.reference} "
        f"({incident.severity}, {incident.get_status_display()}): {incident.title}",
        now=now,
    )


def response_breached(incident: Incident, *, now) -> None:
    """The response time ran out with nobody acknowledging: the Manager group hears of it, and
    the Incident Commander, or the declarer when there is no commander. The key holds the
    severity: once per incident and severity."""
    lead = authority.commander_of(incident) or incident.declared_by
    notify(
        incident,
        key=f"breach:{incident.pk}:{incident.severity}",
        reason="response_breach",
        recipients=[*managers(), lead],
        subject=f"Response time breached: {incident.reference} ({incident.severity})",
        body=f"{incident.reference} {incident.title}\nNobody acknowledged it within "
        f"{incident.severity_level.response_time_display} of detection.",
        now=now,
    )


def escalated(incident: Incident, *, kind: str, label: str, now) -> None:
    notify(
        incident,
        key=f"escalation:{incident.pk}:{kind}",
        reason="escalation",
        recipients=managers(),
        subject=f"Escalation: {incident.reference} ({incident.severity}) - {label}",
        body=f"{incident.reference} {incident.title}\nTrigger: {label}\nStatus: "
        f"{incident.get_status_display()}",
        now=now,
    )
