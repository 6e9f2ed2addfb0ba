"""A post-mortem's life (spec "Post-Mortem Process"): started as a draft when its incident is
resolved (the "incident resolved" hook) or when someone asks for one; reviewed; published as
a frozen revision; revised only by starting the next revision. Closing an incident that needs
one waits for it to reach review, unless a Manager waives that."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from incidents.authority import commander_of
from incidents.impact import Assessment
from incidents.models import Incident, TimelineEvent
from incidents.models import Status as IncidentStatus
from incidents.services import incident_record_postmortem
from portal import business_days, timers
from portal.errors import ApplicationError

from .. import authority, content
from ..models import PostMortem, Revision, Status
from ..rules import MEETING_BUSINESS_DAYS, requires_postmortem
from .base import lock, refuse_if_published, save
from .reports import request_renders

DUE_SOON_TIMER = "postmortem_due_soon"
OVERDUE_TIMER = "postmortem_overdue"
DUE_SOON_BEFORE = timedelta(days=1)
REASON_MAX = 2000
# Events that belong in every post-mortem timeline besides the ones marked key: the
# milestones the response clock and the figures are made of.
MILESTONE_KINDS = ("declared", "acknowledged", "status_changed", "severity_changed")
TEXT_MAX = 2000


def needs_postmortem(incident: Incident) -> bool:
    return requires_postmortem(incident.severity, significant=incident.significant)


def _impact_text(incident: Incident) -> tuple[str, str]:
    """The impact sections' first drafts, from the incident's assessment."""
    a = Assessment.of(incident)
    users = [f"Symptom: {incident.get_symptom_display()}."]
    if a.users_affected is not None:
        users.append(f"Users affected: {a.users_affected:,}.")
    if a.users_affected_percent is not None:
        users.append(f"Share of users affected: {a.users_affected_percent:f}%.")
    components = ", ".join(c.name for c in incident.components.all())
    if components:
        users.append(f"Components: {components}.")
    business = [
        str(Incident._meta.get_field(name).verbose_name)
        for name in ("impact_revenue", "impact_reputation", "impact_compliance", "impact_sla")
        if getattr(incident, name)
    ]
    business_text = "Recorded during the incident: " + "; ".join(business) + "." if business else ""
    return " ".join(users), business_text


def _import_events(postmortem: PostMortem, incident: Incident) -> int:
    """Add the incident's key events and milestones not yet in the post-mortem's timeline,
    each linked to its event. Returns how many were added."""
    have = set(postmortem.entries.exclude(event=None).values_list("event_id", flat=True))
    events = (
        TimelineEvent.objects.filter(incident=incident)
        .filter(Q(key_mark__isnull=False) | Q(kind__in=MILESTONE_KINDS))
        .select_related("actor__profile")
        .order_by("occurred_at", "id")
    )
    added = [
        postmortem.entries.model(
            postmortem=postmortem, event=e, at=e.occurred_at, text=e.text[:TEXT_MAX]
        )
        for e in events
        if e.pk not in have
    ]
    postmortem.entries.model.objects.bulk_create(added)
    return len(added)


def _schedule_reminders(postmortem: PostMortem, now: datetime) -> None:
    soon = postmortem.due_at - DUE_SOON_BEFORE
    if soon > now:
        timers.schedule(DUE_SOON_TIMER, postmortem.pk, soon)
    timers.schedule(OVERDUE_TIMER, postmortem.pk, postmortem.due_at)


def _owner(incident: Incident, actor):
    """The Incident Commander, else the person acting (an active one either way)."""
    commander = commander_of(incident)
    return commander if commander is not None and commander.is_active else actor


def _create(incident: Incident, *, actor, now: datetime, requested: bool, reason: str, start):
    """start: when the 5 business days run from (the resolution; for a post-mortem started
    later, that moment, so that it is not overdue on arrival)."""
    users, business = _impact_text(incident)
    try:
        with transaction.atomic():
            return _insert(incident, actor=actor, now=now, requested=requested, reason=reason,
                           start=start, users=users, business=business)  # fmt: skip
    except IntegrityError:
        # Two starts at once (or a start racing the resolution) on a database without row
        # locks: the unique incident refused the second.
        raise ApplicationError(f"{incident.reference} already has a post-mortem.") from None


def _insert(incident, *, actor, now, requested, reason, start, users, business):
    postmortem = PostMortem.objects.create(
        incident=incident,
        owner=_owner(incident, actor),
        requested=requested,
        request_reason=reason,
        due_at=business_days.end_of_business_days(start, MEETING_BUSINESS_DAYS),
        summary=incident.summary,
        impact_users=users,
        business_impact=business,
        root_cause=incident.root_cause,
        resolution="\n\n".join(t for t in (incident.mitigation, incident.resolution_summary) if t),
        created_at=now,
        updated_at=now,
    )
    _import_events(postmortem, incident)
    _schedule_reminders(postmortem, now)
    incident_record_postmortem(actor=actor, incident=incident, action="started", now=now)
    return postmortem


def on_resolved(*, incident: Incident, actor, at: datetime, **_) -> PostMortem | None:
    """The "incident resolved" hook: a draft for an incident that needs one, owned by its
    Incident Commander (else whoever resolved it). Resolving again after a re-opening keeps
    the post-mortem it already has."""
    existing = PostMortem.objects.filter(incident=incident).first()
    if existing is not None or not needs_postmortem(incident):
        return existing
    return _create(incident, actor=actor, now=at, requested=False, reason="", start=at)


def on_closed(*, incident: Incident, actor, at: datetime, **_) -> None:
    """The "incident closed" hook: an incident that needs a post-mortem closes once it is
    in review (or published), or a Manager waived that; choosing a post-mortem as the
    follow-up of one that needs none asks for one."""
    postmortem = PostMortem.objects.filter(incident=incident).first()
    if needs_postmortem(incident):
        if postmortem is None:
            raise ApplicationError(
                f"{incident.reference} needs a post-mortem before it closes: start it from "
                "the incident page, send it to review, then close.",
                field="followup",
            )
        reviewed = postmortem.status != Status.DRAFT or postmortem.published_revision > 0
        if not reviewed and not postmortem.waived:
            raise ApplicationError(
                f"{incident.reference} closes once its post-mortem is in review (it is a "
                "draft), or after a Manager waives that on the post-mortem page.",
                field="followup",
            )
    elif postmortem is None and incident.followup == "postmortem" and actor is not None:
        _create(
            incident,
            actor=actor,
            now=at,
            requested=True,
            reason=incident.followup_note or "Chosen as the follow-up when closing.",
            start=max(incident.resolved_at or at, at),
        )


@transaction.atomic
def postmortem_start(
    *, actor, incident: Incident, reason: str = "", now: datetime | None = None
) -> PostMortem:
    """Start a post-mortem by hand: for an incident resolved before it was needed (a P3
    marked significant later), or asked for although the incident needs none (with why)."""
    now = now or timezone.now()
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    authority.require("create", actor)
    if PostMortem.objects.filter(incident=incident).exists():
        raise ApplicationError(f"{incident.reference} already has a post-mortem.")
    if incident.status not in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
        raise ApplicationError(
            "A post-mortem starts once the incident is resolved"
            + (" (a false alarm has none)." if incident.status == "false_alarm" else ".")
        )
    reason = (reason or "").strip()
    requested = not needs_postmortem(incident)
    if requested and not reason:
        raise ApplicationError(
            f"A {incident.severity} incident needs no post-mortem"
            + (" unless it is marked significant" if incident.severity == "P3" else "")
            + ": say why you want one.",
            field="reason",
        )
    if len(reason) > REASON_MAX:
        raise ApplicationError(f"At most {REASON_MAX} characters (it has {len(reason)}).")
    return _create(incident, actor=actor, now=now, requested=requested, reason=reason, start=now)


@transaction.atomic
def postmortem_import_timeline(*, actor, postmortem: PostMortem) -> int:
    postmortem = lock(postmortem)
    authority.require("edit", actor, postmortem)
    refuse_if_published(postmortem)
    added = _import_events(postmortem, postmortem.incident)
    if added:
        save(postmortem)
    return added


def _move(postmortem: PostMortem, *, frm: tuple[str, ...], verb: str) -> None:
    if postmortem.status not in frm:
        raise ApplicationError(
            f"This post-mortem is {postmortem.get_status_display().lower()}; it cannot be {verb}."
        )


@transaction.atomic
def postmortem_submit(
    *, actor, postmortem: PostMortem, expected_version: int | None = None, now=None
) -> PostMortem:
    """Draft -> in review."""
    now = now or timezone.now()
    postmortem = lock(postmortem, expected_version)
    authority.require("submit", actor, postmortem)
    _move(postmortem, frm=(Status.DRAFT,), verb="sent to review")
    missing = [
        label
        for name, label in (("summary", "the summary"), ("root_cause", "the root causes"))
        if not getattr(postmortem, name).strip()
    ]
    if missing:
        raise ApplicationError(f"Write {' and '.join(missing)} before sending it to review.")
    save(postmortem, status=Status.IN_REVIEW)
    incident_record_postmortem(actor=actor, incident=postmortem.incident, action="review", now=now)
    return postmortem


@transaction.atomic
def postmortem_return(*, actor, postmortem: PostMortem, now=None) -> PostMortem:
    """In review -> draft (the reviewers want more)."""
    postmortem = lock(postmortem)
    authority.require("return", actor, postmortem)
    _move(postmortem, frm=(Status.IN_REVIEW,), verb="sent back to draft")
    save(postmortem, status=Status.DRAFT)
    return postmortem


@transaction.atomic
def postmortem_publish(
    *, actor, postmortem: PostMortem, note: str = "", expected_version=None, now=None
) -> Revision:
    """In review -> published: the working copy frozen as the next revision, readable by all
    staff and searchable; the public incident's status becomes "postmortem"; its PDFs are
    rendered in the background."""
    now = now or timezone.now()
    postmortem = lock(postmortem, expected_version)
    authority.require("publish", actor, postmortem)
    _move(postmortem, frm=(Status.IN_REVIEW,), verb="published")
    note = (note or "").strip()
    if len(note) > REASON_MAX:
        raise ApplicationError(f"At most {REASON_MAX} characters (it has {len(note)}).")
    save(postmortem, status=Status.PUBLISHED, published_revision=postmortem.revision,
         published_at=now, published_by=actor)  # fmt: skip
    document = content.build(postmortem)
    revision = Revision.objects.create(
        postmortem=postmortem,
        number=postmortem.revision,
        published_at=now,
        published_by=actor,
        note=note,
        content=document,
        search_text=content.search_text(document),
    )
    incident_record_postmortem(
        actor=actor,
        incident=postmortem.incident,
        action="published",
        revision=postmortem.revision,
        now=now,
    )
    request_renders(postmortem, revision.number)
    return revision


@transaction.atomic
def postmortem_revise(*, actor, postmortem: PostMortem, now=None) -> PostMortem:
    """Published -> the next revision, as a draft. The published revision stays as it was
    (history kept) until the next one is published."""
    postmortem = lock(postmortem)
    authority.require("revise", actor, postmortem)
    _move(postmortem, frm=(Status.PUBLISHED,), verb="revised")
    save(postmortem, status=Status.DRAFT, revision=postmortem.revision + 1)
    return postmortem


@transaction.atomic
def postmortem_waive(*, actor, postmortem: PostMortem, reason: str, now=None) -> PostMortem:
    """A Manager lets the incident close before its post-mortem reaches review."""
    now = now or timezone.now()
    postmortem = lock(postmortem)
    authority.require("waive", actor, postmortem)
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("Say why the incident may close first.", field="reason")
    if len(reason) > REASON_MAX:
        raise ApplicationError(
            f"At most {REASON_MAX} characters (it has {len(reason)}).", field="reason"
        )
    if postmortem.waived:
        raise ApplicationError("The review before closing is already waived.")
    save(postmortem, waiver_reason=reason, waived_by=actor, waived_at=now)
    incident_record_postmortem(actor=actor, incident=postmortem.incident, action="waived", now=now)
    return postmortem
