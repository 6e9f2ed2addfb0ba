"""A post-mortem as one plain document: the working copy for the page, frozen into a
Revision when published, and what the PDF and the knowledge-base search read. JSON-safe
(datetimes as ISO strings); `load` turns it back into values templates can format."""

from datetime import date, datetime, timedelta
from typing import Any

from portal.models import display_name

from .models import PostMortem
from .rules import Category, priority
from .sections import SECTIONS, Fishbone

FIGURES = (
    ("time_to_acknowledge", "Time to acknowledge"),
    ("time_to_mitigate", "Time to mitigate"),
    ("time_to_resolve", "Time to resolve"),
)


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value else None


def _seconds(value: timedelta | None) -> int | None:
    return int(value.total_seconds()) if value is not None else None


def _teams(user) -> list[str]:
    return [t.name for t in user.teams.all()]


def build(postmortem: PostMortem) -> dict[str, Any]:
    incident = postmortem.incident
    participants = list(
        postmortem.participants.select_related("profile")
        .prefetch_related("teams")
        .order_by("username")
    )
    entries = postmortem.entries.filter(included=True).order_by("at", "id")
    items = postmortem.action_items.select_related("owner__profile").order_by(
        "priority", "due_on", "id"
    )
    authors = [display_name(postmortem.owner)] + [
        display_name(p) for p in participants if p.pk != postmortem.owner_id
    ]
    return {
        "reference": incident.reference,
        "title": incident.title,
        "severity": incident.severity,
        "incident_type": incident.get_type_display(),
        "revision": postmortem.revision,
        "status": postmortem.get_status_display(),
        "owner": display_name(postmortem.owner),
        "authors": authors,
        "participants": [{"name": display_name(p), "teams": _teams(p)} for p in participants],
        "due_at": _iso(postmortem.due_at),
        "meeting_at": _iso(postmortem.meeting_at),
        "published_at": _iso(postmortem.published_at),
        "incident": {
            "detected_at": _iso(incident.detected_at),
            "acknowledged_at": _iso(incident.acknowledged_at),
            "mitigated_at": _iso(incident.mitigated_at),
            "resolved_at": _iso(incident.resolved_at),
            "components": [c.name for c in incident.components.all()],
        },
        "figures": {name: _seconds(getattr(incident, name)) for name, _ in FIGURES},
        "sections": {s.name: getattr(postmortem, s.name) for s in SECTIONS},
        "five_whys": list(postmortem.five_whys or []),
        "fishbone": {
            name: list((postmortem.fishbone or {}).get(name, [])) for name in Fishbone.NAMES
        },
        "timeline": [{"at": _iso(e.at), "text": e.text, "event_id": e.event_id} for e in entries],
        "action_items": [
            {
                "title": item.title,
                "done_when": item.done_when,
                "owner": display_name(item.owner),
                "due_on": _iso(item.due_on),
                "category": item.category,
                "impact": item.impact,
                "effort": item.effort,
                "priority": item.priority,
                "status": item.get_status_display(),
                "ticket_url": item.ticket_url,
            }
            for item in items
        ],
    }


def search_text(content: dict[str, Any]) -> str:
    parts = [content["reference"], content["title"], *content["sections"].values()]
    parts += content["five_whys"]
    for factors in content["fishbone"].values():
        parts += factors
    parts += [item["title"] for item in content["action_items"]]
    return "\n".join(p for p in parts if p)


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def load(content: dict[str, Any]) -> dict[str, Any]:
    """The document with its times as datetimes, its figures as durations and its labels
    resolved, for templates."""
    doc = dict(content)
    for key in ("due_at", "meeting_at", "published_at"):
        doc[key] = _dt(content.get(key))
    doc["incident"] = {
        k: _dt(v) if k.endswith("_at") else v for k, v in content["incident"].items()
    }
    doc["figures"] = [
        (label, timedelta(seconds=content["figures"][name]))
        if content["figures"].get(name) is not None
        else (label, None)
        for name, label in FIGURES
    ]
    doc["section_list"] = [(s, content["sections"].get(s.name, "")) for s in SECTIONS]
    doc["fishbone_list"] = [
        (label, content["fishbone"].get(name, [])) for name, label in Fishbone.CATEGORIES
    ]
    doc["timeline"] = [dict(e, at=_dt(e["at"])) for e in content["timeline"]]
    categories = dict(Category.choices)
    doc["action_items"] = [
        dict(
            item,
            due_on=date.fromisoformat(item["due_on"]),
            category_label=categories.get(item["category"], item["category"]).split(":")[0],
            priority_label=str(priority(item["impact"], item["effort"])),
        )
        for item in content["action_items"]
    ]
    return doc
