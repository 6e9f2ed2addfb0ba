"""Typed constructors for timeline events (DESIGN.md decision 2), and how each kind reads.

Every change to an incident calls exactly one of these inside the service's transaction.
Nothing else creates, updates or deletes TimelineEvent rows."""

from datetime import datetime, timedelta

from django.utils import timezone

from portal.models import display_name

from .models import Incident, TimelineEvent, Visibility
from .severity import duration, severity

KINDS: dict[str, str] = {
    "declared": "Declared",
    "acknowledged": "Acknowledged",
    "verified": "Verified",
    "false_alarm": "False alarm",
    "severity_changed": "Severity changed",
    "updated": "Details updated",
    "response_breached": "Response time breached",
    "status_changed": "Status changed",
    "note": "Note",
    "role_assigned": "Role assigned",
    "role_released": "Role released",
    "command_handover": "Command handed over",
    "status_update": "Status update",
    "checklist_item": "Checklist",
    "update_overdue": "Status update overdue",
    "escalation_triggered": "Escalation",
    "key_event": "Key event",
    "component_status": "Component status",
    "public_page": "Status page",
    "significant": "Significance",
    "postmortem": "Post-mortem",
    "page": "Paging",
    "alert": "Alert",
    "runbook": "Runbook",
    "communication": "Affected users",
}

# How an update marks what is not confirmed yet (spec "Clearly indicate unconfirmed
# information"), wherever the update appears.
UNCONFIRMED = " (unconfirmed)"

NOTE_TAGS = {
    "": "Note",
    "hypothesis": "Hypothesis",
    "finding": "Finding",
    "action": "Action",
    "decision": "Decision",
}


def label(kind: str, params: dict | None = None) -> str:
    if kind == "note" and params is not None:
        return NOTE_TAGS.get(params.get("tag", ""), "Note")
    return KINDS.get(kind, kind.replace("_", " ").capitalize())


def _event(
    incident: Incident,
    kind: str,
    actor,
    params: dict | None = None,
    *,
    at: datetime | None = None,
    visibility: str = Visibility.INTERNAL,
) -> TimelineEvent:
    if kind not in KINDS:
        raise ValueError(f"Unknown timeline event kind {kind!r}; add it to KINDS first.")
    return TimelineEvent.objects.create(
        incident=incident,
        kind=kind,
        actor=actor,
        occurred_at=at or timezone.now(),
        # "v": the incident version this event produced, so a refused stale save can list
        # exactly what happened since the form was opened.
        params={**(params or {}), "v": incident.version},
        visibility=visibility,
    )


def _published(params: dict, published: bool) -> dict:
    """The change also put the incident on the public status page by itself (P1/P2): said
    on the change's own event, not as an event of its own."""
    if published:
        params["published"] = True
    return params


def declared(
    incident: Incident, actor, *, suggested: str, reason: str, commander=None, published=False
) -> TimelineEvent:
    params = {
        "severity": incident.severity,
        "status": incident.status,
        "suggested_severity": suggested,
        "override_reason": reason,
        "source": incident.source,
        "commander": _person(commander),
    }
    return _event(
        incident, "declared", actor, _published(params, published), at=incident.declared_at
    )


def acknowledged(incident: Incident, actor, *, at: datetime | None = None) -> TimelineEvent:
    return _event(incident, "acknowledged", actor, at=at)


def verified(
    incident: Incident, actor, *, acknowledged: bool, published=False, at: datetime | None = None
) -> TimelineEvent:
    params = {"status": incident.status, "acknowledged": acknowledged}
    return _event(incident, "verified", actor, _published(params, published), at=at)


def false_alarm(incident: Incident, actor, *, note: str, at: datetime | None = None):
    return _event(incident, "false_alarm", actor, {"monitoring_change": note}, at=at)


def severity_changed(
    incident: Incident,
    actor,
    *,
    old: str,
    new: str,
    reason: str,
    changes: dict[str, list] | None = None,
    published: bool = False,
    at: datetime | None = None,
) -> TimelineEvent:
    """changes: other fields changed in the same save, as in `updated`."""
    params = {"from": old, "to": new, "reason": reason, "changes": changes or {}}
    return _event(incident, "severity_changed", actor, _published(params, published), at=at)


def updated(
    incident: Incident, actor, *, changes: dict[str, list], at: datetime | None = None
) -> TimelineEvent:
    """changes: field label -> [old, new] as display strings."""
    return _event(incident, "updated", actor, {"changes": changes}, at=at)


