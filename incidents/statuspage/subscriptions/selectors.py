"""What staff see of subscribers (issue 14): how many, and per notice how many of its rows
were sent, are pending, failed or were skipped."""

from __future__ import annotations

from django.db.models import Count, Q

from portal.models import Notification

from ...models import (
    Component,
    Incident,
    Subscriber,
    SubscriberKind,
    SubscriberNotice,
    SubscriberState,
)


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
        tally["rows"] = sum(n for status, n in tally.items() if status != "rows")
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
