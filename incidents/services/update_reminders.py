"""The status-update cadence (spec "Status Update Cadence") kept as durable timers (DESIGN.md
decision 3): when the next update is due, and the two reminders before and at that time.

The due-time rules live here, once: a verified incident owes a first update (P1/P2 by their
cadence, P3/P4 within STATUS_FIRST_UPDATE_MINUTES); after each update the next is due by the
cadence (P3/P4 have none); Triage owes nothing; a severity change tightens or drops the
cadence."""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from portal import timers

from .. import authority, timeline
from ..models import ACTIVE_STATUSES, Incident, Status
from . import notices, updates
from .base import lock_for_timer

UPDATE_SOON = "incidents.update_due_soon"
UPDATE_OVERDUE = "incidents.update_overdue"
REMIND_BEFORE = timedelta(minutes=5)

log = logging.getLogger(__name__)


# --- when the next update is due ----------------------------------------------------------


def first_due(incident: Incident, now: datetime) -> datetime:
    """Verified (or re-opened): the first update is owed."""
    return now + incident.severity_level.first_update_within


def due_after_update(incident: Incident, now: datetime) -> datetime | None:
    cadence = incident.severity_level.update_cadence
    if cadence is None or incident.status == Status.RESOLVED:
        return None
    return now + cadence


def due_after_severity_change(incident: Incident, now: datetime) -> datetime | None:
    """incident.severity is the new one. A tighter cadence brings the next update forward; a
    level without a cadence drops it, unless the first update is still owed."""
    if incident.status not in ACTIVE_STATUSES or incident.status == Status.TRIAGE:
        return None
    current = incident.next_update_due_at
    cadence = incident.severity_level.update_cadence
    if cadence is not None:
        due = now + cadence
        return min(current, due) if current else due
    if updates.first_update_owed(incident):
        return current or first_due(incident, now)
    return None


# --- the reminders --------------------------------------------------------------------------


def schedule(incident: Incident) -> None:
    """(Re)arm the two reminders for incident.next_update_due_at, or stop them."""
    due = incident.next_update_due_at
    if due is None or incident.status not in ACTIVE_STATUSES:
        cancel(incident)
        return
    timers.schedule(UPDATE_SOON, incident.pk, due - REMIND_BEFORE)
    timers.schedule(UPDATE_OVERDUE, incident.pk, due)


def cancel(incident: Incident) -> None:
    timers.cancel(UPDATE_SOON, incident.pk)
    timers.cancel(UPDATE_OVERDUE, incident.pk)


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
    authority.require("send_update_reminder", actor, incident)
    due = incident.next_update_due_at
    if due is None:
        return False
    # Whoever communicates; with nobody in command (an alert opened it), the declarer, else
    # the Manager group: an update owed is never reminded to no one.
    person = notices.communicator(incident) or incident.declared_by
    if person is not None and not person.is_active:
        person = None  # left the team: the Managers hear of it instead
    recipients = [person] if person is not None else list(notices.managers())
    if not recipients:
        log.warning("%s: no one to remind of the status update due %s", incident, due)
    when = "overdue" if overdue else "due soon"
    created = notices.notify(
        incident,
        key=f"update-{'overdue' if overdue else 'soon'}:{incident.pk}:{due.isoformat()}",
        reason="update_overdue" if overdue else "update_due_soon",
        recipients=recipients,
        subject=f"{incident.reference}: status update {when}",
        body=(
            f"The next status update for {incident.reference} ({incident.title}) "
            f"{'was' if overdue else 'is'} due at "
            f"{notices.local_time(recipients[0] if recipients else None, due)}."
        ),
        now=now,
    )  # fmt: skip
    noted = incident.events.filter(kind="update_overdue", params__due=due.isoformat())
    if overdue and not noted.exists():
        timeline.update_overdue(incident, due=due, reminded=person, at=now)
        Incident.objects.filter(pk=incident.pk).touch()
    return bool(created)
