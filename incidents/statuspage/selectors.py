"""Read queries for the internal status page. A fixed number of queries, whatever the rows."""

from dataclasses import dataclass

from django.db.models import Prefetch

from ..models import (
    Component,
    ComponentGroup,
    ComponentStatusChange,
    Incident,
    Maintenance,
    MaintenanceStatus,
)
from ..selectors import with_commander

RECENT_CHANGES = 20


@dataclass
class InternalStatus:
    groups: list[ComponentGroup]
    ungrouped: list[Component]
    incidents: list[Incident]
    changes: list[ComponentStatusChange]
    maintenances: list[Maintenance]


def internal_status() -> InternalStatus:
    components = Component.objects.order_by("position", "name")
    groups = list(
        ComponentGroup.objects.prefetch_related(Prefetch("components", queryset=components))
    )
    ungrouped = list(components.filter(group__isnull=True))
    incidents = list(
        with_commander(Incident.objects.active())
        .prefetch_related("components")
        .order_by("severity", "declared_at")
    )
    changes = list(
        ComponentStatusChange.objects.select_related(
            "component", "changed_by__profile", "incident"
        ).order_by("-changed_at", "-id")[:RECENT_CHANGES]
    )
    maintenances = list(
        Maintenance.objects.exclude(status=MaintenanceStatus.COMPLETED)
        .prefetch_related("components")
        .order_by("starts_at")
    ) + list(
        Maintenance.objects.filter(status=MaintenanceStatus.COMPLETED)
        .prefetch_related("components")
        .order_by("-completed_at")[:5]
    )
    return InternalStatus(groups, ungrouped, incidents, changes, maintenances)
