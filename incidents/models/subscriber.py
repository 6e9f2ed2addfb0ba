"""Status-page subscribers (issue 14): people (by email) and systems (by webhook) the public
status page tells when something breaks or is fixed, and the notices they are sent. A
subscriber is confirmed before anything is sent (double opt-in for email, a challenge for a
webhook); every notice is one row here and one outbox row per subscriber."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


def new_token() -> str:
    """The secret in a subscriber's manage and unsubscribe links."""
    return secrets.token_urlsafe(24)


def new_nonce() -> str:
    return secrets.token_urlsafe(12)


class SubscriberKind(models.TextChoices):
    EMAIL = "email", "Email"
    WEBHOOK = "webhook", "Webhook"


class SubscriberState(models.TextChoices):
    PENDING = "pending", "Waiting for confirmation"
    ACTIVE = "active", "Subscribed"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    DROPPED = "dropped", "Dropped after repeated failures"


class Subscriber(models.Model):
    kind = models.CharField(max_length=8, choices=SubscriberKind.choices)
    # The address notices go to (email), or the contact told when the webhook is dropped.
    email = models.EmailField(max_length=254)
    endpoint = models.URLField(max_length=500, blank=True)
    # None selected: every component (and incidents that name none).
    components = models.ManyToManyField(
        "incidents.Component", related_name="subscribers", blank=True
    )
    state = models.CharField(
        max_length=16, choices=SubscriberState.choices, default=SubscriberState.PENDING
    )
    token = models.CharField(max_length=64, unique=True, default=new_token)
    confirm_nonce = models.CharField(max_length=32, default=new_nonce)
    # Webhooks: the HMAC-SHA256 key their notices are signed with (sent in the challenge).
    secret = models.CharField(max_length=64, blank=True)
    confirmations_sent = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=Q(kind="email"), name="subscriber_one_per_address"
            ),
            models.UniqueConstraint(
                fields=["endpoint"], condition=Q(kind="webhook"), name="subscriber_one_per_url"
            ),
        ]
        indexes = [models.Index(fields=["state", "kind", "id"], name="subscriber_active_idx")]

    def __str__(self) -> str:
        return self.endpoint if self.kind == SubscriberKind.WEBHOOK else self.email

    @property
    def is_active(self) -> bool:
        return self.state == SubscriberState.ACTIVE

    @staticmethod
    def links(token: str) -> tuple[str, str]:
        """(manage, unsubscribe): the absolute links a subscriber's messages carry (the
        fan-out has tokens, not rows)."""
        site = settings.SITE_URL.rstrip("/")
        return (
            site + reverse("subscription_manage", args=[token]),
            site + reverse("subscription_unsubscribe", args=[token]),
        )

    def manage_url(self) -> str:
        return self.links(self.token)[0]

    def unsubscribe_url(self) -> str:
        return self.links(self.token)[1]


class NoticeEvent(models.TextChoices):
    INCIDENT_OPENED = "incident_opened", "Incident opened"
    INCIDENT_UPDATED = "incident_updated", "Incident update"
    INCIDENT_RESOLVED = "incident_resolved", "Incident resolved"
    MAINTENANCE_SCHEDULED = "maintenance_scheduled", "Maintenance scheduled"
    MAINTENANCE_STARTED = "maintenance_started", "Maintenance started"
    MAINTENANCE_UPDATED = "maintenance_updated", "Maintenance update"
    MAINTENANCE_COMPLETED = "maintenance_completed", "Maintenance completed"
    COMPONENT_CHANGED = "component_changed", "Component status change"
    COMMUNICATION = "communication", "Email to affected users"


class SubscriberNotice(models.Model):
    """One thing subscribers are told (an incident opened, a public update, a window
    starting...). Its key makes it once per occasion however often the change is seen; the
    fan-out writes its outbox rows in chunks from `cursor` (the last subscriber written), so
    a restart neither loses nor repeats a row."""

    key = models.CharField(max_length=120, unique=True)
    event = models.CharField(max_length=24, choices=NoticeEvent.choices)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscriber_notices",
    )
    maintenance = models.ForeignKey(
        "incidents.Maintenance",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="subscriber_notices",
    )
    # The components it concerns: subscribers of any of them hear of it (none: everyone).
    components = models.ManyToManyField("incidents.Component", related_name="+", blank=True)
    # The incident's public update it tells of (its number; 0: none).
    update_number = models.PositiveIntegerField(default=0)
    to_email = models.BooleanField(default=True)
    to_webhooks = models.BooleanField(default=True)
    subject = models.CharField(max_length=300)
    body = models.TextField(max_length=20_000)
    # The webhook document (Statuspage's subscriber webhook shape), built at fan-out.
    payload = models.JSONField(null=True, blank=True)
    # A composed email's pasted addresses ("incidents affecting specific user subsets").
    extra_addresses = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    cursor = models.PositiveBigIntegerField(default=0)
    fanned_out_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_event_display()}: {self.subject}"

    @property
    def topic(self) -> str:
        """The outbox topic of its rows (the per-notice counts read it)."""
        return f"subscribers:{self.pk}"


class SignupAttempt(models.Model):
    """A sign-up that would send something, for the throttles (per client network and per
    address). Both are kept only as keyed hashes, and only for a day."""

    client = models.CharField(max_length=64)
    address = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["client", "at"], name="signup_client_idx"),
            models.Index(fields=["address", "at"], name="signup_address_idx"),
            models.Index(fields=["at"], name="signup_at_idx"),
        ]

    def __str__(self) -> str:
        return f"sign-up at {self.at:%Y-%m-%d %H:%M}"
