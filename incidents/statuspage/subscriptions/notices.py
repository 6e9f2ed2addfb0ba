"""What subscribers are told, and the fan-out that tells them (issue 14).

A public change marks the incident for a look (a durable timer, inside the change's
transaction); the look, after commit, compares what the public sees with what subscribers
were told and writes at most one notice: opened, a new public update, or resolved. So the
changes of one transaction (a status change and its public update) make one email, and a
change seen twice makes none. Maintenance windows and component changes write their notice
directly.

Each notice is fanned out by its own durable timer: CHUNK subscribers per firing, one outbox
row each (bulk lane, unique key per notice and subscriber), in the same transaction as the
cursor that says how far it got. A worker that dies mid-way rolls back its chunk; the next
firing writes it again, never twice."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from portal import hooks, notifications, timers
from portal.models import Channel, Lane, Notification

from ...models import (
    Audience,
    Component,
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
from .. import api, public, rules

LOOK_TIMER = "subscribers.incident"
FANOUT_TIMER = "subscribers.fanout"
CHUNK = 2000
REASON = "subscriber_update"
DOCUMENTATION = "/status/subscribe/#webhooks"

EVENT_WORDS = {
    NoticeEvent.INCIDENT_OPENED: "incident.created",
    NoticeEvent.INCIDENT_UPDATED: "incident.updated",
    NoticeEvent.INCIDENT_RESOLVED: "incident.resolved",
    NoticeEvent.MAINTENANCE_SCHEDULED: "maintenance.scheduled",
    NoticeEvent.MAINTENANCE_STARTED: "maintenance.started",
    NoticeEvent.MAINTENANCE_UPDATED: "maintenance.updated",
    NoticeEvent.MAINTENANCE_COMPLETED: "maintenance.completed",
    NoticeEvent.COMPONENT_CHANGED: "component.updated",
    NoticeEvent.COMMUNICATION: "incident.communication",
}
# Maintenance statuses email subscribers hear of (created, starting, completed); webhooks
# hear of every one.
MAINTENANCE_EVENTS = {
    MaintenanceStatus.SCHEDULED: NoticeEvent.MAINTENANCE_SCHEDULED,
    MaintenanceStatus.IN_PROGRESS: NoticeEvent.MAINTENANCE_STARTED,
    MaintenanceStatus.VERIFYING: NoticeEvent.MAINTENANCE_UPDATED,
    MaintenanceStatus.COMPLETED: NoticeEvent.MAINTENANCE_COMPLETED,
}


def _status_url(path: str) -> str:
    return settings.STATUS_PAGE_URL.rstrip("/") + path


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
    # Fanned out at once, whatever moment the change is stamped with.
    timers.schedule(FANOUT_TIMER, notice.pk, min(now, timezone.now()))
    transaction.on_commit(lambda: _start_fanout(notice.pk), robust=True)
    return notice


def _start_fanout(notice_id: int) -> None:
    from portal import resilience
    from portal.tasks import fire_timer

    if resilience.redis.is_open():
        return  # the sweep fires it
    try:
        fire_timer.apply_async((FANOUT_TIMER, notice_id), queue=notifications.lane_queue(Lane.BULK))
    except Exception as exc:
        resilience.redis.trip(exc)


# -- Incidents -------------------------------------------------------------------------------


@hooks.connect(hooks.PUBLIC_STATE_CHANGED)
def incident_changed(*, incident=None, cause: str = "", at=None, **_) -> None:
    """Inside the change's transaction: look at the incident after commit (and, should this
    process die first, at the next sweep)."""
    if incident is None or not incident.is_public:
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
    if incident is None or not incident.is_public or incident.status in rules.NEVER_PUBLIC_STATUSES:
        return None
    told = list(
        SubscriberNotice.objects.filter(incident=incident).values_list("event", "update_number")
    )
    events = {event for event, _ in told if event != NoticeEvent.COMMUNICATION}
    told_number = max((number for _, number in told), default=0)
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
    lines.append(f"Follow this incident: {_status_url(f'/incidents/{incident.public_id}/')}")
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
    lines.append(f"Details: {_status_url(f'/maintenance/{maintenance.public_id}/')}")
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


# -- The fan-out --------------------------------------------------------------------------


def _page_head(now: datetime) -> dict:
    indicator = public.indicator()
    return {
        "id": settings.STATUS_PAGE_ID,
        "status_indicator": indicator.key,
        "status_description": indicator.description,
    }


def _payload(notice: SubscriberNotice, now: datetime, source: dict) -> dict | None:
    """Statuspage's subscriber webhook document (meta.unsubscribe filled per subscriber)."""
    meta = {
        "unsubscribe": "{unsubscribe}",
        "documentation": _status_url(DOCUMENTATION.removeprefix("/status")),
        "generated_at": api.when(now),
        "event": EVENT_WORDS[notice.event],
    }
    document = {"meta": meta, "page": _page_head(now)}
    _, by_pk = public.components()
    if notice.incident_id:
        record = public.one_incident(notice.incident.public_id, by_pk)
        if record is None:
            return None
        document["incident"] = api.incident(record, settings.STATUS_PAGE_ID)
    elif notice.maintenance_id:
        record = public.one_maintenance(notice.maintenance.public_id)
        document["incident"] = api.incident(record, settings.STATUS_PAGE_ID)
    else:
        change = ComponentStatusChange.objects.filter(pk=source.get("component_change")).first()
        if change is None:
            return None
        record = by_pk.get(change.component_id)
        if record is None:
            return None
        document["component_update"] = {
            "created_at": api.when(change.changed_at),
            "new_status": change.new,
            "old_status": change.old,
            "id": f"cu{change.pk}",
            "component_id": record.id,
        }
        document["component"] = api.component(record, settings.STATUS_PAGE_ID)
    return document


