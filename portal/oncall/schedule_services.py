"""Changing schedules from the portal (issue 11): overrides, and the secret calendar feeds.
Rotations and policies are edited by admins in the admin site."""

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ..errors import ApplicationError
from ..models import display_name
from .models import CalendarFeed, OnCallSchedule, ScheduleOverride

MAX_OVERRIDE = timedelta(days=90)
MAX_FEEDS = 20
RESPONDER_PERM = "incidents.change_incident"


@transaction.atomic
def override_create(
    *,
    actor,
    schedule: OnCallSchedule,
    user,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
    now: datetime | None = None,
) -> ScheduleOverride:
    """Someone covers a period of the schedule (for someone else, or a gap)."""
    now = now or timezone.now()
    if not actor.has_perm(RESPONDER_PERM):
        raise ApplicationError("Only a responder can change who is on call.")
    if user is None or not user.is_active:
        raise ApplicationError("Choose an active person to cover.", field="user")
    if not user.has_perm(RESPONDER_PERM):
        raise ApplicationError(
            f"{display_name(user)} has no Responder role and could not answer a page.",
            field="user",
        )
    if ends_at <= starts_at:
        raise ApplicationError("The cover must end after it starts.", field="ends_at")
    if ends_at <= now:
        raise ApplicationError("That period is already over.", field="ends_at")
    if starts_at < now - timedelta(days=1) or starts_at > now + timedelta(days=366):
        raise ApplicationError(
            "The cover must start between yesterday and a year from now.", field="starts_at"
        )
    if ends_at - starts_at > MAX_OVERRIDE:
        raise ApplicationError("A cover is at most 90 days; change the rotation instead.")
    clash = schedule.overrides.filter(starts_at__lt=ends_at, ends_at__gt=starts_at).first()
    if clash is not None:
        raise ApplicationError(
            f"{display_name(clash.user)} already covers {clash.starts_at:%Y-%m-%d %H:%M} to "
            f"{clash.ends_at:%Y-%m-%d %H:%M} UTC; remove that cover first.",
            field="starts_at",
        )
    return ScheduleOverride.objects.create(
        schedule=schedule,
        user=user,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip()[:200],
        created_by=actor,
        created_at=now,
    )


@transaction.atomic
def override_delete(*, actor, override: ScheduleOverride) -> None:
    if not actor.has_perm(RESPONDER_PERM):
        raise ApplicationError("Only a responder can change who is on call.")
    ScheduleOverride.objects.filter(pk=override.pk).delete()


@transaction.atomic
def feed_create(*, actor, schedule: OnCallSchedule | None = None) -> CalendarFeed:
    """A new secret calendar URL: a schedule's, or (schedule None) the actor's own shifts."""
    if CalendarFeed.objects.filter(owner=actor, revoked_at__isnull=True).count() >= MAX_FEEDS:
        raise ApplicationError(f"At most {MAX_FEEDS} calendar links each: revoke one first.")
    return CalendarFeed.objects.create(
        token=secrets.token_urlsafe(32), owner=actor, schedule=schedule
    )


@transaction.atomic
def feed_revoke(*, actor, feed: CalendarFeed, now: datetime | None = None) -> None:
    if feed.owner_id != actor.pk and not actor.has_perm("portal.change_calendarfeed"):
        raise ApplicationError("Only the person who made this calendar link can revoke it.")
    if feed.revoked_at is not None:
        raise ApplicationError("This calendar link was already revoked.")
    CalendarFeed.objects.filter(pk=feed.pk).update(revoked_at=now or timezone.now())
