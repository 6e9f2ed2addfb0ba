"""Running the response: roles, notes, key events and checklists."""

from datetime import datetime
from types import EllipsisType

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from portal.errors import ApplicationError, ConflictError

from .. import authority, timeline
from ..models import (
    ChecklistKind,
    Incident,
    IncidentChecklist,
    IncidentChecklistItem,
    KeyEvent,
    ResponseRole,
    RoleAssignment,
    Status,
    TimelineEvent,
)
from . import notices
from .base import lock, touch
from .checklist_ticks import auto_tick

READ_ONLY = (Status.CLOSED, Status.FALSE_ALARM)


def _writable(incident: Incident, what: str) -> None:
    if incident.status in READ_ONLY:
        raise ApplicationError(
            f"This incident is {incident.get_status_display().lower()}; {what} is no longer "
            "possible."
        )


@transaction.atomic
def role_assign(
    *,
    actor,
    incident: Incident,
    role: str,
    user,
    expected_holder: int | None | EllipsisType = ...,
    now: datetime | None = None,
) -> RoleAssignment:
    """Give a role to a person. One holder per role at a time: the previous holder is released.
    Handing over command is the spec's "announce assumption of command" event.

    expected_holder: the holder (user id, or None for a free role) the person saw and agreed
    to replace; a role held by someone else now is refused, naming them. Left out (...) by
    callers that decide without a page, such as the system."""
    now = now or timezone.now()
    incident = lock(incident)
    _writable(incident, "changing roles")
    if role not in ResponseRole.values:
        raise ApplicationError(f"Unknown role {role!r}.", field="role")
    previous = RoleAssignment.objects.current(incident, role)
    if expected_holder is not ... and (previous.user_id if previous else None) != expected_holder:
        raise _holder_changed(role, previous, expected_holder)
    if role != ResponseRole.COMMANDER:
        authority.require("assign_role", actor, incident)
    elif previous is None:
        # No commander (an alert opened it, say): any responder takes command.
        action = "take_command" if actor is None or user == actor else "appoint_commander"
        authority.require(action, actor, incident, commander=None)
    else:
        authority.require("hand_over_command", actor, incident, commander=previous.user)
    if user is None or not user.is_active:
        raise ApplicationError(f"{user} is not an active user.", field="user")
    if not user.has_perm("incidents.change_incident"):
        raise ApplicationError(
            f"{timeline.display_name(user)} has no Responder role and could not work the "
            "incident; an administrator can add them to the Responder group.",
            field="user",
        )
    label = ResponseRole(role).label
    if previous is not None and previous.user_id == user.pk:
        raise ApplicationError(f"{timeline.display_name(user)} is already {label}.", field="user")
    if previous is not None:
        RoleAssignment.objects.filter(pk=previous.pk).update(released_at=now)
    assignment = RoleAssignment.objects.create(
        incident=incident, role=role, user=user, assigned_by=actor, assigned_at=now
    )
    if role == ResponseRole.COMMANDER and previous is not None:
        timeline.command_handover(incident, actor, previous=previous.user, new=user, at=now)
    else:
        event = timeline.role_assigned(
            incident,
            actor,
            role=role,
            label=label,
            user=user,
            previous=previous.user if previous else None,
            at=now,
        )
        auto_tick(incident, event)
    notices.role_given(
        incident, user=user, label=label, actor=actor, key=str(assignment.pk), now=now
    )
    touch(incident)
    return assignment


def _holder_changed(role: str, previous, expected: int | None) -> ConflictError:
    label = ResponseRole(role).label
    if previous is None:
        return ConflictError(
            f"The {label} role was given up meanwhile; nobody holds it now. Choose again.",
            field="role",
        )
    name = timeline.display_name(previous.user)
    if expected is None and role == ResponseRole.COMMANDER:
        return ConflictError(
            f"{name} is Incident Commander (taken meanwhile, or already). To replace them, "
            "hand over command: only they or a Manager can.",
            field="role",
        )
    if expected is None:
        return ConflictError(
            f"{name} is {label}. Confirm that you want to replace them, then assign again.",
            field="role",
        )
    what = "Command" if role == ResponseRole.COMMANDER else f"The {label} role"
    return ConflictError(
        f"{what} changed hands meanwhile: {name} is {label} now. Check, then assign again.",
        field="role",
    )


