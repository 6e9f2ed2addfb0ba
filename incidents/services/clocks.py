"""The incident's clocks, kept as durable timers (DESIGN.md decision 3): the status-update
reminders and the escalation triggers of the spec ("Escalation Triggers"), and the notices
that go with them. The scheduling helpers are called from the services inside their
transactions; the system actions (update_reminder_send, escalation_fire_on_time) are services
of their own, atomic and with actor=None, run by the timer handlers in incidents/timers.py and
safe to call from a shell or a task."""

import logging
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from portal import notifications, roles, timers

from .. import timeline
from ..models import ACTIVE_STATUSES, EscalationTrigger, Incident, ResponseRole, RoleAssignment

UPDATE_SOON = "incidents.update_due_soon"
UPDATE_OVERDUE = "incidents.update_overdue"
ESCALATE_UNRESOLVED = "incidents.escalate_unresolved"
ESCALATE_ROOT_CAUSE = "incidents.escalate_root_cause"
REMIND_BEFORE = timedelta(minutes=5)

# The spec's "Escalation Triggers", as data.
# Which severities escalate when unresolved is in the severity table (severity.py).
UNRESOLVED_AFTER = timedelta(minutes=30)
PRIVACY_TYPES = ("security",)  # a security incident always escalates
PRIVACY_SUBTYPES = ("data.data_exposure", "security.exfiltration")

Trigger = EscalationTrigger.Kind
log = logging.getLogger(__name__)


def root_cause_window() -> timedelta:
    return timedelta(minutes=settings.ESCALATION_ROOT_CAUSE_MINUTES)


# --- status-update reminders ------------------------------------------------------------


def schedule_update_reminders(incident: Incident) -> None:
    """(Re)arm the two reminders for incident.next_update_due_at, or stop them."""
    due = incident.next_update_due_at
    if due is None or incident.status not in ACTIVE_STATUSES:
        timers.cancel(UPDATE_SOON, incident.pk)
        timers.cancel(UPDATE_OVERDUE, incident.pk)
        return
    timers.schedule(UPDATE_SOON, incident.pk, due - REMIND_BEFORE)
    timers.schedule(UPDATE_OVERDUE, incident.pk, due)


def _notify(incident: Incident, **kwargs):
    """An outbox notice about this incident: linked to it, and listed on its page if it fails."""
    return notifications.notify(
        url=incident.get_absolute_url(), topic=f"incident:{incident.pk}", **kwargs
    )


def _holders(incident: Incident, *roles: str) -> dict:
    """role -> the person holding it now, for the given roles (one query)."""
    return {
        a.role: a.user
        for a in RoleAssignment.objects.filter(
            incident=incident, released_at__isnull=True, role__in=roles
        ).select_related("user")
    }


def _communicator(incident: Incident):
    """The Communications Coordinator, or the Incident Commander when there is none."""
    holders = _holders(incident, ResponseRole.COMMUNICATIONS, ResponseRole.COMMANDER)
    return holders.get(ResponseRole.COMMUNICATIONS) or holders.get(ResponseRole.COMMANDER)


def lock_for_timer(incident_id: int) -> Incident | None:
    """Timer handlers take the incident row first, like the services do, and without waiting:
    the sweep already holds the timer row, and a service holding the incident may be about to
    update that timer. If the incident is busy, the timer stays due for the next sweep
    (timers.Busy: no attempt used, no back-off) instead of deadlocking with the person at the
    keyboard."""
    try:
        with transaction.atomic():
            return Incident.objects.select_for_update(nowait=True).filter(pk=incident_id).first()
    except DatabaseError as error:  # PostgreSQL: "could not obtain lock on row"
        raise timers.Busy(f"incident {incident_id} is locked") from error


def _local(user, when: datetime) -> str:
    profile = getattr(user, "profile", None)
    try:
        zone = zoneinfo.ZoneInfo(profile.time_zone) if profile else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = None
    return timezone.localtime(when, zone).strftime("%Y-%m-%d %H:%M %Z")


@transaction.atomic
def update_reminder_send(
    *, incident_id: int, overdue: bool, actor=None, now: datetime | None = None
) -> bool:
    """System action: remind whoever communicates that an update is due soon / overdue.
    The notification key holds the due time, so one due time is never reminded twice."""
    now = now or timezone.now()
    incident = lock_for_timer(incident_id)
    if incident is None or incident.status not in ACTIVE_STATUSES:
        return False
    due = incident.next_update_due_at
    if due is None:
        return False
    person = _communicator(incident)
    if person is None:
        log.warning("%s: no one to remind of the status update due %s", incident, due)
        return False
    when = "overdue" if overdue else "due soon"
    created = _notify(
        incident,
        key=f"update-{'overdue' if overdue else 'soon'}:{incident.pk}:{due.isoformat()}",
        reason="update_overdue" if overdue else "update_due_soon",
        recipients=[person],
        subject=f"{incident.reference}: status update {when}",
        body=(
            f"The next status update for {incident.reference} ({incident.title}) "
            f"{'was' if overdue else 'is'} due at {_local(person, due)}."
        ),
        now=now,
    )  # fmt: skip
    if overdue and created:
        timeline.update_overdue(incident, due=due, reminded=person, at=now)
        Incident.objects.filter(pk=incident.pk).touch()
    return bool(created)


