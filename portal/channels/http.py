"""Senders that POST JSON over HTTP (issue 11, DESIGN.md decision 4): Slack incoming webhooks
(one URL per team) and a generic SMS / phone-call provider, configured by URL, an
Authorization header and a JSON body template, so a Twilio-like service or an in-house
gateway both fit. The outbox row's idempotency key travels as the Idempotency-Key header (and
as {key} in a template) so that a provider that honours it never texts twice when a worker
died after sending. A 4xx answer (other than 408 and 429) is permanent: retrying a refused
request cannot help; anything else is worth retrying."""

import hashlib
import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings

from . import PermanentError

TIMEOUT = 10.0
# The provider body when none is configured (settings.SMS_PROVIDER_BODY's default).
DEFAULT_BODY = '{"to": "{to}", "message": "{message}", "idempotency_key": "{key}"}'


def post_json(url: str, payload, *, key: str, auth: str = "", timeout: float = TIMEOUT) -> int:
    data = json.dumps(payload).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("Idempotency-Key", key)
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as error:
        detail = error.read(300).decode(errors="replace")
        if 400 <= error.code < 500 and error.code not in (408, 429):
            raise PermanentError(f"HTTP {error.code} from {_host(url)}: {detail}") from error
        raise RuntimeError(f"HTTP {error.code} from {_host(url)}: {detail}") from error


def _host(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def full_url(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}" if path else ""


# -- Slack ------------------------------------------------------------------------------


def slack_provider(notification) -> str:
    """One circuit per webhook (a team's dead webhook must not silence the others), named
    without the secret part of its URL."""
    digest = hashlib.sha256(notification.destination.encode()).hexdigest()[:8]
    return f"{_host(notification.destination)} webhook {digest}"


def slack_send(notification) -> None:
    url = notification.destination
    if urlsplit(url).scheme not in ("http", "https"):
        # Never the URL itself: it is a secret, and errors are shown to responders.
        raise PermanentError("the Slack webhook is not an http(s) URL")
    text = f"*{notification.subject}*"
    if notification.body:
        text += f"\n{notification.body}"
    if notification.url:
        text += f"\n<{full_url(notification.url)}|Open in the portal>"
    post_json(url, {"text": text}, key=notification.idempotency_key)


# -- SMS and phone calls through a configurable provider ---------------------------------


def render(template, values: dict[str, str]):
    """Fill {placeholders} inside the template's strings (never around them), so a value
    with quotes or braces cannot change the JSON's shape."""
    if isinstance(template, str):
        out = template
        for name, value in values.items():
            out = out.replace("{" + name + "}", value)
        return out
    if isinstance(template, list):
        return [render(item, values) for item in template]
    if isinstance(template, dict):
        return {key: render(value, values) for key, value in template.items()}
    return template


def message_text(notification, limit: int = 320) -> str:
    """What an SMS or a call says: the subject and the link (a page: the acknowledgement
    link), or, without a link, the subject and the body (a test message: its code)."""
    link = full_url(notification.url)
    if link:
        return f"{notification.subject[: max(40, limit - len(link) - 3)]} - {link}"[:limit]
    if notification.body:
        return f"{notification.subject}: {notification.body}"[:limit]
    return notification.subject[:limit]


class Provider:
    """An SMS or phone-call provider from settings (URL, Authorization header, body)."""

    def __init__(self, channel: str, url: str, auth: str, body: str):
        self.channel, self.url, self.auth = channel, url, auth
        self.template = json.loads(body)

    def provider(self, notification) -> str:
        return _host(self.url)

    def send(self, notification) -> None:
        to = notification.destination
        if not to:
            raise PermanentError("no number to send to")
        values = {
            "to": to,
            "message": message_text(notification),
            "subject": notification.subject,
            "url": full_url(notification.url),
            "key": notification.idempotency_key,
            "channel": self.channel,
        }
        post_json(
            self.url,
            render(self.template, values),
            key=notification.idempotency_key,
            auth=self.auth,
        )
