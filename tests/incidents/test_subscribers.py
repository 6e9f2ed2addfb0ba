"""Status-page subscribers (issue 14): sign-up with double opt-in, throttles and identical
answers, notices fanned out one row per subscriber and update, RFC 8058 one-click
unsubscribe, per-component choice, and the staff counts. Mail goes to a real local SMTP
server; the outbox is driven in-process (the worker tests are in test_subscribers_worker)."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import signing
from django.utils import timezone

from incidents import services
from incidents.models import (
    NoticeEvent,
    SignupAttempt,
    Subscriber,
    SubscriberNotice,
    SubscriberState,
)
from incidents.services import maintenance
from incidents.statuspage.subscriptions import fanout, selectors
from incidents.statuspage.subscriptions import services as subscriptions
from portal import notifications, timers
from portal.models import Channel, Lane, Notification

pytestmark = pytest.mark.django_db

LINK = re.compile(r"http://[^\s]+")


def sign_up(client, email="reader@example.org", ip="203.0.113.7", **extra):
    return client.post(
        "/status/subscribe/", {"kind": "email", "email": email, **extra}, REMOTE_ADDR=ip
    )


def told(incident) -> list[str]:
    """The notices subscribers were given about the incident, oldest first."""
    return list(
        SubscriberNotice.objects.filter(incident=incident)
        .order_by("id")
        .values_list("event", flat=True)
    )


def deliver_all():
    """What the sweep and the workers do: fire due timers (the look, the fan-out), send."""
    for _ in range(4):
        timers.sweep()
    notifications.dispatch_due()


def body_of(message) -> str:
    return message.get_payload(decode=True).decode()


def subscribe_active(email, components=()):
    subscriber = Subscriber.objects.create(
        kind="email", email=email, state=SubscriberState.ACTIVE, confirmed_at=timezone.now()
    )
    subscriber.components.set(components)
    return subscriber


def public_p1(declare, **overrides):
    """A P1 that is public (verified P1s are shown by themselves)."""
    incident = declare(severity="P1", severity_reason="checkout down", **overrides)
    if not incident.is_public:
        incident = services.incident_verify(actor=incident.declared_by, incident=incident)
    incident.refresh_from_db()
    assert incident.is_public
    return incident


def test_subscription_end_to_end_confirm_notice_and_one_click_unsubscribe(
    client, smtp, declare, components
):
    inbox = smtp()
    answer = sign_up(client, components=[components[1].public_id])
    assert answer.status_code == 200
    assert "confirmation link is on its way" in answer.content.decode()
    assert "Set-Cookie" not in answer.headers and not answer.cookies
    assert "no-store" in answer["Cache-Control"]
    notifications.dispatch_due()
    assert [m["To"] for m in inbox.messages] == ["reader@example.org"]
    link = LINK.search(body_of(inbox.messages[0])).group(0)
    assert Subscriber.objects.get().state == SubscriberState.PENDING

    page = client.get(link)  # a mail scanner opening the link confirms nothing
    assert page.status_code == 200 and b"Confirm" in page.content
    assert Subscriber.objects.get().state == SubscriberState.PENDING
    done = client.post(link)
    assert done.status_code == 200 and b"now gets" in done.content
    subscriber = Subscriber.objects.get()
    assert subscriber.state == SubscriberState.ACTIVE
    assert list(subscriber.components.all()) == [components[1]]

    incident = public_p1(declare, components=[components[1]])
    deliver_all()
    notice_mail = [m for m in inbox.messages if "Confirm" not in str(m["Subject"])]
    assert len(notice_mail) == 1
    mail = notice_mail[0]
    assert str(mail["Subject"]).endswith("Investigating: Service disruption")
    unsubscribe = subscriber.unsubscribe_url()
    assert " ".join(str(mail["List-Unsubscribe"]).split()) == f"<{unsubscribe}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = body_of(mail)
    assert f"/status/incidents/{incident.public_id}/" in text and unsubscribe in text
    assert "API" in text  # the affected component

    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click to the header's URL.
    one_click = client.post(
        unsubscribe.removeprefix("http://127.0.0.1:8000"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200 and b"will get no more updates" in one_click.content
    assert Subscriber.objects.get().state == SubscriberState.UNSUBSCRIBED
    again = client.post(unsubscribe.removeprefix("http://127.0.0.1:8000"))
    assert again.status_code == 200 and b"already unsubscribed" in again.content

    services.status_update_post(
        actor=incident.declared_by,
        incident=incident,
        impact="Checkout fails",
        actions="Rolling back",
        audience="public",
        public_body="We found the cause and are rolling back.",
    )
    deliver_all()
    assert len([m for m in inbox.messages if "Confirm" not in str(m["Subject"])]) == 1


def test_the_answer_is_the_same_whether_new_pending_or_subscribed(client):
    first = sign_up(client, ip="203.0.113.1")
    later = timezone.now() + timedelta(minutes=11)
    with mock.patch("django.utils.timezone.now", return_value=later):
        pending = sign_up(client, ip="203.0.113.3")
    assert pending.content == first.content
    assert Notification.objects.filter(reason="subscriber_confirmation").count() == 2
    Subscriber.objects.update(state=SubscriberState.ACTIVE)
    rows = Notification.objects.count()
    attempts = SignupAttempt.objects.count()
    subscribed = sign_up(client, ip="203.0.113.2")
    assert subscribed.status_code == first.status_code == 200
    assert subscribed.content == first.content
    # Already subscribed: nothing written, nothing sent.
    assert Notification.objects.count() == rows and SignupAttempt.objects.count() == attempts
    assert Subscriber.objects.get().state == SubscriberState.ACTIVE


def test_an_address_gets_one_confirmation_per_ten_minutes(client):
    sign_up(client, ip="203.0.113.1")
    repeat = sign_up(client, ip="198.51.100.9")
    assert repeat.status_code == 200
    confirmations = Notification.objects.filter(reason="subscriber_confirmation")
    assert confirmations.count() == 1
    later = timezone.now() + timedelta(minutes=11)
    with mock.patch("django.utils.timezone.now", return_value=later):
        sign_up(client, ip="198.51.100.9")
    assert confirmations.count() == 2
    assert Subscriber.objects.count() == 1


def test_a_client_network_is_throttled_and_told_so(client, settings):
    settings.SUBSCRIBE_LIMIT_PER_CLIENT = 3
    for n in range(3):
        assert sign_up(client, email=f"r{n}@example.org", ip="2001:db8::1").status_code == 200
    # Another address of the same /64: the same client.
    refused = sign_up(client, email="r9@example.org", ip="2001:db8::abcd")
    assert refused.status_code == 429
    assert b"Too many sign-ups from your network" in refused.content
    assert not Subscriber.objects.filter(email="r9@example.org").exists()
    # Throttled, a subscribed address is answered the same as any other: nothing leaks.
    Subscriber.objects.filter(email="r0@example.org").update(state=SubscriberState.ACTIVE)
    subscribed = sign_up(client, email="r0@example.org", ip="2001:db8::abcd")
    assert subscribed.status_code == 429
    assert sign_up(client, email="r9@example.org", ip="2001:db9::1").status_code == 200


@pytest.mark.parametrize("email", ["", "not-an-address", "a@b", "x" * 250 + "@example.org"])
def test_a_bad_address_is_refused_and_nothing_written(client, email):
    answer = sign_up(client, email=email)
    assert answer.status_code == 400
    assert b"Enter your email address as name@example.com." in answer.content
    assert not Subscriber.objects.exists() and not Notification.objects.exists()
    assert not SignupAttempt.objects.exists()


def test_an_unknown_component_is_refused(client):
    answer = sign_up(client, components=["nosuchthing"])
    assert answer.status_code == 400 and b"not on the status page" in answer.content
    assert not Subscriber.objects.exists()


def test_tampered_and_expired_confirmation_links_are_refused_and_change_nothing(client):
    sign_up(client)
    subscriber = Subscriber.objects.get()
    token = subscriptions.confirm_token(subscriber)
    tampered = client.post(f"/status/subscribe/confirm/{token[:-2]}xx/")
    assert tampered.status_code == 400 and b"This link is not valid" in tampered.content
    other = signing.dumps({"s": subscriber.pk, "n": "guessed"}, salt=subscriptions.CONFIRM_SALT)
    assert client.post(f"/status/subscribe/confirm/{other}/").status_code == 400
    later = timezone.now().timestamp() + 49 * 3600
    with mock.patch("django.core.signing.time.time", return_value=later):
        expired = client.post(f"/status/subscribe/confirm/{token}/")
    assert expired.status_code == 400 and b"has expired" in expired.content
    assert Subscriber.objects.get().state == SubscriberState.PENDING
    assert client.post(f"/status/subscribe/confirm/{token}/").status_code == 200
    assert Subscriber.objects.get().state == SubscriberState.ACTIVE


def test_bad_unsubscribe_and_manage_links_are_refused(client):
    assert client.post("/status/subscriptions/forged/unsubscribe/").status_code == 400
    assert client.get("/status/subscriptions/forged/").status_code == 400
    assert client.post("/status/subscriptions/" + "x" * 80 + "/").status_code == 400


def test_a_subscriber_changes_components_from_the_link(client, components):
    subscriber = subscribe_active("r@example.org")
    url = f"/status/subscriptions/{subscriber.token}/"
    page = client.get(url)
    assert page.status_code == 200 and b"Save components" in page.content
    saved = client.post(url, {"components": [components[0].public_id, components[2].public_id]})
    assert saved.status_code == 200 and b"Saved" in saved.content
    assert set(subscriber.components.all()) == {components[0], components[2]}
    refused = client.post(url, {"components": ["gone"]})
    assert refused.status_code == 400
    assert set(subscriber.components.all()) == {components[0], components[2]}


def test_notices_reach_the_subscribers_of_affected_components_and_everyones(declare, components):
    api_only = subscribe_active("api@example.org", [components[1]])
    db_only = subscribe_active("db@example.org", [components[3]])
    everything = subscribe_active("all@example.org")
    public_p1(declare, components=[components[1]])
    for _ in range(3):
        timers.sweep()
    rows = Notification.objects.filter(reason="subscriber_update")
    assert sorted(rows.values_list("destination", flat=True)) == [
        "all@example.org",
        "api@example.org",
    ]
    assert all(row.lane == Lane.BULK for row in rows)
    assert db_only.pk and api_only.pk and everything.pk


def test_one_row_per_subscriber_and_update_in_chunks(declare, monkeypatch):
    monkeypatch.setattr(fanout, "CHUNK", 3)
    for n in range(7):
        subscribe_active(f"s{n}@example.org")
    incident = public_p1(declare)
    notice_timer = fanout.FANOUT_TIMER
    for _ in range(6):
        timers.sweep()
    notice = SubscriberNotice.objects.get(incident=incident)
    assert notice.event == NoticeEvent.INCIDENT_OPENED
    assert notice.fanned_out_at is not None
    rows = Notification.objects.filter(topic=notice.topic)
    assert rows.count() == 7 and selectors.counts([notice])[notice.pk]["rows"] == 7
    # A chunk written again (a worker that died after writing, before the timer was marked):
    SubscriberNotice.objects.filter(pk=notice.pk).update(cursor=0, fanned_out_at=None)
    timers.schedule(notice_timer, notice.pk, timezone.now())
    for _ in range(4):
        timers.sweep()
    assert rows.count() == 7
    assert selectors.counts([notice])[notice.pk]["rows"] == 7


def test_a_status_change_and_its_public_update_make_one_notice(declare):
    subscribe_active("r@example.org")
    incident = public_p1(declare)
    for _ in range(2):
        timers.sweep()
    services.incident_change_status(
        actor=incident.declared_by,
        incident=incident,
        to="monitoring",
        note="Fix deployed",
    )
    services.status_update_post(
        actor=incident.declared_by,
        incident=incident,
        impact="Recovering",
        actions="Watching",
        audience="public",
        public_body="A fix is deployed; we are watching.",
    )
    for _ in range(3):
        timers.sweep()
    assert told(incident) == [NoticeEvent.INCIDENT_OPENED, NoticeEvent.INCIDENT_UPDATED]
    update = SubscriberNotice.objects.filter(incident=incident).order_by("id").last()
    assert "A fix is deployed" in update.body and "Monitoring" in update.subject


def test_an_unpublished_incident_tells_nobody(declare):
    subscribe_active("r@example.org")
    declare(severity="P3", severity_reason="minor", title="Internal only")
    for _ in range(3):
        timers.sweep()
    assert not SubscriberNotice.objects.exists()


def test_maintenance_tells_email_subscribers_when_scheduled_started_and_completed(
    responder, components
):
    subscribe_active("r@example.org")
    now = timezone.now()
    window = services.maintenance_schedule(
        actor=responder,
        title="Database upgrade",
        starts_at=now + timedelta(hours=1),
        ends_at=now + timedelta(hours=2),
        components=[components[3]],
        now=now,
    )
    maintenance.maintenance_start(maintenance_id=window.pk, now=now + timedelta(hours=1))
    services.maintenance_verify(actor=responder, maintenance=window)
    services.maintenance_complete(actor=responder, maintenance_id=window.pk)
    for _ in range(5):
        timers.sweep()
    mailed = Notification.objects.filter(reason="subscriber_update", channel=Channel.EMAIL)
    subjects = sorted(mailed.values_list("subject", flat=True))
    assert [s.split("] ")[1] for s in subjects] == [
        "Completed: Database upgrade",
        "In progress: Database upgrade",
        "Scheduled: Database upgrade",
    ]


def test_staff_see_per_notice_how_many_were_sent_pending_and_failed(
    declare, login, responder, smtp
):
    smtp()
    subscribe_active("good@example.org")
    subscribe_active("bad@example.org")
    incident = public_p1(declare)
    for _ in range(3):
        timers.sweep()
    notice = SubscriberNotice.objects.get(incident=incident)
    Notification.objects.filter(topic=notice.topic, destination="bad@example.org").update(
        destination="not an address"
    )
    subscribe_active("late@example.org")
    notifications.dispatch_due()
    Notification.objects.create(
        idempotency_key="extra",
        reason="subscriber_update",
        channel=Channel.EMAIL,
        destination="late@example.org",
        subject="x",
        topic=notice.topic,
        next_attempt_at=timezone.now() + timedelta(hours=1),
    )
    page = login(responder).get("/status/internal/subscribers/")
    html = page.content.decode()
    row = re.search(rf'<tr data-notice="{notice.pk}">(.*?)</tr>', html, re.S).group(1)
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', row))
    assert counts == {"sent": "1", "pending": "1", "failed": "1", "skipped": "0"}
    panel = login(responder).get(incident.get_absolute_url()).content.decode()
    assert 'data-testid="subscriber-panel"' in panel and "Email affected users" in panel


def test_the_status_page_offers_the_sign_up_form_posting_to_its_own_endpoint(client):
    from incidents.statuspage import snapshot

    snapshot.forget()
    snapshot.rebuild()
    page = client.get("/status/")
    html = page.content.decode()
    assert 'action="/status/subscribe/"' in html and 'name="email"' in html
    assert "form-action 'self'" in page["Content-Security-Policy"]
    assert "Set-Cookie" not in page.headers
    assert "public" in page["Cache-Control"]


def test_an_incident_withdrawn_after_subscribers_heard_of_it_is_told_over_once(declare):
    subscribe_active("r@example.org")
    incident = public_p1(declare)
    for _ in range(2):
        timers.sweep()
    services.incident_set_publicity(actor=incident.declared_by, incident=incident, is_public=False)
    for _ in range(3):
        timers.sweep()
    assert told(incident) == [NoticeEvent.INCIDENT_OPENED, NoticeEvent.INCIDENT_RESOLVED]
    services.incident_add_note(actor=incident.declared_by, incident=incident, text="x", tag="")
    for _ in range(2):
        timers.sweep()
    assert SubscriberNotice.objects.filter(incident=incident).count() == 2


def test_a_webhook_subscriber_changes_components_from_its_link(client, components):
    subscriber = Subscriber.objects.create(
        kind="webhook",
        email="ops@example.org",
        endpoint="https://93.184.216.34/hook",
        state=SubscriberState.ACTIVE,
    )
    saved = client.post(
        f"/status/subscriptions/{subscriber.token}/", {"components": [components[1].public_id]}
    )
    assert saved.status_code == 200 and b"Saved" in saved.content
    assert list(subscriber.components.all()) == [components[1]]


def test_a_pending_webhooks_contact_cannot_be_taken_over(client, settings):
    settings.SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    url = "http://127.0.0.1:9/hook"
    client.post(
        "/status/subscribe/", {"kind": "webhook", "email": "owner@example.org", "endpoint": url}
    )
    later = timezone.now() + timedelta(minutes=11)
    with mock.patch("django.utils.timezone.now", return_value=later):
        client.post(
            "/status/subscribe/",
            {"kind": "webhook", "email": "thief@example.org", "endpoint": url},
            REMOTE_ADDR="198.51.100.1",
        )
    assert Subscriber.objects.get().email == "owner@example.org"
