from .paging import ContactMethod, ContactThrottle, Escalation, Page
from .policies import (
    EscalationPolicy,
    EscalationRoute,
    EscalationStep,
    MatrixEntry,
    OnCallRole,
    StepTarget,
    TargetKind,
    TeamRole,
    Window,
)
from .schedules import (
    CalendarFeed,
    OnCallSchedule,
    RotationMember,
    ScheduleOverride,
    ScheduleRotation,
)

__all__ = [
    "CalendarFeed",
    "ContactMethod",
    "ContactThrottle",
    "Escalation",
    "EscalationPolicy",
    "EscalationRoute",
    "EscalationStep",
    "MatrixEntry",
    "OnCallRole",
    "OnCallSchedule",
    "Page",
    "RotationMember",
    "ScheduleOverride",
    "ScheduleRotation",
    "StepTarget",
    "TargetKind",
    "TeamRole",
    "Window",
]