def status_changed(
    incident: Incident,
    actor,
    *,
    old: str,
    new: str,
    label: str,
    note: str,
    acknowledged: bool = False,
    cleared: list[str] | None = None,
    at=None,
) -> TimelineEvent:
    """cleared: the verification items a re-opening unticked, to be checked again."""
    params = {"from": old, "to": new, "note_label": label, "note": note}
    if acknowledged:
        params["acknowledged"] = True
    if cleared:
        params["cleared"] = cleared
    return _event(incident, "status_changed", actor, params, at=at)


def response_breached(incident: Incident, *, at: datetime | None = None) -> TimelineEvent:
    return _event(
        incident,
        "response_breached",
        None,
        {
            "severity": incident.severity,
            "response_time": severity(incident.severity).response_time_display,
        },
        at=at,
    )


def note(incident: Incident, actor, *, text: str, tag: str, at=None) -> TimelineEvent:
    return _event(incident, "note", actor, {"text": text, "tag": tag}, at=at)


def _person(user) -> dict:
    return {"id": user.pk, "name": display_name(user)} if user else {}


def role_assigned(incident: Incident, actor, *, role: str, label: str, user, previous, at=None):
    params = {"role": role, "role_label": label, "user": _person(user)}
    if previous is not None:
        params["previous"] = _person(previous)
    return _event(incident, "role_assigned", actor, params, at=at)


def role_released(incident: Incident, actor, *, role: str, label: str, user, at=None):
    params = {"role": role, "role_label": label, "user": _person(user)}
    return _event(incident, "role_released", actor, params, at=at)


def command_handover(incident: Incident, actor, *, previous, new, at=None) -> TimelineEvent:
    """The spec's "announce assumption of command": names who handed over and who took it."""
    params = {"previous": _person(previous), "new": _person(new)}
    return _event(incident, "command_handover", actor, params, at=at)


def status_update(incident: Incident, actor, *, update, at=None) -> TimelineEvent:
    params = {
        "number": update.number,
        "audience": update.audience,
        "status": update.status,
        "impact": update.impact,
        "actions": update.actions,
        "next_update_at": update.next_update_at.isoformat() if update.next_update_at else None,
    }
    for name in ("cause", "user_action", "prevention"):
        if getattr(update, name):
            params[name] = getattr(update, name)
    for name in ("final", "impact_unconfirmed", "cause_unconfirmed"):
        if getattr(update, name):
            params[name] = True
    visibility = Visibility.PUBLIC if update.audience == "public" else Visibility.INTERNAL
    return _event(incident, "status_update", actor, params, at=at, visibility=visibility)


def checklist_item(incident: Incident, actor, *, item, action: str, reason: str = "", at=None):
    """action: done, undone or waived."""
    params = {
        "item": item.pk,
        "text": item.text,
        "checklist": item.checklist.title,
        "action": action,
    }
    if reason:
        params["reason"] = reason
    return _event(incident, "checklist_item", actor, params, at=at)


def key_event(incident: Incident, actor, *, event: TimelineEvent, key: bool, at=None):
    params = {"event": event.pk, "key": key, "what": label(event.kind, event.params)}
    return _event(incident, "key_event", actor, params, at=at)


def update_overdue(incident: Incident, *, due, reminded, at=None) -> TimelineEvent:
    """reminded: the person reminded, or None when the Manager group was."""
    params = {"due": due.isoformat(), "reminded": _person(reminded)}
    return _event(incident, "update_overdue", None, params, at=at)


def escalation_triggered(incident: Incident, *, kind: str, label: str, at=None) -> TimelineEvent:
    return _event(incident, "escalation_triggered", None, {"trigger": kind, "label": label}, at=at)


def page(incident: Incident, actor, *, action: str, target: str = "", note: str = "", at=None):
    """action: "paged" (someone paged by hand) or "acknowledged" (a page answered)."""
    params = {"action": action, "target": target, "note": note}
    return _event(incident, "page", actor, params, at=at)


def alert(incident: Incident, *, action: str, title: str, source: str, at=None):
    """action: "attached" (a new alert joined the incident's group), "refired" or
    "resolved" (every alert of the group resolved)."""
    params = {"action": action, "title": title[:300], "source": source[:100]}
    return _event(incident, "alert", None, params, at=at)


def runbook(incident: Incident, actor, *, title: str, version: int, steps: int, url: str, at=None):
    """A runbook version was attached: the incident follows it, its steps a checklist."""
    params = {"title": title[:200], "version": version, "steps": steps, "url": url[:300]}
    return _event(incident, "runbook", actor, params, at=at)


