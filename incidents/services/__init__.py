"""Every state change of an incident (DESIGN.md decision 1): one transaction that guards the
rule, writes the rows and writes the timeline event; rule violations raise ApplicationError
and write nothing."""

from .command import (
    checklist_item_set,
    checklist_item_waive,
    event_mark_key,
    incident_add_note,
    role_assign,
    role_release,
)
from .core import (
    ASSESSMENT_FIELDS,
    EDITABLE_FIELDS,
    RESPONSE_TIMER,
    assessment_from,
    incident_acknowledge,
    incident_declare,
    incident_mark_false_alarm,
    incident_record_response_breach,
    incident_update,
    incident_verify,
    touch,
)
from .lifecycle import incident_change_status
from .updates import status_update_post

__all__ = [
    "ASSESSMENT_FIELDS",
    "EDITABLE_FIELDS",
    "RESPONSE_TIMER",
    "assessment_from",
    "checklist_item_set",
    "checklist_item_waive",
    "event_mark_key",
    "incident_acknowledge",
    "incident_add_note",
    "incident_change_status",
    "incident_declare",
    "incident_mark_false_alarm",
    "incident_record_response_breach",
    "incident_update",
    "incident_verify",
    "role_assign",
    "role_release",
    "status_update_post",
    "touch",
]
