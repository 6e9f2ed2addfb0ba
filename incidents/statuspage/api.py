"""Atlassian Statuspage's public API v2 (/api/v2/*.json), in its exact shapes, so existing
clients, widgets and exporters work unchanged. Ids are strings, times ISO-8601 with the
page's offset, lists the 50 most recent. Built from the public records only
(incidents/statuspage/public.py)."""

from __future__ import annotations

import json
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder

from .public import LIST_LIMIT, PublicComponent, PublicIncident, PublicState, PublicUpdate, zone


def when(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(zone()).isoformat(timespec="milliseconds")


def page(state: PublicState) -> dict:
    p = state.page
    return {
        "id": p.id,
        "name": p.name,
        "url": p.url,
        "time_zone": p.time_zone,
        "updated_at": when(p.updated_at),
    }


def component(c: PublicComponent, page_id: str) -> dict:
    data = {
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "created_at": when(c.created_at),
        "updated_at": when(c.updated_at),
        "position": c.position,
        "description": c.description or None,
        "showcase": not c.group,
        "start_date": c.start_date.isoformat() if c.start_date else None,
        "group_id": c.group_id,
        "page_id": page_id,
        "group": c.group,
        "only_show_if_degraded": False,
    }
    if c.group:
        data["components"] = [child.id for child in c.children]
    return data


def update(u: PublicUpdate, incident_id: str) -> dict:
    return {
        "id": u.id,
        "status": u.status,
        "body": u.body,
        "incident_id": incident_id,
        "created_at": when(u.created_at),
        "updated_at": when(u.created_at),
        "display_at": when(u.created_at),
        "affected_components": (
            [
                {
                    "code": a.code,
                    "name": a.name,
                    "old_status": a.old_status,
                    "new_status": a.new_status,
                }
                for a in u.affected_components
            ]
            if u.affected_components
            else None
        ),
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident(i: PublicIncident, page_id: str) -> dict:
    data = {
        "id": i.id,
        "name": i.name,
        "status": i.status,
        "created_at": when(i.created_at),
        "updated_at": when(i.updated_at),
        "monitoring_at": when(i.monitoring_at),
        "resolved_at": when(i.resolved_at),
        "impact": i.impact,
        "shortlink": i.shortlink,
        "started_at": when(i.started_at),
        "page_id": page_id,
        "incident_updates": [update(u, i.id) for u in i.updates],
        "components": [component(c, page_id) for c in i.components],
    }
    if i.maintenance:
        data["scheduled_for"] = when(i.scheduled_for)
        data["scheduled_until"] = when(i.scheduled_until)
    return data


def status(state: PublicState) -> dict:
    return {"indicator": state.indicator.key, "description": state.indicator.description}


def _incidents(items: list[PublicIncident], page_id: str) -> list[dict]:
    return [incident(i, page_id) for i in items[:LIST_LIMIT]]


def documents(state: PublicState) -> dict[str, dict]:
    """Every endpoint's document, by path."""
    pid = state.page.id
    head = {"page": page(state)}
    components = [component(c, pid) for c in state.flat_components]
    unresolved = state.open_incidents
    upcoming = state.upcoming_maintenances
    active = state.active_maintenances
    return {
        "/api/v2/summary.json": {
            **head,
            "components": components,
            "incidents": _incidents(unresolved, pid),
            "scheduled_maintenances": _incidents(active + upcoming, pid),
            "status": status(state),
        },
        "/api/v2/status.json": {**head, "status": status(state)},
        "/api/v2/components.json": {**head, "components": components},
        "/api/v2/incidents.json": {**head, "incidents": _incidents(state.incidents, pid)},
        "/api/v2/incidents/unresolved.json": {**head, "incidents": _incidents(unresolved, pid)},
        "/api/v2/scheduled-maintenances.json": {
            **head,
            "scheduled_maintenances": _incidents(state.maintenances, pid),
        },
        "/api/v2/scheduled-maintenances/upcoming.json": {
            **head,
            "scheduled_maintenances": _incidents(upcoming, pid),
        },
        "/api/v2/scheduled-maintenances/active.json": {
            **head,
            "scheduled_maintenances": _incidents(active, pid),
        },
    }


_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def dumps(document: dict) -> str:
    """Compact JSON in which no public text can open a tag, even if a careless client
    drops it into HTML: <, > and & are escaped (the values decode to the same text)."""
    text = json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    return text.translate(_HTML_SAFE)
