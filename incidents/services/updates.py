"""Status updates (the spec's template) and the cadence that follows them."""

from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from portal import hooks
from portal.errors import ApplicationError

from .. import bounds, timeline
from ..models import Audience, Incident, Status, StatusUpdate
from ..severity import SEVERITIES
from . import clocks
from .core import _lock, touch


def default_next_update(incident: Incident, now: datetime) -> datetime | None:
    cadence = SEVERITIES[incident.severity].update_cadence
    if cadence is None or incident.status == Status.RESOLVED:
        return None
    return now + cadence


@transaction.atomic
def status_update_post(
    *,
    actor,
    incident: Incident,
    impact: str,
    actions: str,
    audience: str = Audience.INTERNAL,
    next_update_at: datetime | None = None,
    now: datetime | None = None,
) -> StatusUpdate:
    """Post update #n. The next one is due by the severity's cadence (P1 30 min, P2 60 min)
    unless set earlier; P3/P4 have none. Posting reschedules the reminders in this
    transaction."""
    now = now or timezone.now()
    impact, actions = (impact or "").strip(), (actions or "").strip()
    if not impact:
        raise ApplicationError("Describe the impact: affected services and users.", field="impact")
    if not actions:
        raise ApplicationError("Describe the actions in progress.", field="actions")
    for field, value in (("impact", impact), ("actions", actions)):
        if len(value) > 2000:
            raise ApplicationError(f"At most 2000 characters (it has {len(value)}).", field=field)
    if audience not in Audience.values:
        raise ApplicationError(f"Unknown audience {audience!r}.", field="audience")
    incident = _lock(incident)
    if not incident.accepts_status_updates:
        raise ApplicationError(
            f"Status updates are posted while an incident is being worked on or at its "
            f"resolution; this one is {incident.get_status_display()}."
        )
    latest = default_next_update(incident, now)
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
    number = (incident.status_updates.aggregate(n=Max("number"))["n"] or 0) + 1
    update = StatusUpdate.objects.create(
        incident=incident,
        number=number,
        status=incident.status,
        impact=impact,
        actions=actions,
        next_update_at=due,
        audience=audience,
        posted_by=actor,
        posted_at=now,
    )
    Incident.objects.filter(pk=incident.pk).update(next_update_due_at=due)
    incident.next_update_due_at = due
    clocks.schedule_update_reminders(incident)
    timeline.status_update(incident, actor, update=update, at=now)
    if audience == Audience.PUBLIC:
        hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause="status_update", at=now)
    touch(incident)
    return update