@transaction.atomic
def role_release(*, actor, incident: Incident, role: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    incident = lock(incident)
    _writable(incident, "changing roles")
    if role == ResponseRole.COMMANDER:
        raise ApplicationError(
            "An incident always has a commander: hand command over to someone instead.",
            field="role",
        )
    holder = RoleAssignment.objects.current(incident, role)
    if holder is None:
        raise ApplicationError(f"Nobody holds the {ResponseRole(role).label} role.", field="role")
    authority.require("release_role", actor, incident, holder=holder.user)
    RoleAssignment.objects.filter(pk=holder.pk).update(released_at=now)
    timeline.role_released(
        incident, actor, role=role, label=ResponseRole(role).label, user=holder.user, at=now
    )
    touch(incident)


@transaction.atomic
def incident_add_note(
    *, actor, incident: Incident, text: str, tag: str = "", now: datetime | None = None
) -> TimelineEvent:
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Write the note first.", field="text")
    if len(text) > 5000:
        raise ApplicationError(f"At most 5000 characters (it has {len(text)}).", field="text")
    if tag not in timeline.NOTE_TAGS:
        raise ApplicationError(f"Unknown tag {tag!r}.", field="tag")
    incident = lock(incident)
    authority.require("add_note", actor, incident)
    _writable(incident, "adding notes")
    event = timeline.note(incident, actor, text=text, tag=tag, at=now)
    touch(incident)
    return event


@transaction.atomic
def event_mark_key(
    *, actor, event: TimelineEvent, key: bool = True, now: datetime | None = None
) -> bool:
    """Mark (or unmark) a timeline event as key; key events seed the post-mortem timeline.
    The mark lives beside the event, which stays untouched."""
    incident = lock(event.incident)
    authority.require("mark_key", actor, incident)
    if key:
        _, created = KeyEvent.objects.get_or_create(
            event=event, defaults={"marked_by": actor, "marked_at": now or timezone.now()}
        )
        changed = created
    else:
        changed = KeyEvent.objects.filter(event=event).delete()[0] > 0
    if changed:
        timeline.key_event(incident, actor, event=event, key=key, at=now)
        touch(incident)
    return changed


@transaction.atomic
def checklist_item_set(
    *, actor, item: IncidentChecklistItem, done: bool, now: datetime | None = None
) -> IncidentChecklistItem:
    """Tick or untick. Two people ticking the same item at once: one wins, the other is told."""
    now = now or timezone.now()
    incident = lock(item.checklist.incident)
    authority.require("tick_checklist", actor, incident)
    _writable(incident, "changing checklists")
    if not IncidentChecklistItem.objects.filter(pk=item.pk, done_at__isnull=done).exists():
        state = "ticked" if done else "unticked"
        raise ApplicationError(f"“{item.text}” is already {state}.")
    # The item and its twins in the other lists (same key): one act, ticked everywhere.
    twins = Q(pk=item.pk) | (Q(checklist__incident=incident, key=item.key) if item.key else Q())
    items = IncidentChecklistItem.objects.filter(twins)
    if done:
        items.filter(done_at__isnull=True).update(done_at=now, done_by=actor, done_event=None)
    else:
        items.filter(done_at__isnull=False).update(done_at=None, done_by=None, done_event=None)
    item.refresh_from_db()
    timeline.checklist_item(incident, actor, item=item, action="done" if done else "undone", at=now)
    touch(incident)
    return item


@transaction.atomic
def checklist_item_waive(
    *, actor, item: IncidentChecklistItem, reason: str, now: datetime | None = None
) -> IncidentChecklistItem:
    """A verification item that cannot be done (say, no status page for an internal service)
    is waived with a reason instead, so that the incident can be resolved."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why this item is waived.", field="reason")
    if len(reason) > 500:
        raise ApplicationError(f"At most 500 characters (it has {len(reason)}).", field="reason")
    incident = lock(item.checklist.incident)
    authority.require("waive_item", actor, incident)
    _writable(incident, "changing checklists")
    if not item.is_verification:
        raise ApplicationError("Only verification items can be waived; tick or leave the rest.")
    IncidentChecklistItem.objects.filter(pk=item.pk).update(waived_reason=reason)
    item.refresh_from_db()
    timeline.checklist_item(incident, actor, item=item, action="waived", reason=reason, at=now)
    touch(incident)
    return item


STEP_CHARS = 300  # a checklist item's text (the runbook keeps the whole step)


@transaction.atomic
def checklist_attach(
    *,
    actor,
    incident: Incident,
    title: str,
    steps: list[tuple[str, str]],
    source: dict,
    now: datetime | None = None,
) -> IncidentChecklist:
    """A checklist from outside the incident (a runbook's steps: [(key, text)]) joins the
    incident's checklists, and the timeline says where it came from. source: title, version
    and url of what it was taken from."""
    now = now or timezone.now()
    incident = lock(incident)
    authority.require("follow_runbook", actor, incident)
    _writable(incident, "attaching runbooks")
    checklist = IncidentChecklist.objects.create(
        incident=incident,
        kind=ChecklistKind.RUNBOOK,
        title=title[:100],
        position=100 + incident.checklists.count(),
    )
    IncidentChecklistItem.objects.bulk_create(
        IncidentChecklistItem(
            checklist=checklist,
            position=n,
            key=key[:64],
            text=text if len(text) <= STEP_CHARS else text[: STEP_CHARS - 1] + "…",
        )
        for n, (key, text) in enumerate(steps)
    )
    timeline.runbook(
        incident, actor, title=source["title"], version=source["version"], steps=len(steps),
        url=source["url"], at=now,
    )  # fmt: skip
    touch(incident)
    return checklist
