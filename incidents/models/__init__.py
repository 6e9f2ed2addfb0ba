from ..intake.models import (
    Alert,
    AlertGroup,
    AlertStatus,
    Integration,
    IntegrationKind,
    SeenSignature,
)
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
from .incident import (
    ACTIVE_STATUSES,
    Followup,
    Incident,
    IncidentCounter,
    PublicImpact,
    Source,
    Status,
)
from .maintenance import OPEN_MAINTENANCE, Maintenance, MaintenanceStatus, MaintenanceUpdate
from .timeline import TimelineEvent, Visibility

__all__ = [
    "Alert",
    "AlertGroup",
    "AlertStatus",
    "Integration",
    "IntegrationKind",
    "SeenSignature",
    "ACTIVE_STATUSES",
    "Audience",
    "EscalationTrigger",
    "Followup",
    "KeyEvent",
    "Maintenance",
    "MaintenanceStatus",
    "MaintenanceUpdate",
    "OPEN_MAINTENANCE",
    "PublicImpact",
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
