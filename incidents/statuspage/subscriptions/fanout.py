"""The fan-out of a subscriber notice (issue 14): its durable timer writes CHUNK outbox rows a
firing (bulk lane, one per subscriber, unique key per notice and subscriber) in the same
transaction as the cursor that says how far it got; a worker that dies mid-way rolls back
its chunk and the next firing writes it again, never twice. The webhook document is built
once, at the first chunk, in Statuspage's subscriber webhook shape."""

from __future__ import annotations

import json
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal import bulk, notifications, timers
from portal.models import Channel, Lane

from ...models import (
    ComponentStatusChange,
    NoticeEvent,
    Subscriber,
    SubscriberKind,
    SubscriberNotice,
    SubscriberState,
)
from .. import api, public

FANOUT_TIMER = "subscribers.fanout"
CHUNK = 2000
REASON = "subscriber_update"
DOCUMENTATION = "/subscribe/#webhooks"

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


def status_url(path: str) -> str:
    return settings.STATUS_PAGE_URL.rstrip("/") + path


def arm(notice: SubscriberNotice) -> None:
    """Inside the transaction that wrote the notice: fan it out now (a task after commit),
    or at the next sweep."""
    timers.schedule(FANOUT_TIMER, notice.pk, timezone.now())
    transaction.on_commit(lambda: _start_fanout(notice.pk), robust=True)


def _start_fanout(notice_id: int) -> None:
    from portal import resilience
    from portal.tasks import fire_timer

    if resilience.redis.is_open():
        return  # the sweep fires it
    try:
        fire_timer.apply_async((FANOUT_TIMER, notice_id), queue=notifications.lane_queue(Lane.BULK))
    except Exception as exc:
        resilience.redis.trip(exc)


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
        "documentation": status_url(DOCUMENTATION),
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
        record = public.one_maintenance(notice.maintenance.public_id, by_pk)
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
    for pk, kind, email, endpoint, token in chunk:
        manage, unsubscribe = Subscriber.links(token)
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
    bulk.notify_bulk(rows, reason=REASON, now=now)
    done = len(chunk) < CHUNK
    SubscriberNotice.objects.filter(pk=notice.pk).update(
        payload=notice.payload,
        cursor=chunk[-1][0] if chunk else notice.cursor,
        fanned_out_at=now if done else None,
    )
    if not done:
        timers.schedule(FANOUT_TIMER, notice.pk, now)
        transaction.on_commit(lambda: _start_fanout(notice.pk), robust=True)
    if rows:
        # Two drains: a second worker shares the bulk lane while one is busy.
        transaction.on_commit(lambda: bulk.kick(Lane.BULK, copies=2), robust=True)
    return len(rows)
