"""Alert intake (issue 12): integrations with a secret URL that monitoring posts to, and the
alerts they deliver, deduplicated by fingerprint and grouped: one group, one incident."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone


class IntegrationKind(models.TextChoices):
    ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
    GRAFANA = "grafana", "Grafana alerting"
    GENERIC = "generic", "Generic JSON"


# Which label value means which severity, unless an integration says otherwise.
DEFAULT_SEVERITY_MAP = {
    "critical": "P1",
    "page": "P1",
    "high": "P2",
    "error": "P2",
    "major": "P2",
    "warning": "P3",
    "warn": "P3",
    "medium": "P3",
    "minor": "P4",
    "low": "P4",
    "info": "P4",
}


def default_severity_map() -> dict:
    return dict(DEFAULT_SEVERITY_MAP)


class Integration(models.Model):
    """One monitoring source. Its URL holds a secret token; only the token's SHA-256 is kept,
    so the URL is shown once, when made. An optional bearer token (its hash) and, for the
    generic and Grafana kinds, an HMAC secret add to it."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=IntegrationKind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    token_hint = models.CharField(max_length=8, help_text="The token's first characters.")
    bearer_hash = models.CharField(max_length=64, blank=True)
    signing_secret = models.CharField(max_length=128, blank=True)
    severity_label = models.CharField(max_length=64, default="severity")
    severity_map = models.JSONField(default=default_severity_map)
    default_severity = models.CharField(max_length=4, default="P3")
    component_label = models.CharField(max_length=64, default="component")
    type_label = models.CharField(max_length=64, default="type")
    default_type = models.CharField(max_length=32, default="availability")
    auto_resolve = models.BooleanField(default=False)
    storm_limit = models.PositiveSmallIntegerField(
        default=10, help_text="New incidents a minute before further groups join one storm."
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_received_at = models.DateTimeField(null=True, blank=True)
    # While more than storm_limit new groups arrive in a minute, they join this incident.
    storm_incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(storm_limit__gte=1, storm_limit__lte=1000),
                name="integration_storm_limit_bounded",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def clean(self) -> None:
        """The label mapping an admin edits: severities are P1-P4, the type is a known one."""
        from ..severity import SEVERITIES
        from ..taxonomy import TYPES

        errors = {}
        mapping = self.severity_map
        if not isinstance(mapping, dict) or not all(
            isinstance(k, str) and v in SEVERITIES for k, v in mapping.items()
        ):
            errors["severity_map"] = 'An object of label value to P1-P4, e.g. {"critical": "P1"}.'
        if self.default_severity not in SEVERITIES:
            errors["default_severity"] = "One of P1, P2, P3, P4."
        if self.default_type not in TYPES:
            errors["default_type"] = f"One of {', '.join(TYPES)}."
        if errors:
            raise ValidationError(errors)


class AlertGroup(models.Model):
    """Alerts that belong together (Alertmanager's groupKey, a generic group): one incident."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="groups")
    key_hash = models.CharField(max_length=64)
    key = models.TextField(max_length=2000)
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="alert_groups",
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # When its last firing alert resolved (None while any fires): told on the incident once.
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Why its alerts paged nobody (a maintenance window on their components).
    silenced = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "key_hash"], name="alert_group_once")
        ]

    def __str__(self) -> str:
        return f"{self.integration}: {self.key[:60]}"


class AlertStatus(models.TextChoices):
    FIRING = "firing", "Firing"
    RESOLVED = "resolved", "Resolved"


class Alert(models.Model):
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="alerts")
    group = models.ForeignKey(AlertGroup, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=AlertStatus.choices)
    title = models.CharField(max_length=300)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    source_url = models.URLField(max_length=1000, blank=True)
    runbook_url = models.URLField(max_length=1000, blank=True)
    dashboard_url = models.URLField(max_length=1000, blank=True)
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["integration", "fingerprint"], name="alert_once")
        ]
        indexes = [models.Index(fields=["group", "status"], name="alert_group_status_idx")]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"


class SeenSignature(models.Model):
    """A signed request already accepted: the same signature again within the window is a
    replay and is refused. Rows older than the window are deleted as new ones come in."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="+")
    signature_hash = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "signature_hash"], name="signature_seen_once"
            )
        ]
        indexes = [models.Index(fields=["seen_at"], name="seen_signature_age_idx")]

    def __str__(self) -> str:
        return f"{self.integration_id}: {self.signature_hash[:12]}"