def _footer(unsubscribe: str, manage: str) -> str:
    return (
        f"\n\n--\nYou receive this because you subscribed to {settings.STATUS_PAGE_NAME} status "
        f"updates.\nChoose components: {manage}\nUnsubscribe: {unsubscribe}"
    )


def _recipients(notice: SubscriberNotice):
    kinds = []
    if notice.to_email:
        kinds.append(SubscriberKind.EMAIL)
    if notice.to_webhooks:
        kinds.append(SubscriberKind.WEBHOOK)
    found = Subscriber.objects.filter(
        state=SubscriberState.ACTIVE, kind__in=kinds, pk__gt=notice.cursor
    )
    components = list(notice.components.values_list("pk", flat=True))
    if components:
        chosen = Subscriber.components.through.objects.filter(component_id__in=components)
        found = found.filter(
            Q(components__isnull=True) | Q(pk__in=chosen.values("subscriber_id"))
        ).distinct()
    return found.order_by("pk").values_list("pk", "kind", "email", "endpoint", "token")


@timers.register(FANOUT_TIMER)
def _fanout_timer(timer, now) -> None:
    notice_fan_out(notice_id=timer.object_id, now=now)


def notice_fan_out(*, notice_id: int, now: datetime | None = None) -> int:
    """One chunk of a notice's fan-out, inside the timer's claim. Returns rows offered."""
    now = now or timezone.now()
    notice = SubscriberNotice.objects.select_for_update().get(pk=notice_id)
    if notice.fanned_out_at is not None:
        return 0
    rows: list[dict] = []
    topic = notice.topic
    if notice.cursor == 0 and notice.extra_addresses:
        for address in notice.extra_addresses:
            rows.append(
                {
                    "idempotency_key": f"subscribers:{notice.pk}:to:{address}",
                    "channel": Channel.EMAIL,
                    "destination": address,
                    "subject": notice.subject,
                    "body": notice.body,
                    "topic": topic,
                    "headers": {"Auto-Submitted": "auto-generated"},
                }
            )
    source = notice.payload or {}
    if notice.to_webhooks and "meta" not in source and "unavailable" not in source:
        # Built once, at the first chunk: every subscriber gets the same document.
        notice.payload = _payload(notice, now, source) or {"unavailable": True, **source}
    webhook_body = json.dumps(notice.payload) if "meta" in (notice.payload or {}) else ""
    chunk = list(_recipients(notice)[:CHUNK])
    site = settings.SITE_URL.rstrip("/")
    for pk, kind, email, endpoint, token in chunk:
        unsubscribe = f"{site}/status/subscriptions/{token}/unsubscribe/"
        manage = f"{site}/status/subscriptions/{token}/"
        key = f"subscribers:{notice.pk}:{pk}"
        if kind == SubscriberKind.EMAIL:
            rows.append(
                {
                    "idempotency_key": key,
                    "channel": Channel.EMAIL,
                    "destination": email,
                    "subject": notice.subject,
                    "body": notice.body + _footer(unsubscribe, manage),
                    "topic": topic,
                    "headers": {
                        "List-Unsubscribe": f"<{unsubscribe}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                        "List-Id": f"{settings.STATUS_PAGE_NAME} status "
                        f"<{settings.STATUS_PAGE_ID}.status>",
                        "Auto-Submitted": "auto-generated",
                        "Precedence": "bulk",
                    },
                }
            )
        elif webhook_body:
            rows.append(
                {
                    "idempotency_key": key,
                    "channel": Channel.WEBHOOK,
                    "destination": endpoint,
                    "subject": notice.subject,
                    "body": webhook_body.replace('"{unsubscribe}"', json.dumps(unsubscribe), 1),
                    "topic": topic,
                    "headers": {"X-Status-Event": EVENT_WORDS[notice.event]},
                }
            )
    notifications.notify_bulk(rows, reason=REASON, now=now)
    done = len(chunk) < CHUNK
    SubscriberNotice.objects.filter(pk=notice.pk).update(
        payload=notice.payload,
        cursor=chunk[-1][0] if chunk else notice.cursor,
        recipients=notice.recipients + len(rows),
        fanned_out_at=now if done else None,
    )
    if not done:
        timers.schedule(FANOUT_TIMER, notice.pk, now)
        transaction.on_commit(lambda: _start_fanout(notice.pk), robust=True)
    if rows:
        # Two drains: a second worker shares the bulk lane while one is busy.
        transaction.on_commit(lambda: notifications.kick(Lane.BULK, copies=2), robust=True)
    return len(rows)


