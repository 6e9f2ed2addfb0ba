"""What subscribers are told, and the fan-out that tells them (issue 14).

A public change marks the incident for a look (a durable timer, inside the change's
transaction); the look, after commit, compares what the public sees with what subscribers
were told and writes at most one notice: opened, a new public update, or resolved. So the
changes of one transaction (a status change and its public update) make one email, and a
change seen twice makes none. Maintenance windows and component changes write their notice
directly.

Each notice is then fanned out by its own durable timer (fanout.py)."""

from __future__ import annotations

import contextlib
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal import hooks, timers

from ...models import (
    Audience,
    ComponentStatusChange,
    Incident,
    Maintenance,
    MaintenanceStatus,
    NoticeEvent,
    StatusUpdate,
    Subscriber,
    SubscriberKind,
    SubscriberNotice,
    SubscriberState,
)
from .. import public, rules
from . import fanout

LOOK_TIMER = "subscribers.incident"
# The changes (the PUBLIC_STATE_CHANGED hook's causes) that can change what subscribers are
# told: publishing or withdrawing, a status (resolved, a false alarm), a public update. An
# edit, a component's status or a post-mortem tells them nothing new.
LOOK_CAUSES = frozenset({"publicity", "status", "status_update"})

# Maintenance statuses email subscribers hear of (created, starting, completed); webhooks
# hear of every one.
MAINTENANCE_EVENTS = {
    MaintenanceStatus.SCHEDULED: NoticeEvent.MAINTENANCE_SCHEDULED,
    MaintenanceStatus.IN_PROGRESS: NoticeEvent.MAINTENANCE_STARTED,
    MaintenanceStatus.VERIFYING: NoticeEvent.MAINTENANCE_UPDATED,
    MaintenanceStatus.COMPLETED: NoticeEvent.MAINTENANCE_COMPLETED,
}


def _listening(*, email: bool, webhooks: bool) -> bool:
    kinds = [
        k for k, on in ((SubscriberKind.EMAIL, email), (SubscriberKind.WEBHOOK, webhooks)) if on
    ]
    return Subscriber.objects.filter(state=SubscriberState.ACTIVE, kind__in=kinds).exists()


def _names(components) -> str:
    return ", ".join(rules.publishable(c.name) for c in components)


def _create(*, key: str, components, now: datetime, **fields) -> SubscriberNotice | None:
    """Write the notice once (its key) and arm its fan-out."""
    notice, created = SubscriberNotice.objects.get_or_create(
        key=key, defaults={"created_at": now, **fields}
    )
    if not created:
        return None
    notice.components.set(components)
    fanout.arm(notice)
    return notice


# -- Incidents -------------------------------------------------------------------------------


@hooks.connect(hooks.PUBLIC_STATE_CHANGED)
def incident_changed(*, incident=None, cause: str = "", at=None, **_) -> None:
    """Inside the change's transaction: look at the incident after commit (and, should this
    process die first, at the next sweep)."""
    # Once public (published_at stays), subscribers hear how it ends, even if it is withdrawn.
    if incident is None or cause not in LOOK_CAUSES:
        return
    if not incident.is_public and incident.published_at is None:
        return
    timers.schedule(LOOK_TIMER, incident.pk, min(at or timezone.now(), timezone.now()))
    transaction.on_commit(lambda: _look_now(incident.pk), robust=True)


def _look_now(incident_id: int) -> None:
    with contextlib.suppress(Exception):  # the sweep retries
        timers.fire_now(LOOK_TIMER, incident_id)


@timers.register(LOOK_TIMER)
def _look_timer(timer, now) -> None:
    incident_look(incident_id=timer.object_id, now=now)


