"""Component status (what the status page shows of each part of the platform): every change
is a history row, the history that uptime is computed from, and a timeline event on the
incident it was made for."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from portal import hooks
from portal.errors import ApplicationError

from .. import authority, timeline
from ..models import Component, ComponentStatus, ComponentStatusChange, Incident
from ..statuspage.subscriptions import notices as subscriber_notices
from .base import lock, touch


@transaction.atomic
def component_set_status(
    *,
    actor,
    component: Component,
    status: str,
    incident: Incident | None = None,
    now: datetime | None = None,
) -> ComponentStatusChange:
    """Set a component's status, for an incident (from its page) or on its own (the
    components page, maintenance). Refuses a status that is already the current one."""
    now = now or timezone.now()
    if status not in ComponentStatus.values:
        raise ApplicationError(f"Unknown component status {status!r}.", field="status")
    if incident is not None:
        incident = lock(incident)
        if incident.status in ("closed", "false_alarm"):
            raise ApplicationError(
                f"This incident is {incident.get_status_display().lower()}; change the "
                "component's status from the components page instead."
            )
    component = Component.objects.select_for_update().get(pk=component.pk)
    authority.require("set_component_status", actor, incident)
    if component.status == status:
        raise ApplicationError(
            f"{component.name} is already {ComponentStatus(status).label.lower()}.",
            field="status",
        )
    change = ComponentStatusChange.objects.create(
        component=component,
        old=component.status,
        new=status,
        changed_at=now,
        changed_by=actor,
        incident=incident,
    )
    Component.objects.filter(pk=component.pk).update(status=status, status_changed_at=now)
    component.status, component.status_changed_at = status, now
    if incident is not None:
        timeline.component_status(incident, actor, change=change, at=now)
        touch(incident)
    hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause="component", at=now)
    subscriber_notices.component_changed(change, now)
    return change
