"""Incident command: roles, status updates, escalation triggers and key events."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class ResponseRole(models.TextChoices):
    COMMANDER = "commander", "Incident Commander"
    TECHNICAL_LEAD = "technical_lead", "Technical Lead"
    COMMUNICATIONS = "communications", "Communications Coordinator"
    OPERATIONS = "operations", "Operations Coordinator"
    SCRIBE = "scribe", "Scribe"


class RoleAssignmentQuerySet(models.QuerySet):
    def current(self, incident, role: str) -> "RoleAssignment | None":
        """Who holds this role on this incident now (the one query every caller uses)."""
        return (
            self.select_related("user__profile")
            .filter(incident=incident, role=role, released_at__isnull=True)
            .first()
        )


class RoleAssignment(models.Model):
    """Who holds a response role on an incident; one holder per role at a time. Released rows
    stay as history."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="role_assignments"
    )
    role = models.CharField(max_length=20, choices=ResponseRole.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_at = models.DateTimeField(default=timezone.now)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)

    objects = RoleAssignmentQuerySet.as_manager()

    class Meta:
        ordering = ["incident", "role", "-assigned_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "role"],
                condition=models.Q(released_at__isnull=True),
                name="one_holder_per_role",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.user} on {self.incident_id}"


class Audience(models.TextChoices):
    INTERNAL = "internal", "Internal"
    PUBLIC = "public", "Public (status page)"


class StatusUpdate(models.Model):
    """The spec's status update template; numbered per incident."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="status_updates"
    )
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=16)
    impact = models.TextField(max_length=2000)
    impact_unconfirmed = models.BooleanField(default=False)
    # The cause as known so far; in the final (Resolved) update, what occurred.
    cause = models.TextField(max_length=2000, blank=True)
    cause_unconfirmed = models.BooleanField(default=False)
    actions = models.TextField(max_length=2000)
    # The update resolving posted (spec "Resolution Communication"), and what it adds.
    final = models.BooleanField(default=False)
    user_action = models.TextField("User action needed", max_length=2000, blank=True)
    prevention = models.TextField("Preventive measures", max_length=2000, blank=True)
    next_update_at = models.DateTimeField(null=True, blank=True)
    audience = models.CharField(max_length=8, choices=Audience.choices, default=Audience.INTERNAL)
    # A public update's text for customers (the status page shows only this, never the
    # internal fields above).
    public_body = models.TextField(max_length=5000, blank=True)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    posted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["incident", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "number"], name="update_number_unique")
        ]

    def __str__(self) -> str:
        return self.heading

    @classmethod
    def next_number_for(cls, incident) -> int:
        """The number the incident's next update gets (one place: the page, the service and
        the stale-form check all ask here)."""
        last = cls.objects.filter(incident=incident).order_by("-number").values("number").first()
        return (last["number"] if last else 0) + 1

    @property
    def heading(self) -> str:
        return (
            f"Incident #{self.incident.reference} - {self.incident.title} - Update #{self.number}"
        )


class EscalationTrigger(models.Model):
    """One of the spec's escalation triggers (the table is incidents/escalation_trigger_rules.py),
    fired at most once per incident."""

    class Kind(models.TextChoices):
        # The spec's own words ("Escalation Triggers").
        UNRESOLVED_30 = "unresolved_30m", "Incident unresolved after 30 minutes"
        MULTIPLE_COMPONENTS = "multiple_components", "Multiple components affected"
        CUSTOMER_IMPACT = "customer_impact", "Customer impact exceeding thresholds"
        ROOT_CAUSE_UNKNOWN = "root_cause_unknown", "Unknown root cause after initial investigation"
        SECURITY_PRIVACY = "security_privacy", "Security or data privacy concerns"

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="escalations"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    fired_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["fired_at"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "kind"], name="trigger_once_per_incident")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.incident_id})"


class KeyEvent(models.Model):
    """A timeline event marked as key (it seeds the post-mortem timeline). Kept beside the
    append-only event rather than in it."""

    event = models.OneToOneField(
        "incidents.TimelineEvent", on_delete=models.CASCADE, related_name="key_mark"
    )
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    marked_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"key: {self.event_id}"