def incident_look(*, incident_id: int, now: datetime | None = None) -> SubscriberNotice | None:
    """Tell subscribers what the public sees of the incident and they were not told yet."""
    now = now or timezone.now()
    incident = Incident.objects.filter(pk=incident_id).first()
    if incident is None:
        return None
    told = list(
        SubscriberNotice.objects.filter(incident=incident).values_list("event", "update_number")
    )
    events = {event for event, _ in told if event != NoticeEvent.COMMUNICATION}
    told_number = max((number for _, number in told), default=0)
    gone = not incident.is_public or incident.status in rules.NEVER_PUBLIC_STATUSES
    if gone:
        # Withdrawn from the page (or found a false alarm) after subscribers heard of it:
        # they are told it is over, once; never told of it otherwise.
        if not events or NoticeEvent.INCIDENT_RESOLVED in events:
            return None
        return _create(
            key=f"incident:{incident.pk}:resolved",
            components=list(incident.components.all()),
            now=now,
            event=NoticeEvent.INCIDENT_RESOLVED,
            incident=incident,
            to_webhooks=False,
            update_number=told_number,
            subject=f"[{settings.STATUS_PAGE_NAME}] Resolved: "
            f"{rules.publishable(rules.public_title(incident))}"[:300],
            body="Resolved - This incident is over and no longer shown on the status page.",
        )
    latest = (
        StatusUpdate.objects.filter(incident=incident, audience=Audience.PUBLIC)
        .order_by("-number")
        .only("number", "public_body", "posted_at")
        .first()
    )
    number = latest.number if latest else 0
    resolved = rules.public_status(incident) in rules.RESOLVED_PUBLIC_STATUSES
    if resolved and NoticeEvent.INCIDENT_RESOLVED not in events:
        event, key = NoticeEvent.INCIDENT_RESOLVED, f"incident:{incident.pk}:resolved"
    elif resolved:
        return None
    elif not events:
        event, key = NoticeEvent.INCIDENT_OPENED, f"incident:{incident.pk}:opened"
    elif number > told_number:
        event, key = NoticeEvent.INCIDENT_UPDATED, f"incident:{incident.pk}:update:{number}"
    else:
        return None
    if not _listening(email=True, webhooks=True):
        return None
    components = list(incident.components.all())
    title = rules.publishable(rules.public_title(incident))
    status = rules.PUBLIC_STATUS_LABELS[rules.public_status(incident)]
    text = rules.publishable(latest.public_body).strip() if latest and number > told_number else ""
    if not text:
        text = {
            NoticeEvent.INCIDENT_OPENED: "We are investigating this issue and will post updates "
            "on the status page.",
            NoticeEvent.INCIDENT_RESOLVED: "This incident has been resolved.",
        }.get(event, "")
    lines = [f"{status} - {text}"]
    if components:
        lines.append(f"Affected: {_names(components)}")
    if not resolved and incident.estimated_resolution_at and incident.estimated_resolution_at > now:
        when = incident.estimated_resolution_at.astimezone(public.zone())
        lines.append(f"Estimated resolution: {when:%b %-d, %H:%M %Z}")
    lines.append(f"Follow this incident: {fanout.status_url(f'/incidents/{incident.public_id}/')}")
    return _create(
        key=key,
        components=components,
        now=now,
        event=event,
        incident=incident,
        update_number=max(number, told_number),
        subject=f"[{settings.STATUS_PAGE_NAME}] {status}: {title}"[:300],
        body="\n\n".join(lines),
    )


# -- Maintenance and components (called by their services, inside the transaction) ----------


def maintenance_posted(maintenance: Maintenance, status: str, body: str, now: datetime):
    event = MAINTENANCE_EVENTS[status]
    to_email = event != NoticeEvent.MAINTENANCE_UPDATED
    if not _listening(email=to_email, webhooks=True):
        return None
    components = list(maintenance.components.all())
    zone = public.zone()
    window = (
        f"{maintenance.starts_at.astimezone(zone):%b %-d, %H:%M} to "
        f"{maintenance.ends_at.astimezone(zone):%b %-d, %H:%M %Z}"
    )
    label = dict(MaintenanceStatus.choices)[status]
    lines = [f"{label} - {rules.publishable(body).strip()}", f"Scheduled: {window}"]
    if components:
        lines.append(f"Affected: {_names(components)}")
    lines.append(f"Details: {fanout.status_url(f'/maintenance/{maintenance.public_id}/')}")
    count = SubscriberNotice.objects.filter(maintenance=maintenance).count()
    return _create(
        key=f"maintenance:{maintenance.pk}:{status}:{count}",
        components=components,
        now=now,
        event=event,
        maintenance=maintenance,
        to_email=to_email,
        subject=f"[{settings.STATUS_PAGE_NAME}] {label}: {rules.publishable(maintenance.title)}"[
            :300
        ],
        body="\n\n".join(lines),
    )


def component_changed(change: ComponentStatusChange, now: datetime):
    """Webhook subscribers hear of every component status change (Statuspage's
    component_update); email subscribers hear of incidents instead."""
    if not _listening(email=False, webhooks=True):
        return None
    component = change.component
    return _create(
        key=f"component:{change.pk}",
        components=[component],
        now=now,
        event=NoticeEvent.COMPONENT_CHANGED,
        to_email=False,
        subject=f"{rules.publishable(component.name)}: {change.get_new_display()}",
        body=f"{rules.publishable(component.name)} is now {change.get_new_display().lower()}.",
        payload={"component_change": change.pk},
    )


def create_communication(
    *, key: str, incident, to_subscribers: bool, subject: str, body: str, addresses, actor, now
) -> SubscriberNotice:
    """A composed email to affected users (services.communications): subscribers of the
    incident's components (if asked) and pasted addresses."""
    notice = _create(
        key=key,
        components=list(incident.components.all()),
        now=now,
        event=NoticeEvent.COMMUNICATION,
        incident=incident,
        to_email=to_subscribers,
        to_webhooks=False,
        subject=subject[:300],
        body=body,
        extra_addresses=list(addresses),
        created_by=actor,
    )
    if notice is None:
        raise ValueError(f"notice {key} exists already")
    return notice
