"""What the war room shows at a glance, beside selectors.war_room: the status steps, what the
viewer is on this incident, the checklist that matters now, and the role form's defaults.
Read-only helpers over what the selectors loaded: no queries here."""

from dataclasses import dataclass

from .models import ChecklistKind, Incident, Status

# The lifecycle as the page draws it (a false alarm is shown apart).
STEPS = (
    Status.TRIAGE,
    Status.INVESTIGATING,
    Status.IDENTIFIED,
    Status.MONITORING,
    Status.RESOLVED,
    Status.CLOSED,
)

# The checklist that matters in each status: opened, the others collapsed.
CURRENT_CHECKLIST = {
    Status.TRIAGE: ChecklistKind.TRIAGE,
    Status.INVESTIGATING: ChecklistKind.INITIAL_RESPONSE,
    Status.IDENTIFIED: ChecklistKind.INITIAL_RESPONSE,
    Status.MONITORING: ChecklistKind.RESOLUTION,
    Status.RESOLVED: ChecklistKind.RESOLUTION,
}


@dataclass
class Step:
    value: str
    label: str
    state: str  # "done", "skipped" (passed without reaching it), "current" or "todo"


def steps(incident: Incident) -> list[Step]:
    if incident.status == Status.FALSE_ALARM:
        return [
            Step(Status.TRIAGE, Status.TRIAGE.label, "done"),
            Step(Status.FALSE_ALARM, Status.FALSE_ALARM.label, "current"),
        ]
    current = STEPS.index(incident.status)
    # One declared straight into Investigating (verified as it was declared) skipped Triage.
    triaged = incident.verified_at is None or incident.verified_at != incident.declared_at
    first = 0 if triaged else 1
    # A step passed without its milestone was skipped: Identified when mitigation came before
    # the root cause, Investigating to Monitoring when the alerts cleared in Triage.
    reached = {
        Status.INVESTIGATING: incident.verified_at,
        Status.IDENTIFIED: incident.identified_at,
        Status.MONITORING: incident.mitigated_at,
    }

    def state(i: int, value: str) -> str:
        if i == current:
            return "current"
        if i > current:
            return "todo"
        return "skipped" if value in reached and reached[value] is None else "done"

    return [
        Step(value, value.label, state(i, value)) for i, value in enumerate(STEPS) if i >= first
    ]


def viewer_roles(roles, viewer) -> list[str]:
    """The response roles the viewer holds ("You are Technical Lead")."""
    return [slot.label for slot in roles if slot.holder is not None and slot.holder == viewer]


@dataclass
class ChecklistView:
    checklist: object
    done: int
    total: int
    open: bool


def checklists(incident: Incident) -> list[ChecklistView]:
    """The incident's checklists (prefetched) with their progress; the one for now is open."""
    current = CURRENT_CHECKLIST.get(incident.status)
    views = []
    for checklist in incident.checklists.all():
        items = list(checklist.items.all())
        done = sum(1 for item in items if item.done_at or item.waived_reason)
        # A runbook being followed stays open while the incident is worked on.
        runbook = checklist.kind == ChecklistKind.RUNBOOK and incident.is_active
        views.append(
            ChecklistView(checklist, done, len(items), checklist.kind == current or runbook)
        )
    return views


def role_default(roles, role_form=None) -> str:
    if role_form is not None and role_form.data.get("role"):
        return role_form.data["role"]
    free = [slot.role for slot in roles if slot.holder is None and slot.role != "commander"]
    return free[0] if free else "technical_lead"


def holder_to_confirm(roles, role_form=None) -> str:
    """After a refusal without JavaScript: the holder of the chosen role, so that sending the
    form again confirms replacing them."""
    if role_form is None:
        return ""
    chosen = role_form.data.get("role")
    holder = next((slot.holder for slot in roles if slot.role == chosen), None)
    return str(holder.pk) if holder is not None else ""