def communication(incident: Incident, actor, *, action: str, at=None, **params) -> TimelineEvent:
    """action: "reminded" (a P1 open over two hours: params reminded, minutes) or "emailed"
    (an email to affected users: params subject, subscribers, addresses)."""
    return _event(incident, "communication", actor, {"action": action, **params}, at=at)


def component_status(incident: Incident, actor, *, change, at=None) -> TimelineEvent:
    """A component affected by the incident changed status (public: the status page shows
    component statuses)."""
    params = {
        "component": change.component.name,
        "from": change.old,
        "to": change.new,
        "from_label": change.get_old_display(),
        "to_label": change.get_new_display(),
    }
    return _event(incident, "component_status", actor, params, at=at)


def public_page(incident: Incident, actor, *, action: str, changes=None, at=None) -> TimelineEvent:
    """A person published the incident on the status page, withdrew it, or changed its
    public fields (action: published, withdrawn, edited)."""
    params = {"action": action, "changes": changes or {}}
    return _event(incident, "public_page", actor, params, at=at)


def significant(incident: Incident, actor, *, significant: bool, reason: str, at=None):
    """A P3 marked significant (it needs a post-mortem), or no longer."""
    params = {"significant": significant, "reason": reason}
    return _event(incident, "significant", actor, params, at=at)


def postmortem(incident: Incident, actor, *, action: str, revision: int = 0, at=None):
    """The incident's post-mortem was started, sent to review, published or waived."""
    return _event(incident, "postmortem", actor, {"action": action, "revision": revision}, at=at)


PUBLIC_FIELD_LABELS = {
    "is_public": "shown",
    "public_title": "public title",
    "public_impact": "public impact",
    "estimated_resolution_at": "estimated resolution",
    "in_app_notice": "in-app banner",
}


def _changes(changes: dict[str, list]) -> str:
    return "; ".join(
        f"{field}: {old or '—'} → {new or '—'}" for field, (old, new) in changes.items()
    )


def _status(value: str | None) -> str:
    from .models import Status

    return str(Status(value).label) if value in Status.values else str(value)


def _is_actor(event: TimelineEvent, person: dict | None) -> bool:
    """Whether the person an event names (a `_person` dict) is the one who acted."""
    return event.actor_id is not None and (person or {}).get("id") == event.actor_id


PUBLISHED_NOTE = " Now shown on the public status page (P1/P2), under a neutral title."


def describe(event: TimelineEvent) -> str:
    text = _describe(event)
    if event.params.get("published"):
        text += PUBLISHED_NOTE
    return text


