"""Status updates (the spec's template), the cadence that follows them, and the final update
that resolving posts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from portal import hooks
from portal.errors import ApplicationError, ConflictError

from .. import authority, bounds, timeline
from ..models import Audience, Incident, Status, StatusUpdate
from ..severity import SEVERITIES
from ..statuspage import rules
from . import publicity, update_reminders
from .base import lock, touch
from .checklist_ticks import auto_tick

if TYPE_CHECKING:
    from .status_change import ResolutionNotice

LONG_TEXT = 2000
RESOLVED_ACTIONS = "None: the incident is resolved."
DEFAULT_RESOLVED_MESSAGE = "This incident has been resolved."


def _text(value: str, field: str, *, required: str = "") -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApplicationError(required, field=field)
    if len(value) > LONG_TEXT:
        raise ApplicationError(
            f"At most {LONG_TEXT} characters (it has {len(value)}).", field=field
        )
    return value


def _create(incident: Incident, *, actor, now: datetime, **fields) -> StatusUpdate:
    number = StatusUpdate.next_number_for(incident)
    update = StatusUpdate.objects.create(
        incident=incident,
        number=number,
        status=incident.status,
        posted_by=actor,
        posted_at=now,
        **fields,
    )
    auto_tick(incident, timeline.status_update(incident, actor, update=update, at=now))
    return update


@transaction.atomic
def status_update_post(
    *,
    actor,
    incident: Incident,
    impact: str,
    actions: str,
    audience: str = Audience.INTERNAL,
    next_update_at: datetime | None = None,
    cause: str = "",
    impact_unconfirmed: bool = False,
    cause_unconfirmed: bool = False,
    expected_number: int | None = None,
    expected_status: str | None = None,
    public_body: str = "",
    now: datetime | None = None,
) -> StatusUpdate:
    """Post update #n. The next one is due by the severity's cadence (P1 30 min, P2 60 min)
    unless set earlier; P3/P4 have none after the first. Impact and cause may be marked
    unconfirmed. Posting reschedules the reminders in this transaction."""
    now = now or timezone.now()
    impact = _text(impact, "impact", required="Describe the impact: affected services and users.")
    actions = _text(actions, "actions", required="Describe the actions in progress.")
    cause = _text(cause, "cause")
    if cause_unconfirmed and not cause:
        raise ApplicationError(
            "Write the suspected cause to mark it unconfirmed, or untick “Cause not confirmed "
            "yet”.",
            field="cause",
        )
    if audience not in Audience.values:
        raise ApplicationError(f"Unknown audience {audience!r}.", field="audience")
    public_body = _public_body(public_body, audience)
    incident = lock(incident)
    authority.require("post_update", actor, incident)
    if not incident.accepts_status_updates:
        raise ApplicationError(
            f"Status updates are posted while an incident is being worked on or at its "
            f"resolution; this one is {incident.get_status_display()}."
        )
    _check_written_for(incident, expected_number, expected_status)
    latest = update_reminders.due_after_update(incident, now)
    if next_update_at is not None:
        error = bounds.next_update_error(next_update_at, now)
        if error:
            raise ApplicationError(error, field="next_update_at")
        if latest is not None and next_update_at > latest:
            raise ApplicationError(
                f"A {incident.severity} incident is updated at least every "
                f"{SEVERITIES[incident.severity].cadence_display.lower().removeprefix('every ')}; "
                "set the next update earlier, not later.",
                field="next_update_at",
            )
    due = next_update_at or latest
    if incident.status == Status.RESOLVED:
        due = None
    update = _create(
        incident,
        actor=actor,
        now=now,
        impact=impact,
        impact_unconfirmed=bool(impact_unconfirmed),
        cause=cause,
        cause_unconfirmed=bool(cause_unconfirmed and cause),
        actions=actions,
        next_update_at=due,
        audience=audience,
        public_body=public_body,
    )
    Incident.objects.filter(pk=incident.pk).update(next_update_due_at=due)
    incident.next_update_due_at = due
    update_reminders.schedule(incident)
    if audience == Audience.PUBLIC:
        publicity.publish_with_update(incident, actor, now=now)
        hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause="status_update", at=now)
    touch(incident)
    return update


PUBLIC_BODY_MAX = 5000


def _public_body(value: str, audience: str) -> str:
    """A public update carries its own text for customers; the internal fields never reach
    the status page."""
    value = rules.publishable(value).strip()
    if audience != Audience.PUBLIC:
        return ""
    if not value:
        raise ApplicationError(
            "Write the message for the status page: what customers see (status, impact, what "
            "is being done, when the next update comes), in plain words.",
            field="public_body",
        )
    if len(value) > PUBLIC_BODY_MAX:
        raise ApplicationError(
            f"At most {PUBLIC_BODY_MAX} characters (it has {len(value)}).", field="public_body"
        )
    return value


def _check_written_for(incident: Incident, number: int | None, status: str | None) -> None:
    """Refuse an update written for an earlier state of the incident (DESIGN.md decision 9):
    someone else posted meanwhile, or the status moved on. The writer's text is kept."""
    current = StatusUpdate.next_number_for(incident)
    if number is not None and number != current:
        last = incident.status_updates.select_related("posted_by__profile").first()
        if last is None:  # a number from no page of ours
            raise ApplicationError(f"This would be update #{current}.", field="impact")
        raise ConflictError(
            f"Update #{last.number} was posted meanwhile by {timeline.display_name(last.posted_by)}"
            f" (“{last.impact[:120]}”). Your text is kept: check it against that update, then "
            f"post it as update #{current}.",
            field="impact",
        )
    if status and status != incident.status:
        raise ConflictError(
            f"The incident moved to {incident.get_status_display()} meanwhile. Your text is "
            f"kept: check it still holds, then post it as a {incident.get_status_display()} "
            "update.",
            field="impact",
        )


def final_audience(incident: Incident) -> str:
    """The final update is public when the incident is on the status page."""
    public = incident.is_public or incident.status_updates.filter(audience=Audience.PUBLIC).exists()
    return Audience.PUBLIC if public else Audience.INTERNAL


def first_update_owed(incident: Incident) -> bool:
    """No update since it was verified or re-opened (i.e. since the last final update)."""
    last_final = incident.status_updates.filter(final=True).order_by("-number").first()
    since = incident.status_updates.all()
    if last_final is not None:
        since = since.filter(number__gt=last_final.number)
    return not since.exists()


def post_resolution(
    *, actor, incident: Incident, notice: ResolutionNotice, now: datetime
) -> StatusUpdate:
    """Part of resolving (inside its transaction; the notice is already checked): the final
    update, "Resolved", from the resolution communication."""
    audience = final_audience(incident)
    names = [c.name for c in incident.components.all()]
    confirmed = (
        f"Resolved: normal operation confirmed across all affected components ({', '.join(names)})."
        if names
        else "Resolved: normal operation confirmed."
    )
    return _create(
        incident,
        actor=actor,
        now=now,
        final=True,
        impact=confirmed,
        cause=notice.explanation,
        # Not the resolution summary: that is the responders' internal record, and this
        # update may be public.
        actions=RESOLVED_ACTIONS,
        user_action=notice.user_action,
        prevention=notice.prevention,
        next_update_at=None,
        audience=audience,
        public_body=(rules.publishable(notice.public_message) or DEFAULT_RESOLVED_MESSAGE)
        if audience == Audience.PUBLIC
        else "",
    )
