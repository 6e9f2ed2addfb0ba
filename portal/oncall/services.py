"""Escalations (issue 11, DESIGN.md decision 3): paging by an escalation policy on durable
timers. Starting an escalation pages its route's first step at once and schedules the next
step; the sweep fires that timer, which pages the next step in the same transaction as the
claim, so a doubled sweep never pages a step twice and a crash before commit pages it on the
next sweep. Each page is an outbox row per (escalation, round, step, target, channel): its
idempotency key is the provider's too.

Acknowledging fires the "page acknowledged" hook first (the incident app stamps the incident
and names the first acknowledger its commander; it locks the incident), then takes the
escalation: the same order as a person acknowledging on the incident page (incident, then
escalation), so the two never deadlock."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import OperationalError, transaction
from django.urls import reverse
from django.utils import timezone

from .. import hooks, timers
from ..errors import ApplicationError
from ..models import Channel, Notification, display_name
from ..notifications import notify
from . import routing, tokens
from .models import Escalation, EscalationRoute, OnCallSchedule, Page

ESCALATION_TIMER = "oncall.escalation"
PERSON_CHANNELS = (Channel.PHONE, Channel.SMS, Channel.EMAIL)
# A page by hand waits this long for an acknowledgement before it is marked unanswered.
MANUAL_PAGE_MINUTES = 15
# When a whole step (and every later one) resolves to nobody and the Manager group is paged,
# the escalation waits this long before it repeats or ends.
FALLBACK_MINUTES = 10


def policy_minutes(minutes: float) -> timedelta:
    """A policy's minutes (ESCALATION_SECONDS_PER_MINUTE shortens them for tests and drills)."""
    return timedelta(seconds=minutes * settings.ESCALATION_SECONDS_PER_MINUTE)


@dataclass
class Subject:
    """What is being paged for (an incident), as the portal needs to know it."""

    topic: str
    subject_id: int
    title: str
    url: str = ""
    severity: str = ""
    channels: tuple[str, ...] = ()
    team: object = None
    incident_type: str = ""


def ack_url(escalation: Escalation, user) -> str:
    return reverse("oncall:acknowledge", args=[tokens.make(escalation.pk, user.pk)])


def _steps(escalation: Escalation) -> list:
    if escalation.route_id is None:
        return []
    route = EscalationRoute.objects.prefetch_related(
        "steps__targets__schedule", "steps__targets__user"
    ).get(pk=escalation.route_id)
    return list(route.steps.all())


def _page_people(
    escalation: Escalation, step: int, due_at: datetime, now: datetime, targets: Iterable
) -> list[Page]:
    """Write the Page rows and the outbox rows for one step's resolved targets."""
    pages: list[Page] = []
    channels = [c for c in escalation.channels if c in PERSON_CHANNELS]
    base = f"page:{escalation.pk}:{escalation.round}:{step}"
    for resolved in targets:
        page = Page.objects.create(
            escalation=escalation,
            round=escalation.round,
            step=step,
            target=resolved.label[:200],
            user=resolved.user,
            destination=resolved.destination,
            due_at=due_at,
            paged_at=now,
            gap=resolved.gap[:300],
        )
        pages.append(page)
        subject = f"[{escalation.severity or 'Page'}] {escalation.title}"
        if resolved.user is not None:
            link = ack_url(escalation, resolved.user)
            notify(
                key=base,
                reason="page",
                recipients=[resolved.user],
                channels=[Channel.PORTAL, *channels],
                subject=subject,
                body=f"You are paged ({resolved.label}). Acknowledge to stop the escalation.",
                url=link,
                topic=escalation.topic,
                now=now,
                due_at=due_at,
            )
        elif resolved.destination:
            notify(
                key=f"{base}:queue",
                reason="page",
                destinations=[(Channel.EMAIL, resolved.destination)],
                subject=subject,
                body=f"For {resolved.label}.",
                url=escalation.url,
                topic=escalation.topic,
                now=now,
                due_at=due_at,
            )
    if Channel.SLACK in escalation.channels:
        webhook = (
            escalation.team.slack_webhook_url if escalation.team is not None else ""
        ) or settings.SLACK_WEBHOOK_URL
        named = ", ".join(p.target for p in pages if p.user_id or p.destination)
        if webhook:
            # The channel hears of it even when nobody could be paged: the last resort.
            text = (
                f"Paging {named}."
                if named
                else "Nobody could be paged: " + " ".join(p.gap for p in pages if p.gap)
            )
            notify(
                key=f"{base}:slack",
                reason="page",
                destinations=[(Channel.SLACK, webhook)],
                subject=subject,
                body=text,
                url=escalation.url,
                topic=escalation.topic,
                now=now,
                due_at=due_at,
            )
    return pages


