"""Read queries for the incident pages. Each page's query count is fixed, whatever the rows."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .models import (
    Incident,
    IncidentChecklist,
    IncidentChecklistItem,
    Status,
    TimelineEvent,
)
from .severity import SEVERITIES, SeverityLevel

SORTS = {
    "newest": ("-declared_at", "-id"),
    "oldest": ("declared_at", "id"),
    "severity": ("severity", "-declared_at", "-id"),
    "status": ("status", "-declared_at", "-id"),
    "reference": ("reference",),
}


def _with_related(qs: QuerySet[Incident]) -> QuerySet[Incident]:
    return qs.select_related("declared_by__profile").prefetch_related("components")


@dataclass
class SeverityColumn:
    level: SeverityLevel
    incidents: list[Incident]


@dataclass
class Dashboard:
    columns: list[SeverityColumn]
    mine: list[Incident]
    active_count: int
    breached_count: int
    now: datetime


def dashboard(user) -> Dashboard:
    active = list(_with_related(Incident.objects.active()).order_by("severity", "declared_at"))
    columns = [
        SeverityColumn(level, [i for i in active if i.severity == code])
        for code, level in SEVERITIES.items()
    ]
    mine = [i for i in active if i.declared_by_id == user.pk]
    now = timezone.now()
    breached = sum(1 for i in active if i.response_state(now) == "breached")
    return Dashboard(columns, mine, len(active), breached, now)


def incident_list(filters: dict) -> QuerySet[Incident]:
    qs = Incident.objects.all()
    if filters.get("q"):
        q = filters["q"]
        qs = qs.filter(Q(reference__icontains=q) | Q(title__icontains=q) | Q(summary__icontains=q))
    if filters.get("status"):
        wanted = set(filters["status"])
        if "active" in wanted:
            wanted.discard("active")
            wanted.update(
                s.value
                for s in (Status.TRIAGE, Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)
            )
        qs = qs.filter(status__in=wanted)
    if filters.get("severity"):
        qs = qs.filter(severity__in=filters["severity"])
    if filters.get("type"):
        qs = qs.filter(type=filters["type"])
    if filters.get("component"):
        qs = qs.filter(components=filters["component"])
    if filters.get("date_from"):
        qs = qs.filter(declared_at__date__gte=filters["date_from"])
    if filters.get("date_to"):
        qs = qs.filter(declared_at__date__lte=filters["date_to"])
    order = SORTS.get(filters.get("sort") or "newest", SORTS["newest"])
    return _with_related(
        qs.order_by(*order).distinct() if filters.get("component") else qs.order_by(*order)
    )


def incident_detail(reference: str) -> Incident:
    checklist_items = IncidentChecklistItem.objects.select_related("done_by__profile")
    return get_object_or_404(
        Incident.objects.select_related("declared_by__profile").prefetch_related(
            "components",
            Prefetch(
                "checklists",
                queryset=IncidentChecklist.objects.prefetch_related(
                    Prefetch("items", queryset=checklist_items)
                ),
            ),
        ),
        reference=reference,
    )


def timeline(incident: Incident, *, newest_first: bool = False) -> list[TimelineEvent]:
    qs = incident.events.select_related("actor__profile")
    return list(qs.order_by("-id" if newest_first else "id"))