# -- What staff see -----------------------------------------------------------------------


def counts(notices: list[SubscriberNotice]) -> dict[int, dict[str, int]]:
    """Per notice: how many of its rows were sent, are pending, failed or were skipped."""
    topics = {n.topic: n.pk for n in notices}
    found: dict[int, dict[str, int]] = {n.pk: {} for n in notices}
    if not notices:
        return found
    rows = (
        Notification.objects.filter(topic__in=list(topics))
        .values_list("topic", "status")
        .annotate(n=Count("id"))
    )
    for topic, status, n in rows:
        found[topics[topic]][status] = n
    for tally in found.values():
        tally["pending"] = tally.get("pending", 0) + tally.pop("sending", 0)
    return found


def recent(limit: int = 20, **filters) -> list[tuple[SubscriberNotice, dict[str, int]]]:
    notices = list(
        SubscriberNotice.objects.filter(**filters).select_related("incident", "maintenance")[:limit]
    )
    tally = counts(notices)
    return [(n, tally[n.pk]) for n in notices]


def audience() -> dict[str, int]:
    """How many subscribers, by kind and state, for the staff page."""
    out = {"email": 0, "webhook": 0, "pending": 0}
    for kind, state, n in (
        Subscriber.objects.filter(state__in=(SubscriberState.ACTIVE, SubscriberState.PENDING))
        .values_list("kind", "state")
        .annotate(n=Count("id"))
    ):
        if state == SubscriberState.PENDING:
            out["pending"] += n
        else:
            out[kind] += n
    return out


def affected_subscribers(incident: Incident) -> int:
    """How many email subscribers hear of this incident (its components', and everyone's)."""
    components = list(incident.components.values_list("pk", flat=True))
    found = Subscriber.objects.filter(state=SubscriberState.ACTIVE, kind=SubscriberKind.EMAIL)
    if components:
        chosen = Subscriber.components.through.objects.filter(component_id__in=components)
        found = found.filter(
            Q(components__isnull=True) | Q(pk__in=chosen.values("subscriber_id"))
        ).distinct()
    return found.count()


def components_choices() -> list[Component]:
    return list(
        Component.objects.select_related("group").order_by("group__position", "position", "name")
    )
