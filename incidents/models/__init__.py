from .checklist import (
    ChecklistKind,
    ChecklistTemplate,
    ChecklistTemplateItem,
    IncidentChecklist,
    IncidentChecklistItem,
)
from .component import Component, ComponentGroup
from .incident import ACTIVE_STATUSES, Incident, IncidentCounter, Source, Status
from .timeline import TimelineEvent, Visibility

__all__ = [
    "ACTIVE_STATUSES",
    "ChecklistKind",
    "ChecklistTemplate",
    "ChecklistTemplateItem",
    "Component",
    "ComponentGroup",
    "Incident",
    "IncidentChecklist",
    "IncidentChecklistItem",
    "IncidentCounter",
    "Source",
    "Status",
    "TimelineEvent",
    "Visibility",
]