def _page_from(
    escalation: Escalation, index: int, due_at: datetime, now: datetime, steps: list | None = None
) -> timedelta:
    """Page step `index`, falling through steps that resolve to nobody and finally to the
    Manager group; the gaps are recorded as pages to nobody. Returns the wait before the next
    step and leaves escalation.step_index on the step that paged."""
    steps = _steps(escalation) if steps is None else steps
    gaps: list = []
    while index < len(steps):
        resolved = [
            routing.resolve(
                t, team=escalation.team, incident_type=escalation.incident_type, at=due_at
            )
            for t in steps[index].targets.all()
        ]
        reached = [r for r in resolved if r.reaches_someone]
        gaps.extend(r for r in resolved if not r.reaches_someone)
        if reached:
            escalation.step_index = index
            _page_people(escalation, index, due_at, now, [*gaps, *reached])
            return policy_minutes(steps[index].wait_minutes)
        index += 1
    escalation.step_index = len(steps)
    managers = routing.managers()
    fallback = [
        routing.Resolved("Manager group (nobody else could be reached)", user=m) for m in managers
    ]
    if not fallback:
        gaps.append(routing.Resolved("Manager group", gap="The Manager group has nobody in it."))
    _page_people(escalation, len(steps), due_at, now, [*gaps, *fallback])
    return policy_minutes(FALLBACK_MINUTES)


def _save(escalation: Escalation, **fields) -> None:
    for name, value in fields.items():
        setattr(escalation, name, value)
    escalation.save(update_fields=list(fields))


def escalation_start(
    *, subject: Subject, actor=None, now: datetime | None = None
) -> Escalation | None:
    """Start paging for `subject` by the default policy's route for its severity at `now`.
    Called inside the caller's transaction. A route "tracked for the next business day"
    queues the escalation until working hours open."""
    now = now or timezone.now()
    policy = routing.default_policy()
    route = routing.route_for(policy, subject.severity, now)
    escalation = Escalation.objects.create(
        topic=subject.topic,
        subject_id=subject.subject_id,
        title=subject.title[:300],
        url=subject.url[:300],
        severity=subject.severity,
        channels=list(subject.channels),
        team=subject.team,
        incident_type=subject.incident_type,
        route=route,
        started_at=now,
        started_by=actor,
    )
    if route is not None and route.next_business_day:
        opens = routing.working_hours(policy).next_opening(now)
        _save(
            escalation,
            state=Escalation.State.QUEUED,
            next_step_at=opens,
            note="After hours: tracked for the next business day.",
        )
        timers.schedule(ESCALATION_TIMER, escalation.pk, opens)
        return escalation
    if route is None:
        _save(escalation, note="No route for this severity: the Manager group is paged.")
    wait = _page_from(escalation, 0, now, now)
    _save(escalation, step_index=escalation.step_index, next_step_at=now + wait)
    timers.schedule(ESCALATION_TIMER, escalation.pk, escalation.next_step_at)
    return escalation


