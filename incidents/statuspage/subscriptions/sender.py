"""The outbox's sender for the webhook channel (registered by the incidents app): posts a
subscriber's notice, signed with its secret, or its sign-up challenge, whose answer confirms
it. A notice that fails for good drops the subscriber (services.webhook_drop)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

from portal.channels import PermanentError
from portal.notifications import MAX_ATTEMPTS

from ...models import Subscriber, SubscriberKind, SubscriberState
from . import services, webhooks


def provider(notification) -> str:
    """One circuit per receiving host: one dead receiver never holds up the others."""
    parts = urlsplit(notification.destination)
    return f"webhook {parts.scheme}://{parts.netloc}"


def _answered(reply: bytes, challenge: str) -> bool:
    text = reply.decode(errors="replace").strip()
    if text == challenge:
        return True
    try:
        return json.loads(text).get("challenge") == challenge
    except (ValueError, AttributeError):
        return False


def send(notification) -> None:
    subscriber = Subscriber.objects.filter(
        kind=SubscriberKind.WEBHOOK, endpoint=notification.destination
    ).first()
    if subscriber is None:
        raise PermanentError("no webhook subscriber has this URL any more")
    challenge = notification.reason == "subscriber_challenge"
    wanted = SubscriberState.PENDING if challenge else SubscriberState.ACTIVE
    if subscriber.state != wanted:
        if challenge and subscriber.state == SubscriberState.ACTIVE:
            return  # answered already
        raise PermanentError(f"the subscriber is {subscriber.get_state_display().lower()}")
    body = notification.body.encode()
    headers = {
        webhooks.SIGNATURE_HEADER: webhooks.signature(subscriber.secret, int(time.time()), body),
        "Idempotency-Key": notification.idempotency_key,
    }
    event = (notification.headers or {}).get("X-Status-Event")
    if event:
        headers["X-Status-Event"] = str(event)
    try:
        webhooks.check_url(notification.destination)
        reply = webhooks.post(notification.destination, body, headers)
    except webhooks.Unresolvable:
        error = RuntimeError("the webhook's host name did not resolve")
        _failed(subscriber, notification, error, final=notification.attempts + 1 >= MAX_ATTEMPTS)
        raise error from None
    except webhooks.Refused as refusal:
        error = PermanentError(str(refusal))
        _failed(subscriber, notification, error, final=True)
        raise error from None
    except PermanentError as error:
        _failed(subscriber, notification, error, final=True)
        raise
    except Exception as error:
        _failed(subscriber, notification, error, final=notification.attempts + 1 >= MAX_ATTEMPTS)
        raise
    if challenge:
        if not _answered(reply, services.challenge_value(subscriber)):
            raise RuntimeError("the endpoint did not answer with the challenge")
        services.webhook_confirm(subscriber_id=subscriber.pk)


def _failed(subscriber: Subscriber, notification, error: Exception, *, final: bool) -> None:
    if final and notification.reason != "subscriber_challenge":
        services.webhook_drop(subscriber_id=subscriber.pk, error=f"{error}")
