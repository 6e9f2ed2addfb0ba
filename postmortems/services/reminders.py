"""The durable timers' handlers (DESIGN.md decision 3): the post-mortem meeting due soon and
overdue, action items due soon and overdue, and the follow-up check after one is done. Each
fires once; the outbox key names the date it is about, so a repeated fire notifies nobody
twice, and a moved date is reminded afresh."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, transaction

from incidents.authority import commander_of
from portal import notifications, roles, timers
from portal.models import Timer

from ..models import ActionItem, ItemStatus, PostMortem, Status
from . import action_items, lifecycle


def _responsible(*people) -> list:
    """The first of these who is still active; if none is, the Managers (a reminder for
    someone who has left must still reach someone)."""
    for person in people:
        if person is not None and person.is_active:
            return [person]
    return list(
        get_user_model().objects.filter(is_active=True, groups__name=roles.MANAGER).distinct()
    )


def _org_time(moment: datetime) -> str:
    zone = ZoneInfo(settings.TIME_ZONE)
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} {settings.TIME_ZONE}"


def _locked(model, pk: int):
    try:
        with transaction.atomic():
            return model.objects.select_for_update(nowait=True).filter(pk=pk).first()
    except DatabaseError as error:
        raise timers.Busy(f"{model.__name__} {pk} is locked") from error


@timers.register(lifecycle.DUE_SOON_TIMER)
@timers.register(lifecycle.OVERDUE_TIMER)
def postmortem_due(timer: Timer, now: datetime) -> None:
    postmortem = _locked(PostMortem, timer.object_id)
    if postmortem is None or postmortem.status != Status.DRAFT or postmortem.meeting_at:
        return  # in review, published, or the meeting is booked: nothing to remind
    overdue = timer.kind == lifecycle.OVERDUE_TIMER
    reference = postmortem.incident.reference
    due = _org_time(postmortem.due_at)
    notifications.notify(
        key=f"{timer.kind}:{postmortem.pk}:{postmortem.due_at.isoformat()}",
        reason="postmortem_overdue" if overdue else "postmortem_due_soon",
        recipients=_responsible(postmortem.owner, commander_of(postmortem.incident)),
        subject=(
            f"{reference}: the post-mortem meeting is overdue (was due {due})"
            if overdue
            else f"{reference}: the post-mortem meeting is due by {due}"
        ),
        body=(
            "Spec: hold the post-mortem meeting within 5 business days of resolution. "
            "Record the meeting time and participants on the post-mortem."
        ),
        url=postmortem.get_absolute_url(),
        topic=f"postmortem:{postmortem.pk}",
        now=now,
    )


@timers.register(action_items.DUE_SOON_TIMER)
@timers.register(action_items.OVERDUE_TIMER)
@timers.register(action_items.FOLLOWUP_TIMER)
def action_item_due(timer: Timer, now: datetime) -> None:
    item = _locked(ActionItem, timer.object_id)
    if item is None:
        return
    item = ActionItem.objects.select_related("owner", "postmortem__owner").get(pk=item.pk)
    url = item.get_absolute_url()
    if timer.kind == action_items.FOLLOWUP_TIMER:
        if item.status != ItemStatus.DONE:
            return
        notifications.notify(
            key=f"{timer.kind}:{item.pk}:{item.done_at.isoformat()}",
            reason="action_item_followup",
            recipients=[
                *_responsible(item.postmortem.owner),
                *([item.owner] if item.owner.is_active else []),
            ],
            subject=f"Verify that “{item.title}” holds",
            body=(
                "It was marked done two weeks ago. Check that the improvement works as "
                f"intended{': ' + item.done_when if item.done_when else ''}."
            ),
            url=url,
            topic=f"action_item:{item.pk}",
            now=now,
        )
        return
    if not item.is_open:
        return
    overdue = timer.kind == action_items.OVERDUE_TIMER
    notifications.notify(
        key=f"{timer.kind}:{item.pk}:{item.due_on.isoformat()}",
        reason="action_item_overdue" if overdue else "action_item_due_soon",
        recipients=_responsible(item.owner, item.postmortem.owner),
        subject=(
            f"Overdue action item: “{item.title}” (was due {item.due_on:%Y-%m-%d})"
            if overdue
            else f"Action item due {item.due_on:%Y-%m-%d}: “{item.title}”"
        ),
        body="Mark it done, or change its due date or status with a reason.",
        url=url,
        topic=f"action_item:{item.pk}",
        now=now,
    )
