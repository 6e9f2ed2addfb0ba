from .checklist import (
    ChecklistKind,
    ChecklistTemplate,
    ChecklistTemplateItem,
    IncidentChecklist,
    IncidentChecklistItem,
)
from .command import (
    Audience,
    EscalationTrigger,
    KeyEvent,
    ResponseRole,
    RoleAssignment,
    StatusUpdate,
)
from .component import Component, ComponentGroup, ComponentStatus, ComponentStatusChange
from .incident import ACTIVE_STATUSES, Followup, Incident, IncidentCounter, Source, Status
from .timeline import TimelineEvent, Visibility

__all__ = [
    "ACTIVE_STATUSES",
    "Audience",
    "EscalationTrigger",
    "Followup",
    "KeyEvent",
    "ResponseRole",
    "RoleAssignment",
    "StatusUpdate",
    "ChecklistKind",
    "ChecklistTemplate",
    "ChecklistTemplateItem",
    "Component",
    "ComponentGroup",
    "ComponentStatus",
    "ComponentStatusChange",
    "Incident",
    "IncidentChecklist",
    "IncidentChecklistItem",
    "IncidentCounter",
    "Source",
    "Status",
    "TimelineEvent",
    "Visibility",
]
