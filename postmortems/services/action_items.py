"""Action items (spec "Action Items", "Improvement Tracking"): specific and measurable, owned
by an active person, due on a date, prioritised by the Implementation Priority Matrix. Their
owners are reminded before the due date and when it passes, once each (durable timers); an
item marked done schedules a follow-up check of its completion."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from incidents import bounds
from portal import timers
from portal.errors import ApplicationError

from .. import authority
from ..models import ActionItem, ActionItemChange, ItemStatus, PostMortem
from ..rules import Category, Level, priority
from .base import lock_item, save

DUE_SOON_TIMER = "action_item_due_soon"
OVERDUE_TIMER = "action_item_overdue"
FOLLOWUP_TIMER = "action_item_followup"
DUE_SOON_DAYS = 2
FOLLOWUP_AFTER = timedelta(days=14)
TITLE_MAX = 200
TEXT_MAX = 2000


@dataclass
class ItemInput:
    title: str
    owner_id: int | None
    due_on: date | None
    category: str
    impact: str
    effort: str
    done_when: str = ""
    ticket_url: str = ""


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(9), tzinfo=_zone())


def _schedule(item: ActionItem, now: datetime) -> None:
    """Reminders at 09:00 (the organisation's zone) two days before the due date, and at the
    end of the due date."""
    soon = _start_of(item.due_on - timedelta(days=DUE_SOON_DAYS))
    if soon > now:
        timers.schedule(DUE_SOON_TIMER, item.pk, soon)
    else:
        timers.cancel(DUE_SOON_TIMER, item.pk)
    end = datetime.combine(item.due_on + timedelta(days=1), time.min, tzinfo=_zone())
    timers.schedule(OVERDUE_TIMER, item.pk, end)


def _clean(data: ItemInput, *, today: date, creating: bool) -> dict:
    title = (data.title or "").strip()
    if not title:
        raise ApplicationError("Name the action: what will be done.", field="title")
    if len(title) > TITLE_MAX:
        raise ApplicationError(f"At most {TITLE_MAX} characters.", field="title")
    if data.owner_id is None:
        raise ApplicationError("Choose the owner.", field="owner")
    owner = get_user_model().objects.filter(pk=data.owner_id).first()
    if owner is None or not owner.is_active:
        raise ApplicationError(
            "The owner must be an active person"
            + (f" ({owner.get_username()} is not active)." if owner else "."),
            field="owner",
        )
    if data.due_on is None:
        raise ApplicationError("Choose the due date.", field="due_on")
    error = bounds.action_item_due_error(data.due_on, today, creating=creating)
    if error:
        raise ApplicationError(error, field="due_on")
    if data.category not in Category.values:
        raise ApplicationError("Choose a category.", field="category")
    for name in ("impact", "effort"):
        if getattr(data, name) not in Level.values:
            raise ApplicationError(f"Choose the {name}: high or low.", field=name)
    done_when = (data.done_when or "").strip()
    if len(done_when) > TEXT_MAX:
        raise ApplicationError(f"At most {TEXT_MAX} characters.", field="done_when")
    url = (data.ticket_url or "").strip()
    if url and not url.lower().startswith(("https://", "http://")) or len(url) > 500:
        raise ApplicationError(
            "The ticket link is an http or https address (at most 500 characters).",
            field="ticket_url",
        )
    return {
        "title": title,
        "owner": owner,
        "due_on": data.due_on,
        "category": data.category,
        "impact": data.impact,
        "effort": data.effort,
        "priority": priority(data.impact, data.effort).rank,
        "done_when": done_when,
        "ticket_url": url,
    }


def _log(item: ActionItem, actor, kind: str, text: str, now: datetime) -> None:
    ActionItemChange.objects.create(item=item, actor=actor, at=now, kind=kind, text=text)


@transaction.atomic
def action_item_create(
    *, actor, postmortem: PostMortem, data: ItemInput, now: datetime | None = None
) -> ActionItem:
    now = now or timezone.now()
    postmortem = PostMortem.objects.select_for_update().get(pk=postmortem.pk)
    authority.require("add_item", actor, postmortem)
    fields = _clean(data, today=timezone.localdate(now, _zone()), creating=True)
    item = ActionItem.objects.create(
        postmortem=postmortem, created_by=actor, created_at=now, updated_at=now, **fields
    )
    _schedule(item, now)
    _log(item, actor, "created", f"Added, due {item.due_on:%Y-%m-%d}, owner {item.owner}.", now)
    return item


@transaction.atomic
def action_item_update(
    *, actor, item: ActionItem, data: ItemInput, expected_version: int, now=None
) -> ActionItem:
    now = now or timezone.now()
    item = lock_item(item, expected_version)
    authority.require("edit_item", actor, item.postmortem, item)
    fields = _clean(data, today=timezone.localdate(now, _zone()), creating=False)
    changed = [
        ActionItem._meta.get_field(k).verbose_name
        for k, v in fields.items()
        if getattr(item, k) != v and k != "priority"
    ]
    if not changed:
        return item
    save(item, **fields)
    if item.is_open:
        _schedule(item, now)
    _log(item, actor, "edited", "Changed: " + ", ".join(str(c) for c in changed) + ".", now)
    return item


@transaction.atomic
def action_item_set_status(
    *, actor, item: ActionItem, status: str, reason: str = "", expected_version=None, now=None
) -> ActionItem:
    now = now or timezone.now()
    item = lock_item(item, expected_version)
    authority.require("edit_item", actor, item.postmortem, item)
    if status not in ItemStatus.values:
        raise ApplicationError("Choose a status from the list.", field="status")
    if status == item.status:
        raise ApplicationError(f"It is already {item.get_status_display().lower()}.")
    reason = (reason or "").strip()
    if status == ItemStatus.WONT_DO and not reason:
        raise ApplicationError("Say why it will not be done.", field="reason")
    if len(reason) > TEXT_MAX:
        raise ApplicationError(f"At most {TEXT_MAX} characters.", field="reason")
    old = item.get_status_display()
    save(
        item,
        status=status,
        wont_do_reason=reason if status == ItemStatus.WONT_DO else "",
        done_at=now if status == ItemStatus.DONE else None,
    )
    if item.is_open:
        _schedule(item, now)
        timers.cancel(FOLLOWUP_TIMER, item.pk)
    else:
        timers.cancel(DUE_SOON_TIMER, item.pk)
        timers.cancel(OVERDUE_TIMER, item.pk)
        if status == ItemStatus.DONE:
            # Spec: "Schedule follow-up to verify completion".
            timers.schedule(FOLLOWUP_TIMER, item.pk, now + FOLLOWUP_AFTER)
        else:
            timers.cancel(FOLLOWUP_TIMER, item.pk)
    text = f"{old} → {item.get_status_display()}" + (f": {reason}" if reason else "") + "."
    _log(item, actor, "status", text, now)
    return item
