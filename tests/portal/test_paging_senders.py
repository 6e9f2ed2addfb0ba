"""The paging senders (issue 11) against local HTTP servers: Slack incoming webhooks, a
generic SMS / voice provider with a JSON body template, the idempotency key passed on,
permanent and retryable failures, the per-contact limit of one SMS or call a minute."""

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from portal import notifications
from portal.channels import http, register_sender
from portal.models import Channel, ContactThrottle, Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms(http_provider, restore_senders, settings):
    server = http_provider()
    body = '{"To": "{to}", "Body": "{message}", "meta": {"key": "{key}", "via": ["{channel}"]}}'
    provider = http.Provider("sms", f"{server.url}/messages", "Bearer s3cret", body)
    register_sender(
        Channel.SMS, provider.send, provider=provider.provider, timeout=5, min_interval=60
    )
    settings.SITE_URL = "https://portal.example.com"
    return server


def text(key, number="+4915100000001", subject="[P1] INC-1 Checkout down", url="/oncall/ack/t/"):
    return notifications.notify(
        key=key,
        reason="page",
        destinations=[(Channel.SMS, number)],
        subject=subject,
        url=url,
    )[0]


def test_an_sms_is_posted_with_the_template_auth_and_idempotency_key(sms):
    row = text("page:1:0:0")
    assert notifications.deliver(row.pk) == "sent"
    (request,) = sms.requests
    assert request["path"] == "/messages"
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["headers"]["Idempotency-Key"] == row.idempotency_key
    assert request["json"] == {
        "To": "+4915100000001",
        "Body": "[P1] INC-1 Checkout down - https://portal.example.com/oncall/ack/t/",
        "meta": {"key": row.idempotency_key, "via": ["sms"]},
    }
    row.refresh_from_db()
    assert row.status == "sent" and row.provider == sms.url


def test_quotes_in_a_message_cannot_break_the_json(sms):
    row = text("q", subject='Say "hi", {to} }]')
    assert notifications.deliver(row.pk) == "sent"
    assert sms.requests[0]["json"]["Body"].startswith('Say "hi", {to} }]')


def test_a_refused_request_fails_at_once_and_a_server_error_is_retried(sms):
    sms.answers = [400, 503]
    refused = text("a", number="+1")
    assert notifications.deliver(refused.pk) == "failed"
    refused.refresh_from_db()
    assert refused.status == "failed" and refused.last_error.startswith("Permanent: HTTP 400")
    retried = text("b", number="+2")
    assert notifications.deliver(retried.pk) == "retry"
    retried.refresh_from_db()
    assert (
        retried.status == "pending" and retried.attempts == 1 and "HTTP 503" in (retried.last_error)
    )


def test_one_sms_a_minute_per_contact_and_none_is_dropped(sms):
    first, second, other = text("k1"), text("k2"), text("k3", number="+4915100000002")
    now = timezone.now()
    assert notifications.deliver(first.pk, now) == "sent"
    assert notifications.deliver(second.pk, now) == "deferred"
    assert notifications.deliver(other.pk, now) == "sent"
    second.refresh_from_db()
    assert second.status == "pending" and second.attempts == 0
    assert second.next_attempt_at == now + timedelta(seconds=60)
    assert notifications.dispatch_due(now + timedelta(seconds=59))["sent"] == 0
    assert notifications.dispatch_due(now + timedelta(seconds=60))["sent"] == 1
    assert [r["json"]["To"] for r in sms.requests] == [
        "+4915100000001",
        "+4915100000002",
        "+4915100000001",
    ]
    assert ContactThrottle.objects.count() == 2


def test_slack_posts_text_to_the_teams_webhook(http_provider, settings):
    settings.SITE_URL = "https://portal.example.com"
    slack = http_provider()
    webhook = f"{slack.url}/services/T0/B0/xyz"
    (row,) = notifications.notify(
        key="page:1:0:0:slack",
        reason="page",
        destinations=[(Channel.SLACK, webhook)],
        subject="[P1] INC-1 Checkout down",
        body="Paging Primary On-call.",
        url="/incidents/INC-1/",
    )
    assert notifications.deliver(row.pk) == "sent"
    (request,) = slack.requests
    assert request["path"] == "/services/T0/B0/xyz"
    assert request["json"] == {
        "text": "*[P1] INC-1 Checkout down*\nPaging Primary On-call.\n"
        "<https://portal.example.com/incidents/INC-1/|Open in the portal>"
    }
    row.refresh_from_db()
    # The circuit is per webhook and its name hides the secret path.
    assert row.provider.startswith(f"{slack.url} webhook ") and "xyz" not in row.provider


def test_a_dead_slack_webhook_fails_permanently_on_404(http_provider):
    slack = http_provider()
    slack.answers = [404]
    (row,) = notifications.notify(
        key="s", reason="page", destinations=[(Channel.SLACK, f"{slack.url}/x")], subject="s"
    )
    assert notifications.deliver(row.pk) == "failed"
    assert Notification.objects.get(pk=row.pk).last_error.startswith("Permanent: HTTP 404")


def test_the_provider_body_must_be_json():
    with pytest.raises(json.JSONDecodeError):
        http.Provider("sms", "http://x", "", "{not json")


def test_the_notification_health_page_shows_a_short_circuited_provider(
    client, admin_user, responder, http_provider
):
    slack = http_provider()
    slack.answers = [500] * 5
    for n in range(5):
        (row,) = notifications.notify(
            key=f"s{n}", reason="page", destinations=[(Channel.SLACK, f"{slack.url}/x")],
            subject="P1 page",
        )  # fmt: skip
        notifications.deliver(row.pk)
    client.force_login(responder)
    assert client.get("/notifications/health/").status_code == 403
    client.force_login(admin_user)
    page = client.get("/notifications/health/").content.decode()
    assert "short-circuited until" in page and "5 consecutive failures" in page
    assert "HTTP 500" in page and "a Slack webhook" in page
    assert "/x" not in page.split("Latest failures")[1]  # the webhook's secret path stays hidden


def test_a_test_message_by_sms_carries_its_code(sms, responder):
    from portal.oncall import contacts

    contacts.contact_method_add(actor=responder, kind="sms", address="+4915100000005")
    row = Notification.objects.get(reason="contact_verification")
    assert notifications.deliver(row.pk) == "sent"
    (request,) = sms.requests
    code = re.search(r"code is (\d{6})\.", row.body).group(1)
    assert request["json"]["To"] == "+4915100000005" and code in request["json"]["Body"]
