"""Email to affected users (spec "Email Communications", issue 14): for prolonged P1 incidents
(over two hours) and for incidents affecting specific user subsets.

A P1 arms a durable timer at its start plus PROLONGED_P1_MINUTES; when it fires on a P1
still open, the Communications Coordinator (else the Incident Commander) is reminded once
(the notice's key), with a link to the composer, and the timeline says so. The composer
sends one email, prefilled with what happened, the current status, next steps and whom to
ask, to the subscribers of the affected components and to pasted addresses, through the
subscriber fan-out (bulk lane), and records it on the timeline."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from portal import notifications, timers
from portal.channels.email import is_address
from portal.errors import ApplicationError
from portal.models import display_name

from .. import authority, timeline
from ..models import (
    ACTIVE_STATUSES,
    Audience,
    Incident,
    ResponseRole,
    Status,
    SubscriberNotice,
)
from ..severity import duration
from ..statuspage import public, rules
from ..statuspage.subscriptions import notices as subscriber_notices
from ..statuspage.subscriptions import selectors as subscriber_selectors
from . import notices
from .base import lock, lock_for_timer, touch

PROLONGED_TIMER = "incidents.prolonged_p1"
SUBJECT_MAX = 200
BODY_MAX = 10_000
MAX_ADDRESSES = 5000


def prolonged_after() -> timedelta:
    return timedelta(minutes=settings.PROLONGED_P1_MINUTES)


def _prolongable(incident: Incident) -> bool:
    """Open, at a severity whose prolonged incidents email their users (the severity table)."""
    return incident.status in ACTIVE_STATUSES and incident.severity_level.email_users_when_prolonged


def _reminded(incident: Incident) -> bool:
    return incident.events.filter(kind="communication", params__action="reminded").exists()


def arm(incident: Incident) -> None:
    """Inside a service's transaction, after the severity or status may have changed: a P1
    that is open has its reminder armed at its start plus the threshold (once: not again
    after it was sent); anything else not."""
    if _prolongable(incident) and not _reminded(incident):
        timers.schedule(PROLONGED_TIMER, incident.pk, incident.detected_at + prolonged_after())
    else:
        timers.cancel(PROLONGED_TIMER, incident.pk)


@timers.register(PROLONGED_TIMER)
def _prolonged_timer(timer, now) -> None:
    prolonged_remind(incident_id=timer.object_id, now=now)


@transaction.atomic
def prolonged_remind(*, incident_id: int, now: datetime | None = None) -> bool:
    """System action: remind whoever communicates to email affected users. Once per
    incident, however often it is armed again (its timeline event says it was sent)."""
    now = now or timezone.now()
    incident = lock_for_timer(incident_id)
    if incident is None or not _prolongable(incident):
        return False
    if incident.status == Status.TRIAGE or _reminded(incident):
        return False
    authority.require("remind_prolonged", None, incident)
    person = notices.communicator(incident)

    notifications.notify(
        url=reverse("incidents:incident_email_users", args=[incident.reference]),
        topic=f"incident:{incident.pk}",
        key=f"prolonged-p1:{incident.pk}",
        reason="prolonged_p1",
        recipients=[person] if person else list(notices.managers()),
        subject=f"{incident.reference} has been a {incident.severity} for over "
        f"{duration(prolonged_after())}: email the affected users",
        body=(
            "The procedures ask for an email to affected users when a P1 lasts over two "
            "hours: what happened, the current status, next steps and whom to ask. The "
            "composer is prefilled."
        ),
        now=now,
    )
    timeline.communication(
        incident,
        None,
        action="reminded",
        reminded={"id": person.pk, "name": display_name(person)} if person else None,
        minutes=settings.PROLONGED_P1_MINUTES,
        at=now,
    )
    touch(incident)
    return True


# -- The composer ----------------------------------------------------------------------------


def draft(incident: Incident, now: datetime | None = None) -> dict:
    """The composer's prefilled subject and body, from what the public has been told."""
    now = now or timezone.now()
    title = rules.publishable(rules.public_title(incident))
    status = rules.PUBLIC_STATUS_LABELS.get(rules.public_status(incident), "Investigating")
    latest = incident.status_updates.filter(audience=Audience.PUBLIC).order_by("-number").first()
    components = ", ".join(c.name for c in incident.components.all()) or "our service"
    zone = public.zone()
    started = incident.detected_at.astimezone(zone)
    happened = (
        rules.publishable(latest.public_body).strip()
        if latest and latest.public_body
        else f"Since {started:%H:%M %Z on %b %-d}, {components} has been disrupted."
    )
    if incident.estimated_resolution_at and incident.estimated_resolution_at > now:
        eta = incident.estimated_resolution_at.astimezone(zone)
        next_steps = f"We expect to resolve it by {eta:%H:%M %Z on %b %-d}."
    else:
        next_steps = "We are working on a fix and will email again when it is resolved."
    if incident.next_update_due_at:
        nxt = incident.next_update_due_at.astimezone(zone)
        next_steps += f" The next update on the status page is due by {nxt:%H:%M %Z}."
    link = settings.STATUS_PAGE_URL.rstrip("/") + f"/incidents/{incident.public_id}/"
    body = (
        f"What happened\n{happened}\n\n"
        f"Current status\n{status}. Affected: {components}.\n\n"
        f"Next steps\n{next_steps}\n\n"
        f"Questions\nReply to {settings.STATUS_CONTACT_EMAIL}. Follow the incident at {link}"
    )
    return {"subject": f"[{settings.STATUS_PAGE_NAME}] {title}: an update for you", "body": body}


