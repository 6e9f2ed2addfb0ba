"""Email through Django's mail backend (SMTP in production). The Message-ID is derived from
the outbox row's idempotency key, so when a worker dies after the mail server accepted a
message but before the row was marked sent, the retry carries the same Message-ID and mail
clients (and tests) recognise the two as one message.

A worker keeps its connection to the mail relay open for up to REUSE_SECONDS and sends the
next message over it (a subscriber fan-out sends thousands): a connection the relay closed
meanwhile is replaced once, at once."""

import contextlib
import hashlib
import smtplib
import threading
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage, get_connection
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


REUSE_SECONDS = 30.0
_held = threading.local()


def _relay() -> tuple:
    return (
        settings.EMAIL_BACKEND,
        getattr(settings, "EMAIL_HOST", ""),
        getattr(settings, "EMAIL_PORT", 0),
        getattr(settings, "EMAIL_HOST_USER", ""),
    )


def forget_connection() -> None:
    """Close this thread's held connection (a failed send; or the relay's settings changed)."""
    held = getattr(_held, "connection", None)
    _held.connection = None
    if held is not None:
        with contextlib.suppress(Exception):  # already gone
            held[1].close()


def _connection():
    """This thread's open connection to the relay, opened anew when the relay changed or the
    connection is older than REUSE_SECONDS."""
    relay, now = _relay(), time.monotonic()
    held = getattr(_held, "connection", None)
    if held is not None and held[0] == relay and now - held[2] < REUSE_SECONDS:
        return held[1]
    forget_connection()
    connection = get_connection(fail_silently=False)
    connection.open()
    _held.connection = (relay, connection, now)
    return connection


def _deliver(message: EmailMessage) -> None:
    reused = getattr(_held, "connection", None) is not None
    message.connection = _connection()
    try:
        message.send(fail_silently=False)
    except (smtplib.SMTPServerDisconnected, ConnectionError):
        forget_connection()
        if not reused:
            raise
        # The relay closed the connection we held: once more on a fresh one.
        message.connection = _connection()
        try:
            message.send(fail_silently=False)
        except Exception:
            forget_connection()
            raise
    except Exception:
        forget_connection()
        raise


def is_address(text: str) -> bool:
    """An email address a mail server can take (RFC 5321 caps a path at 254 characters)."""
    try:
        validate_email(text)
    except ValidationError:
        return False
    return len(text) <= 254


def send(notification) -> None:
    to = address(notification)
    if not is_address(to):
        raise PermanentError(f"{to!r} is not a valid email address")
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
        _deliver(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentError(f"the mail server refused {to}: {error.recipients}") from error
        raise
    except smtplib.SMTPDataError as error:
        if error.smtp_code >= 500:
            raise PermanentError(f"the mail server rejected the message: {error}") from error
        raise
