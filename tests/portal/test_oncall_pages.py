"""The on-call pages (issue 11): who is on call now and next, the calendar with its gaps,
covers, the secret revocable iCal feeds, and contact methods verified by a test message."""

import re
from datetime import UTC, date, datetime, timedelta

import icalendar
import pytest
from django.utils import timezone

from portal import roles
from portal.models import (
    CalendarFeed,
    ContactMethod,
    Notification,
    OnCallRole,
    OnCallSchedule,
    RotationMember,
    ScheduleOverride,
    ScheduleRotation,
)
from portal.oncall import contacts
from portal.oncall.selectors import schedule_shifts

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(make_user):
    return [make_user(name, roles.RESPONDER) for name in ("ana", "ben")]


@pytest.fixture
def weekly(people):
    schedule = OnCallSchedule.objects.create(
        name="Backend primary", slug="backend-primary", time_zone="Europe/Berlin"
    )
    rotation = ScheduleRotation.objects.create(
        schedule=schedule, name="Weekly", start=date(2026, 1, 5)
    )
    for position, person in enumerate(people):
        RotationMember.objects.create(rotation=rotation, user=person, position=position)
    return schedule


def test_layers_and_covers_combine_with_gaps(people, weekly, make_user):
    ana, ben = people
    cy = make_user("cy")
    # A second layer on weekdays only would be a rotation too; here a one-day cover and a
    # second schedule with an empty rotation.
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # Monday 09:00 Berlin
    ScheduleOverride.objects.create(
        schedule=weekly,
        user=cy,
        starts_at=start + timedelta(days=1),
        ends_at=start + timedelta(days=2),
    )
    found = schedule_shifts(weekly, start, start + timedelta(days=7))
    assert [(s.person, s.override) for s in found] == [
        (ben.pk, False),
        (cy.pk, True),
        (ben.pk, False),
    ]
    assert found[1].starts_at == start + timedelta(days=1)
    empty = OnCallSchedule.objects.create(name="Empty", slug="empty")
    (gap,) = schedule_shifts(empty, start, start + timedelta(days=1))
    assert gap.person is None


def test_the_index_shows_now_next_gaps_and_team_roles(client, people, weekly, responder):
    OnCallRole.objects.create(role="primary_oncall", schedule=weekly)
    OnCallSchedule.objects.create(name="Security engineer", slug="security")
    client.force_login(responder)
    page = client.get("/oncall/").content.decode()
    assert "Backend primary" in page and "Security engineer" in page
    assert "Nobody on call" in page  # the empty schedule
    assert "Primary On-call" in page and "Communications Lead" in page
    assert page.count("Ana") + page.count("Ben") >= 2  # now and next


