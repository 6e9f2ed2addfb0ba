"""Email through Django's mail backend (SMTP in production). The Message-ID is derived from
the outbox row's idempotency key, so when a worker dies after the mail server accepted a
message but before the row was marked sent, the retry carries the same Message-ID and mail
clients (and tests) recognise the two as one message."""

import hashlib
import smtplib
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email

from . import PermanentError


def message_id(idempotency_key: str) -> str:
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"<{digest}@{domain}>"


def address(notification) -> str:
    if notification.recipient_id is not None:
        return notification.recipient.email
    return notification.destination


def provider(notification) -> str:
    """The mail relay: one circuit per relay."""
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    if backend == "smtp":
        return f"smtp://{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return backend


# Headers an outbox row may add to its message (a subscriber's one-click unsubscribe,
# RFC 2369 and RFC 8058; bulk mail marked as such, RFC 3834).
EXTRA_HEADERS = frozenset(
    {"List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "Auto-Submitted", "Precedence"}
)


def send(notification) -> None:
    to = address(notification)
    try:
        validate_email(to)
    except ValidationError as error:
        raise PermanentError(f"{to!r} is not a valid email address") from error
    body = notification.body
    if notification.url:
        body = f"{body}\n\n{settings.SITE_URL.rstrip('/')}{notification.url}"
    message = EmailMessage(
        subject=notification.subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            **{
                name: str(value).replace("\r", " ").replace("\n", " ")
                for name, value in (notification.headers or {}).items()
                if name in EXTRA_HEADERS
            },
            "Message-ID": message_id(notification.idempotency_key),
        },
    )
    try:
        message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentError(f"the mail server refused {to}: {error.recipients}") from error
        raise
    except smtplib.SMTPDataError as error:
        if error.smtp_code >= 500:
            raise PermanentError(f"the mail server rejected the message: {error}") from error
        raise
