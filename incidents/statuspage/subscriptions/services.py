"""Signing up, confirming, changing and ending a subscription (issue 14).

The sign-up answers the same whatever the address's state (nobody learns who is
subscribed), and sends a confirmation only to an address that is not subscribed yet and has
not been sent one in the last minutes: the per-address limit keeps confirmations from
flooding someone's mailbox, the per-client-network limit keeps one client from signing up
thousands. Confirmation links are signed and expire; manage and unsubscribe links carry the
subscriber's own token, and unsubscribing twice is harmless."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from portal import bulk, notifications
from portal.channels.email import is_address
from portal.errors import ApplicationError
from portal.models import Channel

from ...models import (
    Component,
    SignupAttempt,
    Subscriber,
    SubscriberKind,
    SubscriberState,
)
from ..serve import RateLimit
from . import webhooks

CONFIRM_SALT = "incidents.subscription.confirm"
ADDRESS_GAP = timedelta(minutes=10)  # at most one confirmation per address this often
ADDRESS_PER_DAY = 3
MAX_COMPONENTS = 200


class Throttled(Exception):
    """This client network signed up too often; try again later."""


@dataclass(frozen=True)
class SignUp:
    kind: str
    email: str
    endpoint: str
    components: list[Component]


def _keyed(kind: str, value: str) -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), f"{kind}:{value}".encode(), hashlib.sha256
    ).hexdigest()


def _site(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def clean(*, kind: str, email: str, endpoint: str = "", component_ids: list[str] = ()) -> SignUp:
    """The sign-up's input, checked: ApplicationError (with its field) when it is wrong."""
    if kind not in SubscriberKind.values:
        raise ApplicationError("Choose email or webhook.", field="kind")
    email = (email or "").strip()
    if "@" in email:
        local, _, domain = email.rpartition("@")
        email = f"{local}@{domain.lower()}"
    if not is_address(email):
        what = "your email address" if kind == SubscriberKind.EMAIL else "a contact address"
        raise ApplicationError(f"Enter {what} as name@example.com.", field="email")
    endpoint = (endpoint or "").strip()
    if kind == SubscriberKind.WEBHOOK:
        if not endpoint:
            raise ApplicationError("Enter the URL notices are posted to.", field="endpoint")
        if len(endpoint) > 500:
            raise ApplicationError("At most 500 characters.", field="endpoint")
        try:
            webhooks.check_url(endpoint)
        except webhooks.Refused as refusal:
            raise ApplicationError(str(refusal), field="endpoint") from None
    else:
        endpoint = ""
    components = chosen_components(component_ids)
    return SignUp(
        kind, email.lower() if kind == SubscriberKind.EMAIL else email, endpoint, components
    )


def chosen_components(component_ids) -> list[Component]:
    """The components ticked (by public id): ApplicationError if one is not on the page."""
    ids = [i for i in dict.fromkeys(component_ids or []) if i]
    if len(ids) > MAX_COMPONENTS:
        raise ApplicationError("Too many components chosen.", field="components")
    components = list(Component.objects.filter(public_id__in=ids))
    if len(components) != len(ids):
        raise ApplicationError(
            "A chosen component is not on the status page any more; reload the page.",
            field="components",
        )
    return components


def confirm_token(subscriber: Subscriber) -> str:
    return signing.dumps({"s": subscriber.pk, "n": subscriber.confirm_nonce}, salt=CONFIRM_SALT)


def confirm_url(subscriber: Subscriber) -> str:
    return _site(reverse("subscription_confirm", args=[confirm_token(subscriber)]))


def _client_key(client_address: str) -> str:
    return _keyed("client", RateLimit.client(client_address))


def _client_allowed(client: str, now: datetime) -> bool:
    recent = SignupAttempt.objects.filter(client=client, at__gte=now - timedelta(hours=1))
    return recent.count() < settings.SUBSCRIBE_LIMIT_PER_CLIENT


