"""Every state change of an incident (DESIGN.md decision 1): one transaction that guards the
rule, writes the rows and writes the timeline event; rule violations raise ApplicationError
and write nothing. Who may do what is checked against incidents/authority.py.

    declare.py          declaring
    triage.py           acknowledging, verifying, false alarms, the response-time breach
    edit.py             details, impact and severity
    status_change.py    the status transitions, resolving (with its final update), re-opening
    command.py          roles, notes, key events, checklists
    updates.py          status updates
    update_reminders.py when the next update is due, and its reminders (durable timers)
    escalation_triggers.py  the spec's manager escalation triggers
    components.py       component status and its history
    publicity.py        what the public status page shows of an incident
    maintenance.py      scheduled maintenance windows
    notices.py          who hears of what (the outbox)
    base.py             locking, versioned saves, field validation"""

from .base import EDITABLE_FIELDS, touch
from .command import (
    checklist_attach,
    checklist_item_set,
    checklist_item_waive,
    event_mark_key,
    incident_add_note,
    role_assign,
    role_release,
)
from .communications import incident_email_users
from .components import component_set_status
from .declare import incident_declare
from .edit import incident_set_significant, incident_update
from .maintenance import maintenance_complete, maintenance_schedule, maintenance_verify
from .publicity import incident_record_postmortem, incident_set_publicity
from .status_change import ResolutionNotice, incident_change_status
from .triage import (
    RESPONSE_TIMER,
    incident_acknowledge,
    incident_mark_false_alarm,
    incident_record_response_breach,
    incident_verify,
)
from .updates import status_update_post

__all__ = [
    "EDITABLE_FIELDS",
    "RESPONSE_TIMER",
    "ResolutionNotice",
    "checklist_attach",
    "checklist_item_set",
    "component_set_status",
    "checklist_item_waive",
    "event_mark_key",
    "incident_acknowledge",
    "incident_add_note",
    "incident_change_status",
    "incident_declare",
    "incident_email_users",
    "incident_record_postmortem",
    "incident_set_publicity",
    "incident_set_significant",
    "maintenance_complete",
    "maintenance_schedule",
    "maintenance_verify",
    "incident_mark_false_alarm",
    "incident_record_response_breach",
    "incident_update",
    "incident_verify",
    "role_assign",
    "role_release",
    "status_update_post",
    "touch",
]
