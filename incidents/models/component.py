import secrets
import string

from django.conf import settings
from django.db import models
from django.utils import timezone

_ALPHABET = string.ascii_lowercase + string.digits


def public_id() -> str:
    """An opaque public id, shaped like Statuspage's ("2z5xbtqg5y2n"): it says nothing about
    how many rows there are or in which order they were made."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(12))


class ComponentStatus(models.TextChoices):
    """Statuspage's component statuses, in order of severity."""

    OPERATIONAL = "operational", "Operational"
    DEGRADED = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    UNDER_MAINTENANCE = "under_maintenance", "Under maintenance"


class ComponentGroup(models.Model):
    name = models.CharField(max_length=100, unique=True)
    position = models.PositiveSmallIntegerField(default=0)
    public_id = models.CharField(max_length=16, unique=True, default=public_id, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    """A part of the platform that incidents affect; the status page shows these."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True, max_length=2000)
    group = models.ForeignKey(
        ComponentGroup, on_delete=models.PROTECT, related_name="components", null=True, blank=True
    )
    position = models.PositiveSmallIntegerField(default=0)
    # Whose on-call is paged for an incident in this component (issue 11).
    owning_team = models.ForeignKey(
        "portal.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="components",
    )
    # Changed only through services.component_set_status, which writes the history row.
    status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    status_changed_at = models.DateTimeField(default=timezone.now)
    public_id = models.CharField(max_length=16, unique=True, default=public_id, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["group__position", "position", "name"]

    def __str__(self) -> str:
        return self.name


class ComponentStatusChange(models.Model):
    """One change of a component's status: the history that uptime is computed from. Rows
    are only ever added."""

    component = models.ForeignKey(
        Component, on_delete=models.PROTECT, related_name="status_changes"
    )
    old = models.CharField(max_length=24, choices=ComponentStatus.choices)
    new = models.CharField(max_length=24, choices=ComponentStatus.choices)
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    incident = models.ForeignKey(
        "incidents.Incident",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="component_changes",
    )

    class Meta:
        ordering = ["component", "changed_at", "id"]
        indexes = [models.Index(fields=["component", "changed_at"], name="component_change_at_idx")]

    def __str__(self) -> str:
        return f"{self.component}: {self.old} -> {self.new} at {self.changed_at:%Y-%m-%d %H:%M}"