_SPLIT = re.compile(r"[\s,;]+")
NONCE = re.compile(r"[A-Za-z0-9_-]{16,40}")


def parse_addresses(text: str) -> list[str]:
    """Pasted addresses, one per line or separated by commas: ApplicationError naming the
    ones that are not addresses."""
    found = [a.strip().strip("<>") for a in _SPLIT.split(text or "") if a.strip()]
    found = list(dict.fromkeys(found))
    if len(found) > MAX_ADDRESSES:
        raise ApplicationError(
            f"At most {MAX_ADDRESSES} addresses at once (pasted {len(found)}).", field="addresses"
        )
    bad = [address for address in found if not is_address(address)]
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise ApplicationError(f"Not email addresses: {shown}.", field="addresses")
    return found


def _communications_holder(incident: Incident):
    return notices.holders(incident, ResponseRole.COMMUNICATIONS).get(ResponseRole.COMMUNICATIONS)


def email_users_refusal(actor, incident: Incident) -> str:
    """Who may send, when the actor may not ("" when they may): the composer says so
    before anyone writes the email."""
    holder = _communications_holder(incident)
    if authority.allows("email_users", actor, incident, holder=holder):
        return ""
    who = authority.who_may(
        "email_users", incident, holder=holder, role=ResponseRole.COMMUNICATIONS.label
    )
    return f"Only {who} can send this email: draft it here and ask them to send it."


@transaction.atomic
def incident_email_users(
    *,
    actor,
    incident: Incident,
    subject: str,
    body: str,
    to_subscribers: bool,
    addresses: str = "",
    nonce: str = "",
    now: datetime | None = None,
) -> tuple[SubscriberNotice, bool]:
    """Send the composed email. nonce: the form's own, so that a resubmitted form (a double
    click, a reload) sends nothing twice. Returns (notice, whether this call sent it)."""
    now = now or timezone.now()
    subject = " ".join((subject or "").split())
    body = (body or "").replace("\r\n", "\n").strip()
    if not subject:
        raise ApplicationError("Give the email a subject.", field="subject")
    if len(subject) > SUBJECT_MAX:
        raise ApplicationError(f"At most {SUBJECT_MAX} characters.", field="subject")
    if not body:
        raise ApplicationError("Write the email.", field="body")
    if len(body) > BODY_MAX:
        raise ApplicationError(f"At most {BODY_MAX} characters.", field="body")
    pasted = parse_addresses(addresses)
    incident = lock(incident)
    holder = _communications_holder(incident)
    authority.require(
        "email_users", actor, incident, holder=holder, role=ResponseRole.COMMUNICATIONS.label
    )
    if incident.status in (Status.TRIAGE, Status.FALSE_ALARM):
        raise ApplicationError("Verify the incident before emailing users about it.")
    subscribers = subscriber_selectors.affected_subscribers(incident) if to_subscribers else 0
    if not pasted and not subscribers:
        raise ApplicationError(
            "Nobody to send to: no subscriber follows the affected components; paste the "
            "addresses of the users affected.",
            field="addresses",
        )
    if not NONCE.fullmatch(nonce or ""):
        raise ApplicationError("The form is incomplete; reload the page and send again.")
    key = f"incident:{incident.pk}:communication:{nonce}"
    existing = SubscriberNotice.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    notice = subscriber_notices.create_communication(
        key=key,
        incident=incident,
        to_subscribers=to_subscribers,
        subject=subject,
        body=body,
        addresses=pasted,
        actor=actor,
        now=now,
    )
    timeline.communication(
        incident,
        actor,
        action="emailed",
        subject=subject,
        subscribers=subscribers,
        addresses=len(pasted),
        at=now,
    )
    touch(incident)
    return notice, True


def new_nonce() -> str:
    return secrets.token_urlsafe(16)
