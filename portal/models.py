import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils import timezone


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    # Paging (issue 11): the team lead escalations reach, the team's queue (a shared mailbox)
    # and the Slack incoming webhook its pages are posted to.
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teams_led",
    )
    queue_email = models.EmailField(blank=True, help_text="The team queue's shared mailbox.")
    slack_webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Slack incoming webhook for the team's pages."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(max_length=150, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("profile")

    @property
    def name(self) -> str:
        return self.display_name or self.user.get_full_name() or self.user.get_username()


def display_name(user) -> str:
    """A person's name as the portal shows it; 'System' for automated actions."""
    if user is None:
        return "System"
    profile = getattr(user, "profile", None)
    if profile is not None:
        return profile.name
    return user.get_full_name() or user.get_username()


class Timer(models.Model):
    """A durable timer (DESIGN.md decision 3): a row with a due time that the periodic sweep
    fires through the handler registered for its kind. Never a broker ETA task."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        FIRED = "fired", "Fired"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=64)
    object_id = models.PositiveBigIntegerField()
    due_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    fired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                name="timer_pending_due_idx",
                condition=models.Q(state="pending"),
            ),
            models.Index(fields=["kind", "object_id"], name="timer_target_idx"),
            models.Index(
                fields=["id"], name="timer_failed_idx", condition=models.Q(state="failed")
            ),
        ]
        constraints = [
            # At most one pending timer of a kind per object: rescheduling moves it.
            models.UniqueConstraint(
                fields=["kind", "object_id"],
                condition=models.Q(state="pending"),
                name="timer_one_pending_per_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}#{self.object_id} due {self.due_at:%Y-%m-%d %H:%M} ({self.state})"


class SweepStatus(models.Model):
    """A single row each sweep stamps, so operators (and /healthz) can see the scheduler is
    alive: a sweep run by a Celery worker stamps last_worker_at too; one that beat ran itself
    (the broker was unreachable, or no worker took the task) stamps last_local_at."""

    last_started_at = models.DateTimeField(null=True)
    last_finished_at = models.DateTimeField(null=True)
    last_worker_at = models.DateTimeField(null=True)
    last_local_at = models.DateTimeField(null=True)
    last_fired = models.PositiveIntegerField(default=0)
    total_fired = models.PositiveBigIntegerField(default=0)
    total_failed = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name_plural = "sweep status"

    def __str__(self) -> str:
        return f"last sweep {self.last_finished_at}"


class Channel(models.TextChoices):
    """The one vocabulary of notification channels (the procedures' words). The severity table
    names the channels of pages; portal.notifications.REASONS those of every other notice."""

    PORTAL = "portal", "Portal"
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    PHONE = "phone", "Phone"
    SLACK = "slack", "Slack"
    WEBHOOK = "webhook", "Webhook"


class Lane(models.IntegerChoices):
    """Delivery order: pages before staff notices before bulk mail (status-page subscribers),
    so a burst of bulk mail never delays a page."""

    PAGE = 0, "Page"
    NOTICE = 1, "Notice"
    BULK = 2, "Bulk"


class Notification(models.Model):
    """The notification outbox (DESIGN.md decision 4): one row per (reason, recipient, channel).
    The recipient is a person, or a bare destination (an email address, a webhook URL, a phone
    number) for those who are not users. The idempotency key makes "notify" safe to call
    twice; delivery claims a row before sending, so two workers never send it at once, and a
    claim whose worker died is taken over after a lease (delivery is at-least-once)."""

    Channel = Channel

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    idempotency_key = models.CharField(max_length=200, unique=True)
    reason = models.CharField(max_length=64)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        null=True,
        blank=True,
    )
    destination = models.CharField(
        max_length=500, blank=True, help_text="Email address, webhook URL or phone number."
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    lane = models.PositiveSmallIntegerField(choices=Lane.choices, default=Lane.NOTICE)
    provider = models.CharField(max_length=200, blank=True, help_text="Who carried it.")
    topic = models.CharField(max_length=64, blank=True, help_text='e.g. "incident:42"')
    subject = models.CharField(max_length=300)
    body = models.TextField(max_length=10_000, blank=True)
    url = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # Pages: when it was due to reach its addressee (the escalation step's due time), for the
    # late-page auditor.
    due_at = models.DateTimeField(null=True, blank=True)
    # Extra headers the message carries (a subscriber's List-Unsubscribe), as its sender
    # allows them.
    headers = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["lane", "next_attempt_at"],
                name="notification_lane_due_idx",
                condition=models.Q(status__in=["pending", "sending"]),
            ),
            models.Index(fields=["recipient", "channel", "-id"], name="notification_inbox_idx"),
            models.Index(fields=["topic", "status"], name="notification_topic_idx"),
            # A subscriber who leaves: their rows not sent yet are skipped.
            models.Index(
                fields=["destination"],
                name="notification_pending_dest_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(
                fields=["id"], name="notification_failed_idx", condition=models.Q(status="failed")
            ),
            # The late-page auditor reads pages by their due time.
            models.Index(
                fields=["due_at"],
                name="notification_page_due_idx",
                condition=models.Q(lane=0, due_at__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | ~models.Q(destination=""),
                name="notification_has_recipient_or_destination",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} to {self.addressee}: {self.subject}"

    @property
    def addressee(self) -> str:
        if self.recipient_id is not None:
            return display_name(self.recipient)
        return self.destination


class ChannelCircuit(models.Model):
    """Circuit breaker per channel and provider (DESIGN.md decision 4): after repeated
    consecutive failures a provider (one mail relay, one Slack webhook, one SMS gateway) is
    short-circuited for a while, so it is not hammered and the failure is shown, not hidden in
    retries; the channel's other providers keep delivering."""

    channel = models.CharField(max_length=16, choices=Channel.choices)
    provider = models.CharField(max_length=200, default="")
    consecutive_failures = models.PositiveIntegerField(default=0)
    open_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "provider"], name="circuit_per_provider")
        ]

    def __str__(self) -> str:
        return f"{self.channel} via {self.provider}: {self.consecutive_failures} failures"

    def is_open(self, now) -> bool:
        return self.open_until is not None and self.open_until > now


# On-call schedules live in portal/oncall/ (DESIGN.md); imported here so they belong to portal.
from .oncall.models import (  # noqa: E402
    CalendarFeed,
    ContactMethod,
    ContactThrottle,
    Escalation,
    EscalationPolicy,
    EscalationRoute,
    EscalationStep,
    MatrixEntry,
    OnCallRole,
    OnCallSchedule,
    Page,
    RotationMember,
    ScheduleOverride,
    ScheduleRotation,
    StepTarget,
)

__all__ = [
    "CalendarFeed",
    "Channel",
    "ChannelCircuit",
    "ContactMethod",
    "ContactThrottle",
    "Escalation",
    "EscalationPolicy",
    "EscalationRoute",
    "EscalationStep",
    "Lane",
    "MatrixEntry",
    "Notification",
    "OnCallRole",
    "OnCallSchedule",
    "Page",
    "Profile",
    "RotationMember",
    "ScheduleOverride",
    "ScheduleRotation",
    "StepTarget",
    "SweepStatus",
    "Team",
    "Timer",
    "display_name",
    "validate_time_zone",
]
