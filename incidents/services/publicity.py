"""What the public status page shows of an incident (DESIGN.md decision 5): whether it is
public, its public title, impact and estimated resolution. P1/P2 incidents become public by
themselves once verified (incidents/statuspage/rules.py); everything else is a person's
decision, recorded on the timeline. None of this bumps the incident's edit version: the
public fields are not on the edit form, so nobody's open edit goes stale."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from portal import hooks
from portal.errors import ApplicationError

from .. import authority, bounds, timeline
from ..models import Incident, PublicImpact
from ..statuspage import rules
from .base import lock, save_unversioned, touch

CAUSE = "publicity"
TITLE_MAX = 200


def _write(incident: Incident, now: datetime, **fields) -> None:
    save_unversioned(incident, public_updated_at=now, **fields)


def refuse_unless_publishable(incident: Incident) -> None:
    if incident.status in rules.NEVER_PUBLIC_STATUSES:
        raise ApplicationError(
            f"An incident in {incident.get_status_display()} is never shown on the status "
            "page: verify it first."
            if incident.status == "triage"
            else "A false alarm is never shown on the status page."
        )


def publish(incident: Incident, *, now: datetime) -> dict:
    """The fields that make a locked incident public (the caller writes them)."""
    fields = {"is_public": True}
    if incident.published_at is None:
        fields["published_at"] = now
    if not incident.public_impact:
        fields["public_impact"] = rules.public_impact(incident)
    return fields


@transaction.atomic
def incident_set_publicity(
    *,
    actor,
    incident: Incident,
    is_public: bool,
    public_title: str = "",
    public_impact: str = "",
    estimated_resolution_at: datetime | None = None,
    in_app_notice: bool | None = ...,
    now: datetime | None = None,
) -> Incident:
    """A person decides: shown on the status page or not, and with which public title,
    impact and estimated resolution. Empty title and impact mean the defaults (the type's
    neutral wording; the impact proposed from severity)."""
    now = now or timezone.now()
    public_title = rules.publishable(public_title).strip()
    if len(public_title) > TITLE_MAX:
        raise ApplicationError(
            f"At most {TITLE_MAX} characters (it has {len(public_title)}).", field="public_title"
        )
    if public_impact and public_impact not in PublicImpact.values:
        raise ApplicationError(f"Unknown impact {public_impact!r}.", field="public_impact")
    incident = lock(incident)
    authority.require("set_publicity", actor, incident)
    if estimated_resolution_at is not None and (
        estimated_resolution_at != incident.estimated_resolution_at
    ):
        error = bounds.estimate_error(estimated_resolution_at, now)
        if error:
            raise ApplicationError(error, field="estimated_resolution_at")
    if is_public:
        refuse_unless_publishable(incident)
    fields = {
        "is_public": bool(is_public),
        "public_decided": True,
        "public_title": public_title,
        "public_impact": public_impact,
        "estimated_resolution_at": estimated_resolution_at,
    }
    if in_app_notice is not ...:
        # None: the rule (a public P1 affecting all users); True/False: a person's decision.
        fields["in_app_notice"] = in_app_notice
    if is_public:
        fields.update(publish(incident, now=now))
        fields["public_impact"] = public_impact or fields.get("public_impact", "")
    changes = {
        name: [_shown(getattr(incident, name)), _shown(value)]
        for name, value in fields.items()
        if name not in ("published_at", "public_decided") and getattr(incident, name) != value
    }
    newly_decided = not incident.public_decided
    if not changes and not newly_decided:
        raise ApplicationError("Nothing changed: the status page already shows this.")
    was_public = incident.is_public
    _write(incident, now, **fields)
    action = "edited"
    if is_public != was_public:
        action = "published" if is_public else "withdrawn"
    elif not changes:
        # Kept off (or on) by a person's decision: the P1/P2 rule leaves it alone from now.
        action = "kept" if is_public else "withheld"
    timeline.public_page(incident, actor, action=action, changes=changes, at=now)
    hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause=CAUSE, at=now)
    return incident


def _shown(value) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value or "")


def auto_publish(incident: Incident, *, now: datetime) -> bool:
    """Inside a service's transaction, on a locked incident that was just declared, verified
    or whose severity changed: a P1/P2 goes public by itself, unless it is sensitive or a
    person has decided about it. It shows the neutral title and its components until someone
    writes the first public update. True if it did: the caller says so on its event."""
    if (
        incident.is_public
        or incident.public_decided
        or incident.severity not in rules.AUTO_PUBLIC_SEVERITIES
        or incident.status in rules.NEVER_PUBLIC_STATUSES
        or not incident.is_active
        or rules.is_sensitive(incident)
    ):
        return False
    _write(incident, now, **publish(incident, now=now))
    hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause=CAUSE, at=now)
    return True


def publish_with_update(incident: Incident, actor, *, now: datetime) -> None:
    """A person posted a public update: the incident is on the status page from now on."""
    fields = {"public_decided": True}
    if not incident.is_public:
        refuse_unless_publishable(incident)
        fields.update(publish(incident, now=now))
        timeline.public_page(incident, actor, action="published", at=now)
    _write(incident, now, **fields)


def incident_record_postmortem(
    *, actor, incident: Incident, action: str, revision: int = 0, now: datetime | None = None
) -> None:
    """The post-mortem's milestones on the incident's timeline (called by the post-mortem
    services, inside their transaction); publishing one sets Statuspage's "postmortem"
    status of the public incident."""
    now = now or timezone.now()
    incident = lock(incident)
    timeline.postmortem(incident, actor, action=action, revision=revision, at=now)
    if action == "published" and incident.postmortem_published_at is None:
        fields = {"postmortem_published_at": now}
        if incident.is_public:
            fields["public_updated_at"] = now
        save_unversioned(incident, **fields)
        hooks.fire(hooks.PUBLIC_STATE_CHANGED, incident=incident, cause="postmortem", at=now)
    else:
        touch(incident)