def _describe(event: TimelineEvent) -> str:
    p = event.params
    who = display_name(event.actor)
    match event.kind:
        case "declared":
            text = f"{who} declared the incident as {p.get('severity')} ({p.get('status')})."
            if p.get("commander"):
                text += f" Incident Commander: {p['commander'].get('name')}."
            if p.get("override_reason"):
                text += (
                    f" Proposed severity was {p.get('suggested_severity')}; chosen "
                    f"{p.get('severity')} because: {p['override_reason']}"
                )
            return text
        case "acknowledged":
            return f"{who} acknowledged the incident."
        case "verified":
            acked = " (acknowledging it)" if p.get("acknowledged") else ""
            return f"{who} verified the incident is real{acked}; now investigating."
        case "false_alarm":
            return (
                f"{who} closed this as a false alarm. "
                f"Monitoring change: {p.get('monitoring_change')}"
            )
        case "severity_changed":
            text = f"{who} changed severity {p.get('from')} → {p.get('to')}: {p.get('reason')}"
            if p.get("changes"):
                text += f". Also updated {_changes(p['changes'])}"
            return text
        case "updated":
            return f"{who} updated {_changes(p.get('changes', {}))}"
        case "status_changed":
            text = (
                f"{who} moved the incident from {_status(p.get('from'))} to "
                f"{_status(p.get('to'))}. {p.get('note_label')}: {p.get('note')}"
            )
            if p.get("cleared"):
                text += f" To verify again: {'; '.join(p['cleared'])}."
            return text
        case "note":
            return p.get("text", "")
        case "role_assigned":
            if _is_actor(event, p.get("user")):
                text = f"{who} took the {p.get('role_label')} role"
            else:
                text = f"{who} made {p['user'].get('name')} {p.get('role_label')}"
            if p.get("previous"):
                text += f" (replacing {p['previous'].get('name')})"
            return text + "."
        case "role_released":
            if _is_actor(event, p.get("user")):
                return f"{who} gave up the {p.get('role_label')} role."
            return f"{who} released {p['user'].get('name')} as {p.get('role_label')}."
        case "command_handover":
            return (
                f"{p['new'].get('name')} assumed command from {p['previous'].get('name')}: "
                f"{p['new'].get('name')} is now Incident Commander."
            )
        case "status_update":
            audience = "public" if p.get("audience") == "public" else "internal"
            text = (
                f"{who} posted {audience} update #{p.get('number')} ({_status(p.get('status'))}). "
                f"Impact{UNCONFIRMED if p.get('impact_unconfirmed') else ''}: {p.get('impact')}"
            )
            if p.get("cause"):
                text += (
                    f" {'What occurred' if p.get('final') else 'Cause'}"
                    f"{UNCONFIRMED if p.get('cause_unconfirmed') else ''}: {p['cause']}"
                )
            text += f" Actions: {p.get('actions')}"
            if p.get("user_action"):
                text += f" User action needed: {p['user_action']}"
            if p.get("prevention"):
                text += f" Preventive measures: {p['prevention']}"
            return text
        case "checklist_item":
            verb = {"done": "ticked", "undone": "unticked", "waived": "waived"}[p.get("action")]
            text = f"{who} {verb} “{p.get('text')}” ({p.get('checklist')})"
            if p.get("reason"):
                text += f": {p['reason']}"
            return text + "."
        case "update_overdue":
            reminded = (p.get("reminded") or {}).get("name") or "the Manager group"
            return f"Status update overdue; reminded {reminded}."
        case "key_event":
            verb = "marked" if p.get("key") else "unmarked"
            return f"{who} {verb} a {p.get('what', 'event').lower()} (#{p.get('event')}) as key."
        case "escalation_triggered":
            return f"Escalation trigger: {p.get('label')}. Managers notified."
        case "communication":
            if p.get("action") == "reminded":
                reminded = (p.get("reminded") or {}).get("name") or "nobody (no one holds the "
                reminded += "" if p.get("reminded") else "Communications or Commander role)"
                over = duration(timedelta(minutes=p.get("minutes", 120)))
                return f"Open for over {over}: reminded {reminded} to email affected users."
            return (
                f"{who} emailed affected users “{p.get('subject')}”: "
                f"{p.get('subscribers', 0)} subscribers of the affected components and "
                f"{p.get('addresses', 0)} pasted addresses."
            )
        case "runbook":
            return (
                f"{who} attached the runbook “{p.get('title')}” (version {p.get('version')}); "
                f"its {p.get('steps')} recovery and verification steps are a checklist here."
            )
        case "alert":
            source = p.get("source")
            if p.get("action") == "resolved":
                return f"Every alert from {source} for this incident resolved."
            if p.get("action") == "refired":
                return f"Alert from {source} firing again: {p.get('title')}"
            return f"Another alert from {source} joined: {p.get('title')}"
        case "page":
            if p.get("action") == "acknowledged":
                return f"{who} acknowledged the page; the escalation stopped."
            text = f"{who} paged {p.get('target')}"
            return text + (f": {p['note']}" if p.get("note") else ".")
        case "postmortem":
            what = {
                "started": "The post-mortem was started (draft).",
                "review": f"{who} sent the post-mortem to review.",
                "published": f"{who} published revision {p.get('revision')} of the post-mortem.",
                "waived": f"{who} waived the post-mortem review before closing.",
            }
            return what.get(p.get("action"), "The post-mortem changed.")
        case "significant":
            if p.get("significant"):
                return f"{who} marked the incident significant: {p.get('reason')}"
            return f"{who} marked the incident not significant: {p.get('reason')}"
        case "public_page":
            verb = {
                "published": "published the incident on the status page",
                "withdrawn": "withdrew the incident from the status page",
                "withheld": "decided the incident stays off the status page",
                "kept": "decided the incident stays on the status page",
            }.get(p.get("action"), "changed what the status page shows")
            shown = {PUBLIC_FIELD_LABELS.get(k, k): v for k, v in p.get("changes", {}).items()}
            return f"{who} {verb}." + (f" {_changes(shown)}." if shown else "")
        case "component_status":
            return (
                f"{who} set {p.get('component')} to {p.get('to_label')} "
                f"(was {p.get('from_label')})."
            )
        case "response_breached":
            return (
                f"Not acknowledged within the {p.get('severity')} response time "
                f"of {p.get('response_time')}."
            )
    return f"{who}: {label(event.kind)}"
