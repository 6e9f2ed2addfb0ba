"""Who may do what on an incident, as one table (spec "Incident Commander Role": the commander
declares resolution and holds command until handing it over). The services check it; the pages
ask it which actions to offer.

Parties: the incident's Incident Commander; a Manager (anyone holding the
incidents.command_any_incident permission: the Manager and Admin groups); the holder of the
role an action is about; any responder (incidents.change_incident); and the system itself
(actor None: timers now, alerts later)."""

from enum import StrEnum

from portal.errors import ApplicationError

from .models import Incident, ResponseRole, RoleAssignment

RESPONDER_PERM = "incidents.change_incident"
MANAGER_PERM = "incidents.command_any_incident"


class Party(StrEnum):
    COMMANDER = "the Incident Commander"
    MANAGER = "a Manager"
    ROLE_HOLDER = "the holder of that role"
    RESPONDER = "a responder"
    SYSTEM = "the system"


C, M, H, R, S = Party.COMMANDER, Party.MANAGER, Party.ROLE_HOLDER, Party.RESPONDER, Party.SYSTEM

# action -> (what it is, in the refusal's words; who may do it)
AUTHORITY: dict[str, tuple[str, frozenset[Party]]] = {
    "declare": ("declare an incident", frozenset({R, S})),
    "acknowledge": ("acknowledge this incident", frozenset({R})),
    "verify": ("verify this incident", frozenset({R})),
    "mark_false_alarm": ("close this incident as a false alarm", frozenset({R})),
    "edit": ("edit this incident", frozenset({R})),
    "change_status": ("change this incident's status", frozenset({R})),
    "resolve": ("resolve this incident", frozenset({C, M})),
    "close": ("close this incident", frozenset({C, M})),
    "reopen": ("re-open this incident", frozenset({R})),
    "hand_over_command": ("hand over command of this incident", frozenset({C, M})),
    # With nobody in command: any responder takes it; naming someone else is a Manager's.
    "take_command": ("take command of this incident", frozenset({R, S})),
    "appoint_commander": ("name someone else Incident Commander", frozenset({M, S})),
    "assign_role": ("assign response roles", frozenset({R})),
    "page_someone": ("page someone", frozenset({R})),
    "release_role": ("release this role", frozenset({C, M, H})),
    "post_update": ("post status updates", frozenset({R})),
    "add_note": ("add notes", frozenset({R})),
    "tick_checklist": ("tick checklist items", frozenset({R})),
    "follow_runbook": ("attach runbooks to this incident", frozenset({R})),
    "waive_item": ("waive checklist items", frozenset({R})),
    "mark_key": ("mark key events", frozenset({R})),
    "set_component_status": ("change a component's status", frozenset({R, S})),
    "mark_significant": (
        "mark this incident significant (it then needs a post-mortem)",
        frozenset({C, M}),
    ),
    "set_publicity": ("decide what the status page shows of this incident", frozenset({R})),
    "email_users": ("email affected users", frozenset({C, M, H})),
    "remind_prolonged": ("send the prolonged-P1 reminder", frozenset({S})),
    "schedule_maintenance": ("schedule maintenance windows", frozenset({R})),
    "move_maintenance": ("move maintenance windows along", frozenset({R, S})),
    "resolve_cleared": ("resolve an incident because its alerts cleared", frozenset({S})),
    "record_response_breach": ("record a response-time breach", frozenset({S})),
    "send_update_reminder": ("send status-update reminders", frozenset({S})),
    "fire_escalation_trigger": ("fire escalation triggers", frozenset({S})),
}


def commander_of(incident: Incident | None):
    if incident is None or incident.pk is None:
        return None
    assignment = RoleAssignment.objects.current(incident, ResponseRole.COMMANDER)
    return assignment.user if assignment else None


def parties(actor, incident: Incident | None, *, holder=None, commander=...) -> set[Party]:
    """What the actor is on this incident. holder: the person holding the role the action is
    about, if any. commander: the current commander when the caller already has it."""
    if actor is None:
        return {Party.SYSTEM}
    found: set[Party] = set()
    if not actor.is_active:
        return found
    if actor.has_perm(RESPONDER_PERM):
        found.add(Party.RESPONDER)
    if actor.has_perm(MANAGER_PERM):
        found.add(Party.MANAGER)
    if commander is ...:
        commander = commander_of(incident)
    if commander is not None and commander.pk == actor.pk:
        found.add(Party.COMMANDER)
    if holder is not None and holder.pk == actor.pk:
        found.add(Party.ROLE_HOLDER)
    return found


def allows(action: str, actor, incident: Incident | None, **kwargs) -> bool:
    _, allowed = AUTHORITY[action]
    return bool(allowed & parties(actor, incident, **kwargs))


def require(action: str, actor, incident: Incident | None, *, role: str = "", **kwargs) -> None:
    """Refuse, in words that say who may, unless the actor is one of them. role: the role
    whose holder may (its name, for the refusal)."""
    what, allowed = AUTHORITY[action]
    if kwargs.get("commander", ...) is ... and Party.COMMANDER in allowed:
        kwargs["commander"] = commander_of(incident)
    if allowed & parties(actor, incident, **kwargs):
        return
    message = f"Only {describe(allowed, incident, role=role, **kwargs)} can {what}."
    if Party.COMMANDER in allowed and kwargs.get("commander") is None:
        message += " Nobody is in command yet: take command first."
    raise ApplicationError(message)


def who_may(action: str, incident: Incident, **kwargs) -> str:
    return describe(AUTHORITY[action][1], incident, **kwargs)


def describe(
    allowed: frozenset[Party],
    incident: Incident | None,
    *,
    holder=None,
    commander=...,
    role: str = "",
) -> str:
    from .timeline import display_name

    names = []
    for party in Party:
        if party not in allowed or party == Party.SYSTEM and len(allowed) > 1:
            continue
        text = str(party)
        if party == Party.COMMANDER:
            if commander is ...:
                commander = commander_of(incident)
            if commander is not None:
                text += f" ({display_name(commander)})"
        elif party == Party.ROLE_HOLDER:
            text = f"the {role}" if role else text
            if holder is not None:
                text += f" ({display_name(holder)})"
        names.append(text)
    if len(names) == 1:
        return names[0]
    return f"{', '.join(names[:-1])} or {names[-1]}"
