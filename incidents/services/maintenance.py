"""Scheduled maintenance windows: announced on the status page, moved to in progress at their
start and to completed at their end by durable timers (the sweep), and their components shown
under maintenance meanwhile."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from portal import hooks, timers
from portal.errors import ApplicationError

from .. import authority, bounds
from ..models import (
    Component,
    ComponentStatus,
    Maintenance,
    MaintenanceStatus,
    MaintenanceUpdate,
)
from ..statuspage import rules
from ..statuspage.subscriptions import notices as subscriber_notices
from .components import component_set_status

START_TIMER = "maintenance_start"
END_TIMER = "maintenance_end"
CAUSE = "maintenance"

# Statuspage's own wording for the automatic updates.
MESSAGES = {
    MaintenanceStatus.IN_PROGRESS: "Scheduled maintenance is currently in progress. We will "
    "provide updates as necessary.",
    MaintenanceStatus.VERIFYING: "Verification is currently underway for the maintenance items.",
    MaintenanceStatus.COMPLETED: "The scheduled maintenance has been completed.",
}
CANCELLED = "This scheduled maintenance has been cancelled."
# An outage is news the public must see: maintenance does not paint over it.
KEPT_DURING_MAINTENANCE = frozenset({ComponentStatus.PARTIAL_OUTAGE, ComponentStatus.MAJOR_OUTAGE})
TITLE_MAX = 200
DESCRIPTION_MAX = 5000


def _post(maintenance: Maintenance, status: str, body: str, actor, now: datetime) -> None:
    MaintenanceUpdate.objects.create(
        maintenance=maintenance, status=status, body=body, posted_at=now, posted_by=actor
    )
    Maintenance.objects.filter(pk=maintenance.pk).update(status=status, updated_at=now)
    maintenance.status = status
    hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=None, cause=CAUSE, at=now)
    subscriber_notices.maintenance_posted(maintenance, status, body, now)


@transaction.atomic
def maintenance_schedule(
    *,
    actor,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    description: str = "",
    components: list[Component] | None = None,
    now: datetime | None = None,
) -> Maintenance:
    now = now or timezone.now()
    authority.require("schedule_maintenance", actor, None)
    title = rules.publishable(title).strip()
    description = rules.publishable(description).strip()
    if not title:
        raise ApplicationError("Give the window a title.", field="title")
    if len(title) > TITLE_MAX:
        raise ApplicationError(f"At most {TITLE_MAX} characters.", field="title")
    if len(description) > DESCRIPTION_MAX:
        raise ApplicationError(f"At most {DESCRIPTION_MAX} characters.", field="description")
    field, error = bounds.maintenance_error(starts_at, ends_at, now)
    if error:
        raise ApplicationError(error, field=field)
    maintenance = Maintenance.objects.create(
        title=title,
        description=description,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    maintenance.components.set(components or [])
    body = description or f"{title} is scheduled."
    _post(maintenance, MaintenanceStatus.SCHEDULED, body, actor, now)
    timers.schedule(START_TIMER, maintenance.pk, starts_at)
    timers.schedule(END_TIMER, maintenance.pk, ends_at)
    return maintenance


def _other_window(component: Component, maintenance: Maintenance) -> Maintenance | None:
    """Another window in progress (or verifying) that covers this component."""
    return (
        Maintenance.objects.active()
        .filter(components=component)
        .exclude(pk=maintenance.pk)
        .order_by("-started_at")
        .first()
    )


def _lock(maintenance_id: int) -> Maintenance:
    return Maintenance.objects.select_for_update().get(pk=maintenance_id)


@transaction.atomic
def maintenance_start(*, maintenance_id: int, now: datetime | None = None) -> bool:
    """The window's start (the sweep): in progress, and its components under maintenance
    (except those in an outage). False when it is no longer scheduled."""
    now = now or timezone.now()
    maintenance = _lock(maintenance_id)
    if maintenance.status != MaintenanceStatus.SCHEDULED:
        return False
    authority.require("move_maintenance", None, None)
    restore = {}
    for component in maintenance.components.select_for_update().order_by("pk"):
        if component.status in KEPT_DURING_MAINTENANCE:
            continue
        key = str(component.pk)
        if component.status == ComponentStatus.UNDER_MAINTENANCE:
            # Already in another window: whichever ends last restores what it was before.
            other = _other_window(component, maintenance)
            if other is not None and key in other.restore:
                restore[key] = other.restore[key]
            continue
        restore[key] = component.status
        component_set_status(
            actor=None, component=component, status=ComponentStatus.UNDER_MAINTENANCE, now=now
        )
    Maintenance.objects.filter(pk=maintenance.pk).update(restore=restore, started_at=now)
    _post(maintenance, MaintenanceStatus.IN_PROGRESS, MESSAGES["in_progress"], None, now)
    return True


@transaction.atomic
def maintenance_verify(*, actor, maintenance: Maintenance, now: datetime | None = None) -> None:
    now = now or timezone.now()
    maintenance = _lock(maintenance.pk)
    authority.require("move_maintenance", actor, None)
    if maintenance.status != MaintenanceStatus.IN_PROGRESS:
        raise ApplicationError(
            f"Only a window in progress is verified; this one is "
            f"{maintenance.get_status_display().lower()}."
        )
    _post(maintenance, MaintenanceStatus.VERIFYING, MESSAGES["verifying"], actor, now)


@transaction.atomic
def maintenance_complete(
    *, actor, maintenance_id: int, now: datetime | None = None, by_timer: bool = False
) -> bool:
    """Complete the window (its end, by the sweep; or early, by a person): its components go
    back to what they were, unless someone changed them meanwhile. A window that has not
    started is cancelled."""
    now = now or timezone.now()
    maintenance = _lock(maintenance_id)
    authority.require("move_maintenance", actor, None)
    if maintenance.status == MaintenanceStatus.COMPLETED:
        if by_timer:
            return False
        raise ApplicationError("This window is already completed.")
    if maintenance.status == MaintenanceStatus.SCHEDULED:
        timers.cancel(START_TIMER, maintenance.pk)
        timers.cancel(END_TIMER, maintenance.pk)
        Maintenance.objects.filter(pk=maintenance.pk).update(completed_at=now)
        _post(maintenance, MaintenanceStatus.COMPLETED, CANCELLED, actor, now)
        return True
    components = Component.objects.select_for_update().filter(
        pk__in=[int(pk) for pk in maintenance.restore]
    )
    for component in components.order_by("pk"):
        if _other_window(component, maintenance) is not None:
            continue  # still in another window: that one restores it
        if component.status == ComponentStatus.UNDER_MAINTENANCE:
            component_set_status(
                actor=actor,
                component=component,
                status=maintenance.restore.get(str(component.pk), ComponentStatus.OPERATIONAL),
                now=now,
            )
    timers.cancel(END_TIMER, maintenance.pk)
    Maintenance.objects.filter(pk=maintenance.pk).update(completed_at=now)
    _post(maintenance, MaintenanceStatus.COMPLETED, MESSAGES["completed"], actor, now)
    return True
