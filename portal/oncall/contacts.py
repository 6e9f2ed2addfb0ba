"""Contact methods (issue 11): the numbers and addresses a person is paged on, on their
profile. A method is used for pages only once its owner has typed back the code of a test
message sent through it: a mistyped number would otherwise fail silently at 3 a.m."""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from ..errors import ApplicationError
from ..models import Notification
from ..notifications import notify
from .models import ContactMethod

CODE_VALID = timedelta(minutes=30)
RESEND_AFTER = timedelta(minutes=1)
MAX_TRIES = 5
MAX_METHODS = 10
CODES_PER_HOUR = 5
CODES_WINDOW = timedelta(hours=1)


def _digest(method: ContactMethod, code: str) -> str:
    message = f"{method.pk}:{method.address}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _own(actor, method: ContactMethod) -> None:
    if method.user_id != actor.pk:
        raise ApplicationError("That contact method is someone else's.")


@transaction.atomic
def contact_method_add(*, actor, kind: str, address: str, now: datetime | None = None):
    if kind not in ContactMethod.Kind.values:
        raise ApplicationError(f"Unknown contact type {kind!r}.", field="kind")
    if ContactMethod.objects.filter(user=actor).count() >= MAX_METHODS:
        raise ApplicationError(f"At most {MAX_METHODS} contact methods; remove one first.")
    try:
        with transaction.atomic():
            method = ContactMethod.objects.create(user=actor, kind=kind, address=address)
    except IntegrityError:
        raise ApplicationError("You already have that contact method.", field="address") from None
    contact_method_send_code(actor=actor, method=method, now=now)
    return method


@transaction.atomic
def contact_method_send_code(*, actor, method: ContactMethod, now: datetime | None = None):
    now = now or timezone.now()
    method = ContactMethod.objects.select_for_update().get(pk=method.pk)
    _own(actor, method)
    if method.code_sent_at and now - method.code_sent_at < RESEND_AFTER:
        raise ApplicationError("A test message went out less than a minute ago; wait for it.")
    # Per person, whatever the numbers: nobody can text strangers in a loop from here.
    sent = Notification.objects.filter(
        idempotency_key__startswith=f"verify:{actor.pk}:", created_at__gte=now - CODES_WINDOW
    ).count()
    if sent >= CODES_PER_HOUR:
        raise ApplicationError(f"{CODES_PER_HOUR} test messages in the last hour: try again later.")
    code = f"{secrets.randbelow(10**6):06d}"
    ContactMethod.objects.filter(pk=method.pk).update(
        code_hash=_digest(method, code), code_sent_at=now, code_attempts=0
    )
    notify(
        key=f"verify:{actor.pk}:{method.pk}:{now.timestamp():.0f}",
        reason="contact_verification",
        destinations=[(method.kind, method.address)],
        # The code is in the body only: the subject is what lists and admins see.
        subject=f"{settings.SITE_NAME} verification code",
        body=f"Your {settings.SITE_NAME} verification code is {code}. Type it on your "
        "profile page to start receiving pages here.",
        now=now,
    )
    return method


def contact_method_verify(
    *, actor, method: ContactMethod, code: str, now: datetime | None = None
) -> ContactMethod:
    """Mark the method verified when `code` is the test message's. A wrong code is counted
    (the one write a refusal makes here: five wrong guesses end the code)."""
    now = now or timezone.now()
    with transaction.atomic():
        method = ContactMethod.objects.select_for_update().get(pk=method.pk)
        _own(actor, method)
        if method.verified_at is not None:
            raise ApplicationError("This contact method is already verified.")
        if not method.code_hash or now - method.code_sent_at > CODE_VALID:
            raise ApplicationError("The code has expired: send a new test message.", field="code")
        if method.code_attempts >= MAX_TRIES:
            raise ApplicationError("Too many wrong codes: send a new test message.", field="code")
        right = hmac.compare_digest(method.code_hash, _digest(method, code.strip()))
        if right:
            ContactMethod.objects.filter(pk=method.pk).update(
                verified_at=now, code_hash="", code_attempts=0
            )
        else:
            ContactMethod.objects.filter(pk=method.pk).update(code_attempts=F("code_attempts") + 1)
    if not right:
        raise ApplicationError("That code is not the one in the test message.", field="code")
    method.refresh_from_db()
    return method


@transaction.atomic
def contact_method_delete(*, actor, method: ContactMethod) -> None:
    _own(actor, method)
    ContactMethod.objects.filter(pk=method.pk).delete()