def escalation_page_manually(
    *,
    actor,
    subject: Subject,
    user=None,
    team=None,
    schedule: OnCallSchedule | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Escalation:
    """ "Page someone" by hand: a person, a team (its first responder, else its lead) or a
    schedule's on-call. Waits MANUAL_PAGE_MINUTES for an acknowledgement."""
    now = now or timezone.now()
    if sum(x is not None for x in (user, team, schedule)) != 1:
        raise ApplicationError("Choose one person, team or schedule to page.")
    if user is not None:
        if not user.is_active:
            raise ApplicationError(f"{display_name(user)} is not an active user.", field="user")
        resolved = routing.Resolved(display_name(user), user=user)
    elif schedule is not None:
        resolved = routing._from_schedule(schedule.name, schedule, now)
    else:
        resolved = routing.team_responder(team, now)
    if not resolved.reaches_someone:
        raise ApplicationError(f"Nobody can be paged there: {resolved.gap}")
    escalation = Escalation.objects.create(
        topic=subject.topic,
        subject_id=subject.subject_id,
        title=subject.title[:300],
        url=subject.url[:300],
        severity=subject.severity,
        channels=list(subject.channels),
        team=team,
        manual=True,
        started_at=now,
        started_by=actor,
        next_step_at=now + policy_minutes(MANUAL_PAGE_MINUTES),
        note=(note.strip() or f"Paged by {display_name(actor)}.")[:300],
    )
    _page_people(escalation, 0, now, now, [resolved])
    timers.schedule(ESCALATION_TIMER, escalation.pk, escalation.next_step_at)
    return escalation


@timers.register(ESCALATION_TIMER)
def _step_due(timer, now: datetime) -> None:
    """The wait of the current step ran out with nobody acknowledging: page the next step
    (or start a queued escalation, repeat the policy, or give up)."""
    try:
        with transaction.atomic():
            escalation = (
                Escalation.objects.select_for_update(nowait=True).filter(pk=timer.object_id).first()
            )
    except OperationalError as error:  # PostgreSQL: someone is acknowledging it right now
        raise timers.Busy(f"escalation {timer.object_id} is locked") from error
    if escalation is None or not escalation.is_open:
        return
    due_at = escalation.next_step_at or now
    steps = _steps(escalation)
    if escalation.state == Escalation.State.QUEUED:
        _save(escalation, state=Escalation.State.ACTIVE)
        index = 0
    elif escalation.manual:
        _end(escalation, now, "Nobody acknowledged the page.")
        return
    else:
        index = escalation.step_index + 1
        if index >= len(steps):
            policy = escalation.route.policy if escalation.route_id else None
            if policy is None or escalation.round >= policy.repeat:
                _end(escalation, now, "Every step was paged and nobody acknowledged.")
                return
            _save(escalation, round=escalation.round + 1)
            index = 0
    wait = _page_from(escalation, index, due_at, now, steps)
    # From now when the sweep ran late: everyone still gets the whole wait to answer.
    next_at = max(due_at, now) + wait
    _save(escalation, step_index=escalation.step_index, next_step_at=next_at)
    timers.schedule(ESCALATION_TIMER, escalation.pk, next_at)


def _end(escalation: Escalation, now: datetime, note: str) -> None:
    _save(
        escalation,
        state=Escalation.State.EXHAUSTED,
        ended_at=now,
        next_step_at=None,
        note=note,
    )


def _take(escalation: Escalation, user, now: datetime) -> bool:
    """Mark an open escalation acknowledged by `user` (the caller holds its lock)."""
    if not escalation.is_open:
        return False
    _save(
        escalation,
        state=Escalation.State.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=user,
        ended_at=now,
        next_step_at=None,
    )
    timers.cancel(ESCALATION_TIMER, escalation.pk)
    _drop_unsent(escalation, "Acknowledged before it was sent.")
    return True


def _drop_unsent(escalation: Escalation, why: str) -> None:
    """What has not gone out yet stops: nobody should be called after someone answered."""
    Notification.objects.filter(
        idempotency_key__startswith=f"page:{escalation.pk}:",
        status=Notification.Status.PENDING,
    ).update(status=Notification.Status.SKIPPED, last_error=why)


@transaction.atomic
def escalation_acknowledge(*, user, escalation: Escalation, now: datetime | None = None):
    """A paged person acknowledges (from their link, or the incident page)."""
    now = now or timezone.now()
    if user is None or not user.is_active:
        raise ApplicationError("Only an active user can acknowledge a page.")
    current = Escalation.objects.get(pk=escalation.pk)
    _refuse_closed(current)
    hooks.fire(
        hooks.PAGE_ACKNOWLEDGED,
        topic=current.topic,
        subject_id=current.subject_id,
        user=user,
        at=now,
    )
    current = Escalation.objects.select_for_update().get(pk=escalation.pk)
    if (
        current.state == Escalation.State.ACKNOWLEDGED
        and current.acknowledged_by_id == user.pk
        and current.acknowledged_at == now
    ):
        return current  # the hook stopped it with the incident's other escalations
    _refuse_closed(current)
    _take(current, user, now)
    return current


def _refuse_closed(escalation: Escalation) -> None:
    if escalation.state == Escalation.State.ACKNOWLEDGED:
        raise ApplicationError(
            f"Already acknowledged by {display_name(escalation.acknowledged_by)} at "
            f"{escalation.acknowledged_at:%Y-%m-%d %H:%M} UTC."
        )
    if not escalation.is_open:
        raise ApplicationError(
            f"This page is no longer open ({escalation.get_state_display().lower()})."
        )


def escalations_acknowledge_for(topic: str, user, now: datetime | None = None) -> int:
    """Stop every open escalation of `topic`: the subject itself was acknowledged (the
    incident app calls this holding the incident's lock; no hook fires)."""
    now = now or timezone.now()
    taken = 0
    for escalation in Escalation.objects.select_for_update().filter(
        topic=topic, state__in=Escalation.OPEN_STATES
    ):
        taken += _take(escalation, user, now)
    return taken


def escalations_stop(
    topic: str, note: str, now: datetime | None = None, *, policy_only: bool = False
) -> int:
    """Stop paging for `topic` (resolved, closed, a false alarm); policy_only: leave the
    pages by hand running (a severity change re-routes only the policy's)."""
    now = now or timezone.now()
    stopped = 0
    open_ = Escalation.objects.select_for_update().filter(
        topic=topic, state__in=Escalation.OPEN_STATES
    )
    if policy_only:
        open_ = open_.filter(manual=False)
    for escalation in open_:
        _save(
            escalation,
            state=Escalation.State.CANCELLED,
            ended_at=now,
            next_step_at=None,
            note=note[:300],
        )
        timers.cancel(ESCALATION_TIMER, escalation.pk)
        _drop_unsent(escalation, f"Not sent: {note[:200]}")
        stopped += 1
    return stopped
