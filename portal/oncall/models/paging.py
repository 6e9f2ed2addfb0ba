"""Escalations and pages (issue 11). An escalation is the durable state of paging for one
subject (an incident): which step it is on, when the next is due (a durable timer fires it),
and who acknowledged it. A Page is one target paged at one step, the record behind the
outbox rows (one per channel) and the person's acknowledgement link. Contact methods are the
numbers and addresses a person is paged on, used once verified by a test message."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Escalation(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "Queued for the next business day"
        ACTIVE = "active", "Paging"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        EXHAUSTED = "exhausted", "Nobody acknowledged"
        CANCELLED = "cancelled", "Stopped"

    OPEN_STATES = (State.QUEUED, State.ACTIVE)

    topic = models.CharField(max_length=64, help_text='e.g. "incident:42"')
    subject_id = models.PositiveBigIntegerField()
    title = models.CharField(max_length=300)
    url = models.CharField(max_length=300, blank=True)
    severity = models.CharField(max_length=4, blank=True)
    channels = models.JSONField(default=list)
    team = models.ForeignKey(
        "portal.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    incident_type = models.CharField(max_length=32, blank=True)
    route = models.ForeignKey(
        "portal.EscalationRoute", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A manual page names its targets instead of following a route.
    manual = models.BooleanField(default=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    step_index = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=0)
    next_step_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["topic", "state"], name="escalation_topic_idx"),
            models.Index(
                fields=["next_step_at"],
                name="escalation_open_due_idx",
                condition=Q(state__in=["queued", "active"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} escalation {self.pk} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class Page(models.Model):
    """One target paged at one step of an escalation. user is None for a team queue or a
    Slack channel; gap is set when the step's target resolved to nobody (an empty schedule, a
    gap in the rotation) and the page fell through."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="pages")
    round = models.PositiveSmallIntegerField(default=0)
    step = models.PositiveSmallIntegerField(default=0)
    target = models.CharField(max_length=200, help_text="What the step named, in words.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    destination = models.CharField(max_length=500, blank=True)
    due_at = models.DateTimeField()
    paged_at = models.DateTimeField(default=timezone.now)
    gap = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["escalation", "round", "step", "id"]
        indexes = [models.Index(fields=["user", "-paged_at"], name="page_user_idx")]

    def __str__(self) -> str:
        return f"{self.escalation.topic} step {self.step}: {self.target}"


class ContactMethod(models.Model):
    class Kind(models.TextChoices):
        SMS = "sms", "SMS"
        PHONE = "phone", "Phone call"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_methods"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    address = models.CharField(max_length=254)
    verified_at = models.DateTimeField(null=True, blank=True)
    code_hash = models.CharField(max_length=128, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user", "kind", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "address"], name="contact_method_once")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.address}"


class ContactThrottle(models.Model):
    """At most one SMS or call per minute per contact: a send claims the contact's next free
    moment with a conditional UPDATE, so two workers never both text one person at once."""

    channel = models.CharField(max_length=16)
    destination = models.CharField(max_length=500)
    next_free_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "destination"], name="throttle_per_contact")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.destination} free at {self.next_free_at}"