def client_allowed(client_address: str, now: datetime | None = None) -> bool:
    """Checked before anything else (the URL check resolves names): a client network over
    its hourly limit is answered 429 whatever it asks."""
    return _client_allowed(_client_key(client_address), now or timezone.now())


def _address_allowed(address: str, now: datetime) -> bool:
    recent = SignupAttempt.objects.filter(address=address, at__gte=now - timedelta(days=1))
    if recent.filter(at__gte=now - ADDRESS_GAP).exists():
        return False
    return recent.count() < ADDRESS_PER_DAY


@transaction.atomic
def subscription_request(*, signup: SignUp, client_address: str, now: datetime | None = None):
    """A sign-up from the public form. Raises Throttled when the client's network signed up
    too often; otherwise returns None whatever happened, as the page answers."""
    now = now or timezone.now()
    client = _client_key(client_address)
    if not _client_allowed(client, now):
        raise Throttled  # before looking at the address: the answer says nothing of it
    identity = signup.endpoint or signup.email
    address = _keyed("address", identity.lower())
    # A webhook's contact is mailed too (confirmed, dropped): it has the same limit.
    contact = _keyed("address", signup.email.lower()) if signup.endpoint else None
    query = Subscriber.objects.select_for_update()
    if signup.kind == SubscriberKind.WEBHOOK:
        existing = query.filter(kind=signup.kind, endpoint=signup.endpoint).first()
    else:
        existing = query.filter(kind=signup.kind, email=signup.email).first()
    if existing is not None and existing.is_active:
        return None  # already subscribed: nothing to write, nothing to send
    if not _address_allowed(address, now) or (contact and not _address_allowed(contact, now)):
        return None  # a confirmation went out moments ago: the same answer, nothing sent
    if existing is None:
        try:
            with transaction.atomic():
                subscriber = Subscriber.objects.create(
                    kind=signup.kind,
                    email=signup.email,
                    endpoint=signup.endpoint,
                    created_at=now,
                    secret=secrets.token_hex(32) if signup.endpoint else "",
                )
        except IntegrityError:
            return None  # signed up by a concurrent request a moment ago
    else:
        subscriber = existing
        if subscriber.state != SubscriberState.PENDING:
            # Signing up again after unsubscribing: a new token, so old links stay dead.
            subscriber.token = Subscriber._meta.get_field("token").default()
            subscriber.confirm_nonce = Subscriber._meta.get_field("confirm_nonce").default()
            subscriber.state = SubscriberState.PENDING
            subscriber.ended_at = None
            subscriber.confirmed_at = None
            subscriber.last_error = ""
            # A new contact only for a subscription that had ended: nobody can take over a
            # pending one's contact (where its manage link goes) from the public form.
            subscriber.email = signup.email
            if signup.endpoint:
                subscriber.secret = secrets.token_hex(32)
    subscriber.confirmations_sent += 1
    subscriber.save()
    subscriber.components.set(signup.components)
    SignupAttempt.objects.create(client=client, address=address, at=now)
    if contact:
        SignupAttempt.objects.create(client="", address=contact, at=now)
    SignupAttempt.objects.filter(at__lt=now - timedelta(days=1)).delete()
    if subscriber.kind == SubscriberKind.WEBHOOK:
        _send_challenge(subscriber, now)
    else:
        _send_confirmation(subscriber, now)
    return None


def _send_confirmation(subscriber: Subscriber, now: datetime) -> None:
    page = settings.STATUS_PAGE_NAME
    hours = settings.SUBSCRIPTION_CONFIRM_HOURS
    notifications.notify(
        key=f"subscriber-confirm:{subscriber.pk}:{subscriber.confirmations_sent}",
        reason="subscriber_confirmation",
        destinations=[(Channel.EMAIL, subscriber.email)],
        subject=f"Confirm your subscription to {page} status updates",
        body=(
            f"Someone (we hope you) asked to be emailed when {page} has an incident or "
            "scheduled maintenance.\n\n"
            f"To confirm, open this link within {hours} hours and press Confirm:\n"
            f"{confirm_url(subscriber)}\n\n"
            "If it was not you, ignore this message: nothing is sent without confirmation."
        ),
        now=now,
    )


