"""The incident side of paging (issue 11): what an incident's escalation is about (its
severity's channels, the owning team of its components, its type for the escalation matrix),
starting it on declaration, stopping it when the incident ends, and what an acknowledgement
does to the incident (the "page acknowledged" hook): it stops the response-time clock and,
when nobody commands the incident, the first to acknowledge takes command (spec: the IC is
normally the primary on-call)."""

import logging
from contextlib import suppress
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from portal import hooks
from portal.errors import ApplicationError
from portal.oncall import services as oncall

from . import authority, timeline
from .models import Incident, ResponseRole, RoleAssignment
from .services.base import lock, save
from .services.checklist_ticks import auto_tick

TOPIC = "incident:{}"
log = logging.getLogger(__name__)


def topic(incident: Incident) -> str:
    return TOPIC.format(incident.pk)


def owning_team(incident: Incident):
    """The owning team of the incident's first component that has one."""
    for component in incident.components.select_related("owning_team__lead").order_by(
        "group__position", "position", "name"
    ):
        if component.owning_team is not None:
            return component.owning_team
    return None


def subject(incident: Incident) -> oncall.Subject:
    return oncall.Subject(
        topic=topic(incident),
        subject_id=incident.pk,
        title=f"{incident.reference} {incident.title}",
        url=incident.get_absolute_url(),
        severity=incident.severity,
        channels=tuple(incident.severity_level.channels),
        team=owning_team(incident),
        incident_type=incident.type,
    )


def start(incident: Incident, *, actor=None, now: datetime):
    """Start paging; a fault in it (a bug, a bad stored value) is logged and never undoes
    the declaration: the incident page then says nobody was paged (DESIGN.md decision 10)."""
    try:
        with transaction.atomic():
            return oncall.escalation_start(subject=subject(incident), actor=actor, now=now)
    except Exception:
        log.exception("could not start paging for %s", incident.reference)
        return None


def severity_changed(incident: Incident, *, actor, now: datetime):
    """A new severity has its own route and channels: an escalation still paging is stopped
    and paging starts again by the new severity's route (a P3 queued for Monday raised to
    P1 pages now; a P1 lowered to P4 stops calling people at night). An acknowledged one is
    left alone: someone is on it."""
    stopped = oncall.escalations_stop(
        topic(incident),
        f"Severity changed to {incident.severity}: paging follows its route.",
        now,
        policy_only=True,
    )
    if stopped:
        return start(incident, actor=actor, now=now)
    return None


def stop(incident: Incident, note: str, now: datetime) -> int:
    return oncall.escalations_stop(topic(incident), note, now)


@hooks.connect(hooks.PAGE_ACKNOWLEDGED)
def acknowledged(*, topic: str, subject_id: int, user, at: datetime) -> None:
    if topic != TOPIC.format(subject_id):
        return
    from portal import timers

    from .services.triage import RESPONSE_TIMER

    incident = Incident.objects.filter(pk=subject_id).first()
    if incident is None:
        return
    incident = lock(incident)
    if not incident.is_active:
        return
    if incident.acknowledged_at is None:
        save(incident, acknowledged_at=at)
        timers.cancel(RESPONSE_TIMER, incident.pk)
        auto_tick(incident, timeline.acknowledged(incident, user, at=at))
        # The incident is answered: every page for it stops, not only the one answered.
        oncall.escalations_acknowledge_for(topic, user, at)
    timeline.page(incident, user, action="acknowledged", at=at)
    Incident.objects.filter(pk=incident.pk).touch()
    if RoleAssignment.objects.current(incident, ResponseRole.COMMANDER) is None and (
        authority.allows("take_command", user, incident, commander=None)
    ):
        from .services.command import role_assign

        # One who cannot command (not a responder, say) has still acknowledged.
        with suppress(ApplicationError):
            role_assign(
                actor=user, incident=incident, role=ResponseRole.COMMANDER, user=user, now=at
            )


@transaction.atomic
def incident_page_someone(
    *,
    actor,
    incident: Incident,
    user=None,
    team=None,
    schedule=None,
    note: str = "",
    now: datetime | None = None,
):
    """ "Page someone" from the incident page: a person, a team or a schedule's on-call."""
    now = now or timezone.now()
    incident = lock(incident)
    authority.require("page_someone", actor, incident)
    if not incident.is_active:
        raise ApplicationError("Only an active incident can page someone.")
    note = (note or "").strip()
    if len(note) > 300:
        raise ApplicationError(f"Note: at most 300 characters (it has {len(note)}).", field="note")
    escalation = oncall.escalation_page_manually(
        actor=actor,
        subject=subject(incident),
        user=user,
        team=team,
        schedule=schedule,
        note=note,
        now=now,
    )
    target = escalation.pages.values_list("target", flat=True).first() or ""
    timeline.page(incident, actor, action="paged", target=target, note=note, at=now)
    Incident.objects.filter(pk=incident.pk).touch()
    return escalation