# --- escalation triggers ------------------------------------------------------------------


def _managers():
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=roles.MANAGER))
        .distinct()
    )


@transaction.atomic
def fire_trigger(incident: Incident, kind: str, *, now: datetime | None = None) -> bool:
    """Flag the incident and notify the Manager group, once per incident and trigger."""
    now = now or timezone.now()
    _, created = EscalationTrigger.objects.get_or_create(
        incident=incident, kind=kind, defaults={"fired_at": now}
    )
    if not created:
        return False
    label = EscalationTrigger.Kind(kind).label
    timeline.escalation_triggered(incident, kind=kind, label=label, at=now)
    Incident.objects.filter(pk=incident.pk).touch()
    _notify(
        incident,
        key=f"escalation:{incident.pk}:{kind}",
        reason="escalation",
        recipients=_managers(),
        subject=f"Escalation: {incident.reference} ({incident.severity}) - {label}",
        body=f"{incident.reference} {incident.title}\nTrigger: {label}\nStatus: "
        f"{incident.get_status_display()}",
        now=now,
    )
    return True


def _involves_privacy(incident: Incident) -> bool:
    return (
        incident.type in PRIVACY_TYPES
        or incident.subtype in PRIVACY_SUBTYPES
        or incident.security_implications
    )


def check_triggers(incident: Incident, *, now: datetime | None = None) -> None:
    """The triggers that depend on what the incident is, checked on every change; and the
    clocks of those that depend on time."""
    if incident.status not in ACTIVE_STATUSES:
        return
    if incident.components.count() > 1:
        fire_trigger(incident, Trigger.MULTIPLE_COMPONENTS, now=now)
    if _involves_privacy(incident):
        fire_trigger(incident, Trigger.SECURITY_PRIVACY, now=now)
    fired = set(incident.escalations.values_list("kind", flat=True))
    if incident.severity_level.escalate_when_unresolved and Trigger.UNRESOLVED_30 not in fired:
        timers.schedule(ESCALATE_UNRESOLVED, incident.pk, incident.declared_at + UNRESOLVED_AFTER)
    if incident.identified_at is None and Trigger.ROOT_CAUSE_UNKNOWN not in fired:
        timers.schedule(
            ESCALATE_ROOT_CAUSE, incident.pk, incident.declared_at + root_cause_window()
        )


@transaction.atomic
def escalation_fire_on_time(
    *, incident_id: int, kind: str, actor=None, now: datetime | None = None
) -> bool:
    """System action: the time-based triggers (unresolved after 30 min, root cause unknown)."""
    now = now or timezone.now()
    incident = lock_for_timer(incident_id)
    if incident is None or incident.status not in ACTIVE_STATUSES:
        return False
    if kind == Trigger.UNRESOLVED_30 and not incident.severity_level.escalate_when_unresolved:
        return False
    if kind == Trigger.ROOT_CAUSE_UNKNOWN and incident.identified_at is not None:
        return False
    return fire_trigger(incident, kind, now=now)


def stop_clocks(incident: Incident) -> None:
    for kind in (UPDATE_SOON, UPDATE_OVERDUE, ESCALATE_UNRESOLVED, ESCALATE_ROOT_CAUSE):
        timers.cancel(kind, incident.pk)


# --- notices that go with other changes -----------------------------------------------------


def notify_role_given(incident: Incident, *, user, label: str, actor, key: str, now) -> None:
    """Tell a person they were given a response role (not when they took it themselves)."""
    if user is None or user == actor:
        return
    _notify(
        incident,
        key=f"role:{key}",
        reason="role_assigned",
        recipients=[user],
        subject=f"{incident.reference}: you are now {label}",
        body=f"{timeline.display_name(actor)} made you {label} of {incident.reference} "
        f"({incident.severity}, {incident.get_status_display()}): {incident.title}",
        now=now,
    )


def notify_response_breach(incident: Incident, *, now) -> None:
    """The response time ran out with nobody acknowledging: the managers, and the commander
    if there is one, hear of it."""
    commander = _holders(incident, ResponseRole.COMMANDER).get(ResponseRole.COMMANDER)
    _notify(
        incident,
        key=f"breach:{incident.pk}:{incident.severity}",
        reason="response_breach",
        recipients=[*_managers(), commander],
        subject=f"Response time breached: {incident.reference} ({incident.severity})",
        body=f"{incident.reference} {incident.title}\nNobody acknowledged it within "
        f"{incident.severity_level.response_time_display} of detection.",
        now=now,
    )