def challenge_value(subscriber: Subscriber) -> str:
    """What the endpoint must answer to prove it asked for the notices."""
    return _keyed("challenge", f"{subscriber.pk}:{subscriber.confirm_nonce}")[:40]


def _send_challenge(subscriber: Subscriber, now: datetime) -> None:
    document = {
        "type": "subscription_challenge",
        "challenge": challenge_value(subscriber),
        "signing_secret": subscriber.secret,
        "page": {"id": settings.STATUS_PAGE_ID, "name": settings.STATUS_PAGE_NAME},
        "instructions": "Answer with a 2xx status and the challenge in the body (as it is, or "
        'as {"challenge": "..."}). Later notices are signed: verify the X-Status-Signature '
        "header, t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<body>' with signing_secret>.",
        "meta": {
            "unsubscribe": subscriber.unsubscribe_url(),
            "generated_at": now.isoformat(),
        },
    }
    notifications.notify(
        key=f"subscriber-challenge:{subscriber.pk}:{subscriber.confirmations_sent}",
        reason="subscriber_challenge",
        destinations=[(Channel.WEBHOOK, subscriber.endpoint)],
        subject="Webhook subscription challenge",
        body=json.dumps(document),
        now=now,
    )


def _subscriber_of(token: str) -> Subscriber | None:
    if not token or len(token) > 64:
        return None
    return Subscriber.objects.select_for_update().filter(token=token).first()


INVALID_LINK = "This link is not valid: it may have been cut short. Copy the whole link from "
INVALID_LINK += "the email, or sign up again on the status page."


def read_confirmation(token: str) -> Subscriber:
    """The pending subscriber a confirmation link is for (ApplicationError if expired,
    tampered with, or superseded)."""
    try:
        data = signing.loads(
            token, salt=CONFIRM_SALT, max_age=settings.SUBSCRIPTION_CONFIRM_HOURS * 3600
        )
    except signing.SignatureExpired:
        raise ApplicationError(
            "This confirmation link has expired. Sign up again on the status page for a new one."
        ) from None
    except signing.BadSignature:
        raise ApplicationError(INVALID_LINK) from None
    subscriber = Subscriber.objects.filter(pk=data.get("s")).first()
    if subscriber is None or subscriber.confirm_nonce != data.get("n"):
        raise ApplicationError(INVALID_LINK)
    return subscriber


@transaction.atomic
def subscription_confirm(*, token: str, now: datetime | None = None) -> tuple[Subscriber, bool]:
    """Confirm an email subscription. Returns (subscriber, newly confirmed)."""
    now = now or timezone.now()
    subscriber = read_confirmation(token)
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
    if subscriber.state == SubscriberState.ACTIVE:
        return subscriber, False
    if subscriber.state != SubscriberState.PENDING or subscriber.kind != SubscriberKind.EMAIL:
        raise ApplicationError(INVALID_LINK)
    subscriber.state = SubscriberState.ACTIVE
    subscriber.confirmed_at = now
    subscriber.save(update_fields=["state", "confirmed_at"])
    return subscriber, True


def subscriber_for_link(token: str) -> Subscriber:
    subscriber = Subscriber.objects.filter(token=token).first() if len(token) <= 64 else None
    if subscriber is None:
        raise ApplicationError(INVALID_LINK)
    return subscriber


def _skip_pending(subscriber: Subscriber, why: str) -> int:
    """The notices not sent yet to someone who left are recorded as skipped, not sent."""
    return bulk.skip_pending(
        channel=Channel.WEBHOOK if subscriber.endpoint else Channel.EMAIL,
        destination=subscriber.endpoint or subscriber.email,
        topic_prefix="subscribers:",
        why=why,
    )