def test_the_schedule_page_has_a_calendar_and_flags_gaps(client, weekly, responder):
    rotation = weekly.rotations.get()
    rotation.start = timezone.now().date() + timedelta(days=10)
    rotation.save()
    client.force_login(responder)
    response = client.get("/oncall/schedules/backend-primary/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "gap" in page and "Next 4 weeks" in page and "Times in Europe/Berlin" in page


def test_a_cover_is_added_in_the_schedules_zone_and_bad_input_writes_nothing(
    client, weekly, people, responder
):
    ana, _ = people
    client.force_login(responder)
    tomorrow = (timezone.now() + timedelta(days=1)).astimezone(timezone.get_fixed_timezone(0))
    day = tomorrow.date().isoformat()
    bad = client.post(
        "/oncall/schedules/backend-primary/covers/",
        {"user": ana.pk, "starts_at": f"{day}T18:00", "ends_at": f"{day}T09:00"},
    )
    assert bad.status_code == 400 and "must end after it starts" in bad.content.decode()
    assert not ScheduleOverride.objects.exists()
    garbage = client.post(
        "/oncall/schedules/backend-primary/covers/",
        {"user": "999999", "starts_at": "soon", "ends_at": ""},
    )
    assert garbage.status_code == 400 and not ScheduleOverride.objects.exists()
    ok = client.post(
        "/oncall/schedules/backend-primary/covers/",
        {"user": ana.pk, "starts_at": f"{day}T09:00", "ends_at": f"{day}T18:00", "reason": "swap"},
    )
    assert ok.status_code == 302
    cover = ScheduleOverride.objects.get()
    # 09:00 in Berlin in winter is 08:00 UTC.
    assert cover.starts_at.astimezone(UTC).hour == 8 and cover.reason == "swap"
    clash = client.post(
        "/oncall/schedules/backend-primary/covers/",
        {"user": ana.pk, "starts_at": f"{day}T10:00", "ends_at": f"{day}T11:00"},
    )
    assert clash.status_code == 400 and "already covers" in clash.content.decode()


def test_a_viewer_without_the_responder_role_cannot_change_covers(client, weekly, norole, people):
    client.force_login(norole)
    day = (timezone.now() + timedelta(days=1)).date().isoformat()
    response = client.post(
        "/oncall/schedules/backend-primary/covers/",
        {"user": people[0].pk, "starts_at": f"{day}T09:00", "ends_at": f"{day}T18:00"},
    )
    assert response.status_code == 400 and "Only a responder" in response.content.decode()
    assert not ScheduleOverride.objects.exists()


def test_the_schedule_feed_is_ical_without_login_until_revoked(client, weekly, responder):
    client.force_login(responder)
    client.post("/oncall/feeds/", {"schedule": "backend-primary"})
    feed = CalendarFeed.objects.get()
    assert feed.schedule == weekly and feed.owner == responder
    client.logout()
    response = client.get(f"/oncall/feeds/{feed.token}.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) >= 14  # weekly shifts over 14 days back and 90 ahead
    summaries = {str(e["SUMMARY"]) for e in events}
    assert summaries == {"Backend primary: Ana", "Backend primary: Ben"}
    first = events[0]
    assert first.decoded("DTEND") - first.decoded("DTSTART") <= timedelta(days=7)
    client.force_login(responder)
    client.post(f"/oncall/feeds/{feed.pk}/revoke/")
    client.logout()
    assert client.get(f"/oncall/feeds/{feed.token}.ics").status_code == 404
    assert client.get("/oncall/feeds/not-a-token.ics").status_code == 404


def test_a_personal_feed_has_only_that_persons_shifts(client, weekly, people):
    ana, _ = people
    client.force_login(ana)
    client.post("/oncall/feeds/")
    feed = CalendarFeed.objects.get(owner=ana)
    client.logout()
    calendar = icalendar.Calendar.from_ical(client.get(f"/oncall/feeds/{feed.token}.ics").content)
    events = list(calendar.walk("VEVENT"))
    assert events and {str(e["SUMMARY"]) for e in events} == {"On call: Backend primary"}


def test_only_its_owner_revokes_a_feed(client, weekly, people):
    ana, ben = people
    client.force_login(ana)
    client.post("/oncall/feeds/")
    feed = CalendarFeed.objects.get()
    client.force_login(ben)
    client.post(f"/oncall/feeds/{feed.pk}/revoke/")
    feed.refresh_from_db()
    assert feed.revoked_at is None


def test_a_number_is_used_for_pages_once_its_test_code_is_typed_back(client, responder):
    client.force_login(responder)
    bad = client.post("/oncall/contacts/", {"kind": "sms", "address": "0151 123"})
    assert bad.status_code == 400 and "international format" in bad.content.decode()
    assert not ContactMethod.objects.exists()
    client.post("/oncall/contacts/", {"kind": "sms", "address": "+49 151 1234567"})
    method = ContactMethod.objects.get()
    assert method.address == "+491511234567" and method.verified_at is None
    test_message = Notification.objects.get(reason="contact_verification")
    assert (test_message.channel, test_message.destination) == ("sms", "+491511234567")
    code = re.search(r"code is (\d{6})\.", test_message.body).group(1)
    assert code not in test_message.subject  # lists and admins show the subject
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(f"/oncall/contacts/{method.pk}/verify/", {f"m{method.pk}-code": wrong})
    assert response.status_code == 400 and "not the one" in response.content.decode()
    method.refresh_from_db()
    assert method.verified_at is None and method.code_attempts == 1
    response = client.post(f"/oncall/contacts/{method.pk}/verify/", {f"m{method.pk}-code": code})
    assert response.status_code == 302
    method.refresh_from_db()
    assert method.verified_at is not None
    page = client.get("/accounts/profile/").content.decode()
    assert "Verified" in page


def test_five_wrong_codes_end_the_code(responder):
    method = contacts.contact_method_add(actor=responder, kind="phone", address="+4915112345678")
    for _ in range(5):
        with pytest.raises(Exception, match="not the one"):
            contacts.contact_method_verify(actor=responder, method=method, code="999999x"[:6])
    with pytest.raises(Exception, match="Too many wrong codes"):
        contacts.contact_method_verify(actor=responder, method=method, code="123456")


def test_someone_elses_contact_method_is_not_found(client, responder, make_user):
    other = make_user("olga", roles.RESPONDER)
    method = ContactMethod.objects.create(user=other, kind="sms", address="+4915100000009")
    client.force_login(responder)
    assert client.post(f"/oncall/contacts/{method.pk}/remove/").status_code == 404
    assert ContactMethod.objects.filter(pk=method.pk).exists()


def test_test_messages_are_limited_per_person(responder):
    for n in range(5):
        contacts.contact_method_add(actor=responder, kind="sms", address=f"+491510000000{n}")
    with pytest.raises(Exception, match="5 test messages in the last hour"):
        contacts.contact_method_add(actor=responder, kind="sms", address="+4915100000009")
    assert ContactMethod.objects.count() == 5  # refused whole: nothing written


def test_only_a_responder_can_be_put_on_call(client, weekly, responder, norole):
    client.force_login(responder)
    day = (timezone.now() + timedelta(days=1)).date().isoformat()
    response = client.post(
        "/oncall/schedules/backend-primary/covers/",
        {"user": norole.pk, "starts_at": f"{day}T09:00", "ends_at": f"{day}T18:00"},
    )
    assert response.status_code == 400 and "no Responder role" in response.content.decode()
    assert not ScheduleOverride.objects.exists()


def test_a_bad_stored_time_zone_reads_as_utc_instead_of_breaking_pages(client, weekly, responder):
    OnCallSchedule.objects.filter(pk=weekly.pk).update(time_zone="Mars/Olympus")
    client.force_login(responder)
    assert client.get("/oncall/").status_code == 200
    page = client.get("/oncall/schedules/backend-primary/")
    assert page.status_code == 200 and "Times in UTC" in page.content.decode()


def test_the_feed_keeps_its_event_ids_between_fetches(weekly, people):
    from portal.oncall.calendar import feed_ical

    feed = CalendarFeed.objects.create(token="t", owner=people[0], schedule=weekly)
    now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # a Wednesday: the window stays put
    uids = [
        {str(e["UID"]) for e in icalendar.Calendar.from_ical(feed_ical(feed, at)).walk("VEVENT")}
        for at in (now, now + timedelta(hours=5))
    ]
    assert uids[0] == uids[1]


def test_calendar_links_are_limited_per_person(client, responder):
    client.force_login(responder)
    for _ in range(21):
        client.post("/oncall/feeds/")
    assert CalendarFeed.objects.filter(owner=responder).count() == 20
    page = client.get("/oncall/").content.decode()
    assert "At most 20 calendar links each" in page
