"""Webhook subscribers, the in-app banner's data and script, the prolonged-P1 reminder and
the email composer (issue 14). Webhooks go to a real local HTTP server."""

import http.server
import json
import re
import threading
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import (
    NoticeEvent,
    Subscriber,
    SubscriberNotice,
    SubscriberState,
)
from incidents.services import communications
from incidents.statuspage import snapshot
from incidents.statuspage.subscriptions import webhooks
from portal import notifications, timers
from portal.channels import PermanentError
from portal.models import Channel, Notification
from tests.incidents.test_subscribers import public_p1, subscribe_active

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver: answers the challenge, records every request (raw body kept for
    the signature), or fails with `status` when set."""

    def __init__(self, redirect_to: str = ""):
        receiver = self
        self.requests: list[dict] = []
        self.status = 200

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                document = json.loads(body)
                if redirect_to:
                    self.send_response(302)
                    self.send_header("Location", redirect_to)
                    self.end_headers()
                    return
                self.send_response(receiver.status)
                self.end_headers()
                if document.get("type") == "subscription_challenge":
                    self.wfile.write(json.dumps({"challenge": document["challenge"]}).encode())

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/status"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def webhook_notice(declare, url: str):
    """An active webhook subscriber and its outbox row for a public P1 opening."""
    subscriber = Subscriber.objects.create(
        kind="webhook",
        email="ops@example.org",
        endpoint=url,
        secret="s" * 64,
        state=SubscriberState.ACTIVE,
    )
    public_p1(declare)
    for _ in range(4):
        timers.sweep()
    return subscriber, Notification.objects.get(channel=Channel.WEBHOOK)


@pytest.fixture
def receiver(settings):
    settings.SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    server = Receiver()
    yield server
    server.close()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
        "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
        "http://[fec0::1]/hook",  # site-local
        "http://[fd00::1]/hook",  # unique local
    ],
)
def test_private_loopback_and_link_local_urls_are_refused_by_the_address_check(url):
    with pytest.raises(webhooks.Refused, match="public internet addresses only"):
        webhooks.check_url(url)


def test_an_unresolvable_name_gets_the_same_words_as_a_private_one():
    with pytest.raises(webhooks.Unresolvable, match="public internet addresses only"):
        webhooks.check_url("http://no-such-host.invalid/hook")


def test_a_slow_resolver_is_given_up_on_after_the_timeout(monkeypatch):
    import time as clock

    def slow(*args, **kwargs):
        clock.sleep(0.5)
        return [(None, None, None, None, ("93.184.216.34", 443))]

    monkeypatch.setattr(webhooks.socket, "getaddrinfo", slow)
    monkeypatch.setattr(webhooks, "RESOLVE_TIMEOUT", 0.1)
    started = clock.monotonic()
    with pytest.raises(webhooks.Unresolvable):
        webhooks.check_url("https://slow.example.org/hook")
    assert clock.monotonic() - started < 0.4


def test_the_connection_refuses_a_private_peer_even_if_the_name_check_passed(settings):
    """DNS rebinding: the name resolved to a public address at the check and to a private
    one at the connection. The connection looks at the address it reached."""
    server = Receiver()
    try:
        settings.SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS = []
        with pytest.raises(PermanentError, match="private address"):
            webhooks.post(server.url, b"{}", {})
        assert server.requests == []
    finally:
        server.close()


def test_a_redirect_is_a_failure_and_is_not_followed(settings):
    settings.SUBSCRIBER_WEBHOOK_ALLOW_NETWORKS = ["127.0.0.1/32"]
    server = Receiver(redirect_to="http://169.254.169.254/latest/meta-data/")
    try:
        with pytest.raises(RuntimeError, match="redirect, not followed"):
            webhooks.post(server.url, b"{}", {})
        assert len(server.requests) == 1
    finally:
        server.close()


@pytest.mark.parametrize("url", ["ftp://example.org/x", "http://user:pw@93.184.216.34/"])
def test_other_schemes_and_credentials_are_refused(url):
    with pytest.raises(webhooks.Refused):
        webhooks.check_url(url)


def test_a_public_address_passes_the_check():
    webhooks.check_url("https://93.184.216.34/hooks/status")


def test_the_sign_up_form_refuses_a_private_webhook_and_writes_nothing(client):
    answer = client.post(
        "/status/subscribe/",
        {"kind": "webhook", "email": "ops@example.org", "endpoint": "http://10.0.0.5/hook"},
    )
    assert answer.status_code == 400
    assert b"private, loopback or link-local address" in answer.content
    assert not Subscriber.objects.exists() and not Notification.objects.exists()


def test_a_webhook_answers_the_challenge_and_receives_signed_notices(
    client, receiver, declare, components, responder
):
    answer = client.post(
        "/status/subscribe/",
        {"kind": "webhook", "email": "ops@example.org", "endpoint": receiver.url},
    )
    assert answer.status_code == 200 and b"Answer the challenge" in answer.content
    notifications.dispatch_due()
    challenge = json.loads(receiver.requests[0]["body"])
    assert challenge["type"] == "subscription_challenge"
    secret = challenge["signing_secret"]
    subscriber = Subscriber.objects.get()
    assert subscriber.state == SubscriberState.ACTIVE and secret == subscriber.secret
    # The contact is told it works, with the manage link.
    assert Notification.objects.filter(destination="ops@example.org").exists()

    services.component_set_status(
        actor=responder, component=components[1], status="degraded_performance"
    )
    incident = public_p1(declare, components=[components[1]])
    for _ in range(4):
        timers.sweep()
    notifications.dispatch_due()
    notices = receiver.requests[1:]
    assert len(notices) == 2  # the component change and the incident opened, once each
    for request in notices:
        header = request["headers"]["X-Status-Signature"]
        assert webhooks.verify(secret, header, request["body"])
        assert not webhooks.verify("wrong", header, request["body"])
        assert not webhooks.verify(secret, header, request["body"] + b" ")
    documents = [json.loads(r["body"]) for r in notices]
    component = next(d for d in documents if "component_update" in d)
    assert component["component_update"]["old_status"] == "operational"
    assert component["component_update"]["new_status"] == "degraded_performance"
    assert component["component"]["id"] == components[1].public_id
    assert component["page"]["status_indicator"] in ("minor", "critical")
    assert component["meta"]["unsubscribe"] == subscriber.unsubscribe_url()
    opened = next(d for d in documents if "incident" in d)
    assert opened["incident"]["id"] == incident.public_id
    assert opened["incident"]["status"] == "investigating"
    assert "incident_updates" in opened["incident"]
    assert incident.title not in json.dumps(opened)  # the internal title never leaves


def test_a_webhook_that_keeps_failing_is_dropped_and_its_contact_told(receiver, declare):
    receiver.status = 500
    subscriber, row = webhook_notice(declare, receiver.url)
    moment = timezone.now()
    for _ in range(notifications.MAX_ATTEMPTS):
        notifications.deliver(row.pk, now=moment)
        moment += timedelta(hours=2)
    row.refresh_from_db()
    assert row.status == Notification.Status.FAILED
    assert row.attempts == notifications.MAX_ATTEMPTS
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.DROPPED and "HTTP 500" in subscriber.last_error
    told = Notification.objects.get(reason="subscriber_dropped")
    assert told.destination == "ops@example.org" and receiver.url in told.body
    assert "HTTP 500" not in told.body


def test_embed_json_lists_only_flagged_open_incidents_and_the_script_is_cached_long(
    client, declare, responder, components
):
    flagged = public_p1(declare, technical_scope="platform", components=[components[0]])
    services.incident_set_publicity(
        actor=responder,
        incident=flagged,
        is_public=True,
        public_title='<img src=x onerror="alert(1)">Checkout down',
    )
    not_flagged = public_p1(declare, title="Search slow")
    assert not_flagged.is_public
    snapshot.forget()
    snapshot.rebuild()
    data = client.get("/status/embed.json", HTTP_ORIGIN="https://shop.example.com")
    assert data["Access-Control-Allow-Origin"] == "*"
    assert "max-age=10" in data["Cache-Control"] and "Set-Cookie" not in data.headers
    assert data.status_code == 200, (data.status_code, data.content[:200])
    items = json.loads(data.content)["incidents"]
    assert [i["id"] for i in items] == [flagged.public_id]
    assert items[0]["name"] == '<img src=x onerror="alert(1)">Checkout down'
    assert items[0]["url"].endswith(f"/status/incidents/{flagged.public_id}/")
    script = client.get("/status/embed.js")
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert "max-age=86400" in script["Cache-Control"] and "Set-Cookie" not in script.headers
    assert b"textContent" in script.content and b"innerHTML" not in script.content
    again = client.get("/status/embed.js", HTTP_IF_NONE_MATCH=script["ETag"])
    assert again.status_code == 304
    # A person turns the banner off: it goes.
    services.incident_set_publicity(
        actor=responder,
        incident=flagged,
        is_public=True,
        public_title="Checkout down",
        in_app_notice=False,
    )
    snapshot.forget()
    snapshot.rebuild()
    assert json.loads(client.get("/status/embed.json").content)["incidents"] == []


def test_a_prolonged_p1_reminds_its_communicator_once(declare, responder, make_user):
    long_ago = timezone.now() - timedelta(hours=3)
    incident = declare(
        severity="P1", severity_reason="checkout down", now=long_ago, title="Checkout down"
    )
    for _ in range(2):
        timers.sweep()
    reminders = Notification.objects.filter(reason="prolonged_p1")
    assert reminders.count() == 2  # the communicator, in the portal and by email
    assert {r.recipient for r in reminders} == {responder}
    assert reminders.first().url == f"/incidents/{incident.reference}/email-users/"
    assert incident.events.filter(kind="communication").count() == 1
    # Armed again (an edit, a re-verification): still only once.
    timers.schedule(communications.PROLONGED_TIMER, incident.pk, timezone.now())
    timers.sweep()
    assert reminders.count() == 2
    assert incident.events.filter(kind="communication").count() == 1
    # Someone else takes the Communications role and the P1 is armed again: still once.
    other = make_user("cora", "Responder")
    services.role_assign(actor=responder, incident=incident, role="communications", user=other)
    timers.schedule(communications.PROLONGED_TIMER, incident.pk, timezone.now())
    timers.sweep()
    assert reminders.count() == 2
    assert incident.events.filter(kind="communication").count() == 1


def test_a_p2_is_never_reminded(declare):
    declare(severity="P2", now=timezone.now() - timedelta(hours=3))
    timers.sweep()
    assert not Notification.objects.filter(reason="prolonged_p1").exists()


def test_the_composer_is_prefilled_and_sends_to_subscribers_and_pasted_addresses(
    login, responder, declare, components
):
    subscribe_active("api@example.org", [components[1]])
    subscribe_active("db@example.org", [components[3]])
    incident = public_p1(declare, components=[components[1]])
    client = login(responder)
    url = f"/incidents/{incident.reference}/email-users/"
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    for part in ("What happened", "Current status", "Next steps", "Questions"):
        assert part in html
    assert 'data-testid="subscriber-count">1<' in html

    refused = client.post(
        url,
        {
            "subject": "Checkout update",
            "body": "Text",
            "to_subscribers": "on",
            "addresses": "a@example.org, nonsense",
            "nonce": "n" * 20,
        },
    )
    assert (
        refused.status_code == 422 and "Not email addresses: nonsense" in refused.content.decode()
    )
    assert not SubscriberNotice.objects.filter(event=NoticeEvent.COMMUNICATION).exists()

    sent = client.post(
        url,
        {
            "subject": "Checkout update",
            "body": "What happened\nCheckout fails.",
            "to_subscribers": "on",
            "addresses": "a@example.org\nb@example.org",
            "nonce": "n" * 20,
        },
    )
    assert sent.status_code == 302
    for _ in range(3):
        timers.sweep()
    notice = SubscriberNotice.objects.get(event=NoticeEvent.COMMUNICATION)
    rows = Notification.objects.filter(topic=notice.topic)
    assert sorted(rows.values_list("destination", flat=True)) == [
        "a@example.org",
        "api@example.org",
        "b@example.org",
    ]
    event = incident.events.get(kind="communication")
    assert event.params["subscribers"] == 1 and event.params["addresses"] == 2


def test_the_composer_refuses_an_empty_audience(login, responder, declare):
    incident = public_p1(declare)
    answer = login(responder).post(
        f"/incidents/{incident.reference}/email-users/",
        {"subject": "S", "body": "B", "to_subscribers": "on", "addresses": "", "nonce": "n" * 20},
    )
    assert answer.status_code == 422 and "Nobody to send to" in answer.content.decode()
    assert not SubscriberNotice.objects.filter(event=NoticeEvent.COMMUNICATION).exists()


def test_a_resubmitted_composer_form_sends_nothing_twice(login, responder, declare):
    incident = public_p1(declare)
    client = login(responder)
    url = f"/incidents/{incident.reference}/email-users/"
    nonce = re.search(r'name="nonce" value="([^"]+)"', client.get(url).content.decode()).group(1)
    form = {"subject": "S", "body": "B", "addresses": "a@example.org", "nonce": nonce}
    assert client.post(url, form).status_code == 302
    again = client.post(url, form, follow=True)
    assert "sent already" in again.content.decode()
    assert SubscriberNotice.objects.filter(event=NoticeEvent.COMMUNICATION).count() == 1
    assert incident.events.filter(kind="communication").count() == 1


def test_a_webhook_whose_name_does_not_resolve_is_retried_not_dropped(settings, declare):
    subscriber, row = webhook_notice(declare, "http://no-such-host.invalid/hook")
    assert notifications.deliver(row.pk) == "retry"
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.ACTIVE


def test_a_webhook_answering_410_gone_is_dropped_at_once(receiver, declare):
    receiver.status = 410
    subscriber, row = webhook_notice(declare, receiver.url)
    assert notifications.deliver(row.pk) == "failed"
    subscriber.refresh_from_db()
    assert subscriber.state == SubscriberState.DROPPED
    told = Notification.objects.get(reason="subscriber_dropped")
    assert "HTTP" not in told.body  # the receiver's failure stays with staff


def test_the_composer_says_up_front_who_may_send_and_refuses_anyone_else(login, make_user, declare):
    incident = public_p1(declare)
    cleo = make_user("cleo", "Responder")
    client = login(cleo)
    url = f"/incidents/{incident.reference}/email-users/"
    page = client.get(url).content.decode()
    assert 'data-testid="who-may-send"' in page and "Communications Coordinator" in page
    refused = client.post(
        url, {"subject": "S", "body": "B", "addresses": "a@example.org", "nonce": "n" * 20}
    )
    assert refused.status_code == 422
    assert "Communications Coordinator can email affected users" in refused.content.decode()
    assert not SubscriberNotice.objects.filter(event=NoticeEvent.COMMUNICATION).exists()
    services.role_assign(
        actor=incident.declared_by, incident=incident, role="communications", user=cleo
    )
    assert 'data-testid="who-may-send"' not in client.get(url).content.decode()