@transaction.atomic
def subscription_end(*, token: str, now: datetime | None = None) -> tuple[Subscriber, bool]:
    """Unsubscribe (the link, or the mail client's one-click POST). Returns (subscriber,
    whether this ended it); a second time changes nothing."""
    now = now or timezone.now()
    subscriber = _subscriber_of(token)
    if subscriber is None:
        raise ApplicationError(INVALID_LINK)
    if subscriber.state in (SubscriberState.UNSUBSCRIBED, SubscriberState.DROPPED):
        return subscriber, False
    subscriber.state = SubscriberState.UNSUBSCRIBED
    subscriber.ended_at = now
    subscriber.save(update_fields=["state", "ended_at"])
    _skip_pending(subscriber, "Unsubscribed before it was sent.")
    return subscriber, True


@transaction.atomic
def subscription_set_components(*, token: str, component_ids: list[str]) -> Subscriber:
    subscriber = _subscriber_of(token)
    if subscriber is None:
        raise ApplicationError(INVALID_LINK)
    if subscriber.state not in (SubscriberState.ACTIVE, SubscriberState.PENDING):
        raise ApplicationError(
            "This subscription has ended. Sign up again on the status page to get notices."
        )
    subscriber.components.set(chosen_components(component_ids))
    return subscriber


# -- Webhooks: the challenge answered, or the subscriber dropped --------------------------


@transaction.atomic
def webhook_confirm(*, subscriber_id: int, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
    if subscriber.state != SubscriberState.PENDING:
        return False
    subscriber.state = SubscriberState.ACTIVE
    subscriber.confirmed_at = now
    subscriber.save(update_fields=["state", "confirmed_at"])
    page = settings.STATUS_PAGE_NAME
    notifications.notify(
        key=f"subscriber-active:{subscriber.pk}:{subscriber.token}",
        reason="subscriber_confirmation",
        destinations=[(Channel.EMAIL, subscriber.email)],
        subject=f"Your webhook receives {page} status updates",
        body=(
            f"{subscriber.endpoint} answered the challenge and now receives {page}'s incident, "
            "maintenance and component notices, signed with the secret sent in the "
            "challenge.\n\n"
            f"Choose components: {subscriber.manage_url()}\n"
            f"Unsubscribe: {subscriber.unsubscribe_url()}"
        ),
        now=now,
    )
    return True


@transaction.atomic
def webhook_drop(*, subscriber_id: int, error: str, now: datetime | None = None) -> bool:
    """A webhook whose notice failed for good (its retries spent, or refused) is dropped,
    and its contact told how to sign up again."""
    now = now or timezone.now()
    subscriber = Subscriber.objects.select_for_update().get(pk=subscriber_id)
    if subscriber.state != SubscriberState.ACTIVE:
        return False
    subscriber.state = SubscriberState.DROPPED
    subscriber.ended_at = now
    subscriber.last_error = error[:2000]
    subscriber.save(update_fields=["state", "ended_at", "last_error"])
    _skip_pending(subscriber, "The webhook was dropped after repeated failures.")
    page = settings.STATUS_PAGE_NAME
    notifications.notify(
        key=f"subscriber-dropped:{subscriber.pk}:{subscriber.token}",
        reason="subscriber_dropped",
        destinations=[(Channel.EMAIL, subscriber.email)],
        subject=f"Your webhook no longer receives {page} status updates",
        body=(
            # Not the error itself: a receiver's failures say nothing to the contact that
            # could map someone else's network. Staff see it on the subscriber.
            f"Notices to {subscriber.endpoint} kept failing, so we stopped sending them.\n\n"
            f"When the endpoint works again, sign up again: {settings.STATUS_PAGE_URL}"
        ),
        now=now,
    )
    return True
