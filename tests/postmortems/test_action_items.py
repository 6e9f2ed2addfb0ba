"""Action items: specific, owned by an active person, due on a date that is not past, their
priority from the matrix; reminders before due and when overdue, once each; a follow-up
check when done; tracking lists and the weekly review."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from portal import timers
from portal.errors import ApplicationError
from portal.models import Notification, Timer
from postmortems import rules, selectors
from postmortems import services as pm
from postmortems.models import ActionItem, ActionItemChange

from .conftest import item_input

pytestmark = pytest.mark.django_db


def written():
    return (
        ActionItem.objects.count(),
        ActionItemChange.objects.count(),
        Timer.objects.filter(kind__startswith="action_item").count(),
        list(ActionItem.objects.values_list("status", "version")),
    )


@pytest.mark.parametrize(
    ("impact", "effort", "rank", "name"),
    [
        ("high", "low", 1, "Immediate"),
        ("high", "high", 2, "Planned Project"),
        ("low", "low", 3, "Quick Win"),
        ("low", "high", 4, "Consider Alternative"),
    ],
)
def test_the_priority_comes_from_the_matrix(postmortem, responder, impact, effort, rank, name):
    item = pm.action_item_create(
        actor=responder,
        postmortem=postmortem,
        data=item_input(responder, impact=impact, effort=effort),
    )
    assert item.priority == rank
    assert item.priority_label == f"{rank} - {name}"
    assert rules.priority(impact, effort).rank == rank


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": "  "}, "Name the action"),
        ({"due_on": timezone.localdate() - timedelta(days=1)}, "cannot be in the past"),
        ({"due_on": timezone.localdate() + timedelta(days=800)}, "within 731 days"),
        ({"category": "vibes"}, "Choose a category"),
        ({"impact": "medium"}, "Choose the impact"),
        ({"ticket_url": "javascript:alert(1)"}, "http or https"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(postmortem, responder, overrides, message):
    before = written()
    with pytest.raises(ApplicationError, match=message):
        pm.action_item_create(
            actor=responder, postmortem=postmortem, data=item_input(responder, **overrides)
        )
    assert written() == before


def test_an_inactive_owner_is_refused(postmortem, responder, make_user):
    gone = make_user("gone")
    gone.is_active = False
    gone.save()
    before = written()
    with pytest.raises(ApplicationError, match=r"active person \(gone is not active\)"):
        pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(gone))
    assert written() == before


def _zone():
    return ZoneInfo(settings.TIME_ZONE)


def test_owners_are_reminded_before_due_and_when_overdue_once_each(postmortem, responder):
    item = pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(responder))
    soon_at = datetime.combine(item.due_on - timedelta(days=2), time(9), tzinfo=_zone())
    end_at = datetime.combine(item.due_on + timedelta(days=1), time.min, tzinfo=_zone())
    timers.sweep(soon_at + timedelta(minutes=1))
    timers.sweep(soon_at + timedelta(hours=2))
    soon = Notification.objects.filter(reason="action_item_due_soon")
    assert soon.count() == 2 and set(soon.values_list("recipient", flat=True)) == {responder.pk}
    timers.sweep(end_at + timedelta(minutes=1))
    timers.sweep(end_at + timedelta(days=1))
    assert Notification.objects.filter(reason="action_item_overdue").count() == 2
    assert soon.count() == 2


def test_done_cancels_the_reminders_and_schedules_a_followup(postmortem, responder):
    item = pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(responder))
    now = timezone.now()
    pm.action_item_set_status(actor=responder, item=item, status="done", now=now)
    pending = set(
        Timer.objects.filter(
            object_id=item.pk, state="pending", kind__startswith="action"
        ).values_list("kind", "due_at")
    )
    assert pending == {("action_item_followup", now + timedelta(days=14))}
    timers.sweep(now + timedelta(days=20))
    followup = Notification.objects.filter(reason="action_item_followup")
    assert followup.count() == 2  # the post-mortem's owner (also the item's), portal and email
    assert not Notification.objects.filter(reason__in=["action_item_overdue"]).exists()


def test_wont_do_needs_a_reason(postmortem, responder):
    item = pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(responder))
    before = written()
    with pytest.raises(ApplicationError, match="Say why it will not be done"):
        pm.action_item_set_status(actor=responder, item=item, status="wont_do")
    assert written() == before
    pm.action_item_set_status(
        actor=responder, item=item, status="wont_do", reason="Replaced by the new gateway"
    )
    item.refresh_from_db()
    assert (item.status, item.wont_do_reason) == ("wont_do", "Replaced by the new gateway")
    assert not Timer.objects.filter(
        object_id=item.pk, state="pending", kind__startswith="action"
    ).exists()


def test_the_item_owner_may_change_it_but_a_stranger_without_a_role_may_not(
    postmortem, responder, norole
):
    item = pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(norole))
    pm.action_item_set_status(actor=norole, item=item, status="in_progress")
    stranger_item = pm.action_item_create(
        actor=responder, postmortem=postmortem, data=item_input(responder)
    )
    with pytest.raises(
        ApplicationError, match="Only a Manager, a responder or the action item.s owner can change"
    ):
        pm.action_item_set_status(actor=norole, item=stranger_item, status="done")


def test_tracking_filters_and_my_items(postmortem, responder, manager):
    mine = pm.action_item_create(
        actor=responder, postmortem=postmortem, data=item_input(responder, category="detection")
    )
    theirs = pm.action_item_create(
        actor=responder, postmortem=postmortem, data=item_input(manager, impact="low")
    )
    assert list(selectors.item_list(owner=responder)) == [mine]
    assert list(selectors.item_list(category="detection")) == [mine]
    assert list(selectors.item_list(priority=3)) == [theirs]
    pm.action_item_set_status(actor=responder, item=mine, status="done")
    assert list(selectors.item_list()) == [theirs]
    assert list(selectors.item_list(status="all").order_by("pk")) == [mine, theirs]


def test_the_weekly_review_lists_overdue_first_then_changes(postmortem, responder, client):
    item = pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(responder))
    ActionItem.objects.filter(pk=item.pk).update(due_on=timezone.localdate() - timedelta(days=3))
    review = selectors.weekly_review()
    assert [i.pk for i in review["overdue"]] == [item.pk]
    assert [c.kind for c in review["changes"]] == ["created"]
    client.force_login(responder)
    page = client.get(reverse("postmortems:weekly")).content.decode()
    assert page.index("Overdue (1)") < page.index("Changes in the last week (1)")
    assert item.title in page


def test_the_item_pages_refuse_bad_input_with_a_message(postmortem, responder, client):
    client.force_login(responder)
    url = reverse("postmortems:add_item", args=[postmortem.incident.reference])
    response = client.post(
        url,
        {
            "title": "Alert on gateway errors",
            "owner": responder.pk,
            "due_on": (timezone.localdate() - timedelta(days=2)).isoformat(),
            "category": "detection",
            "impact": "high",
            "effort": "low",
        },
    )
    assert response.status_code == 400
    assert "The due date cannot be in the past." in response.content.decode()
    assert not ActionItem.objects.exists()
    response = client.post(
        url,
        {
            "title": "Alert on gateway errors",
            "owner": responder.pk,
            "due_on": (timezone.localdate() + timedelta(days=2)).isoformat(),
            "category": "detection",
            "impact": "high",
            "effort": "low",
        },
    )
    assert response.status_code == 302
    item = ActionItem.objects.get()
    response = client.post(
        reverse("postmortems:item_status", args=[item.pk]),
        {"status": "wont_do", "version": item.version},
        follow=True,
    )
    assert "Say why it will not be done." in response.content.decode()
    assert ActionItem.objects.get().status == "open"


def test_a_stale_item_edit_keeps_what_was_typed_and_names_what_was_saved(
    postmortem, responder, manager, client
):
    item = pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(responder))
    form = {
        "version": item.version,
        "title": "Validate routes in CI, blocking",
        "owner": responder.pk,
        "due_on": item.due_on.isoformat(),
        "category": "prevention",
        "impact": "high",
        "effort": "low",
    }
    pm.action_item_update(
        actor=manager,
        item=item,
        data=item_input(responder, title="Validate routes in CI (Manny)"),
        expected_version=item.version,
    )
    client.force_login(responder)
    url = reverse("postmortems:action_item", args=[item.pk])
    page = client.post(url, form).content.decode()
    assert "Someone else changed this action item" in page
    assert "Saved meanwhile: “Validate routes in CI (Manny)”" in page
    assert 'value="Validate routes in CI, blocking"' in page
    assert ActionItem.objects.get(pk=item.pk).title == "Validate routes in CI (Manny)"
    # Without its version a form proves nothing about what its author saw: refused too.
    form.pop("version")
    client.post(url, form)
    assert ActionItem.objects.get(pk=item.pk).title == "Validate routes in CI (Manny)"


def test_items_filter_by_the_month_they_are_due(postmortem, responder, client):
    today = timezone.localdate()
    soon = pm.action_item_create(
        actor=responder, postmortem=postmortem, data=item_input(responder, title="Soon")
    )
    later = pm.action_item_create(
        actor=responder,
        postmortem=postmortem,
        data=item_input(responder, title="Later", due_on=today + timedelta(days=70)),
    )
    client.force_login(responder)
    url = reverse("postmortems:items")
    page = client.get(url, {"due_month": f"{later.due_on:%Y-%m}"}).content.decode()
    assert "Later" in page and ">Soon<" not in page
    assert soon.title == "Soon"
    refused = client.get(url, {"due_month": "1999-13"})
    assert refused.status_code == 400
    assert "Some filters were not understood" in refused.content.decode()
