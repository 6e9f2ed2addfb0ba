from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from .component import public_id


class MaintenanceStatus(models.TextChoices):
    """Statuspage's scheduled-maintenance statuses: the sweep moves a window to in progress at
    its start and to completed at its end; staff may mark it verifying in between."""

    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    VERIFYING = "verifying", "Verifying"
    COMPLETED = "completed", "Completed"


OPEN_MAINTENANCE = (
    MaintenanceStatus.SCHEDULED,
    MaintenanceStatus.IN_PROGRESS,
    MaintenanceStatus.VERIFYING,
)


class MaintenanceQuerySet(models.QuerySet):
    def open(self):
        return self.filter(status__in=OPEN_MAINTENANCE)

    def active(self):
        return self.filter(status__in=(MaintenanceStatus.IN_PROGRESS, MaintenanceStatus.VERIFYING))

    def upcoming(self):
        return self.filter(status=MaintenanceStatus.SCHEDULED)


class Maintenance(models.Model):
    """A scheduled maintenance window: public by nature (it is announced on the status page)."""

    public_id = models.CharField(max_length=16, unique=True, default=public_id, editable=False)
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=5000, blank=True)
    components = models.ManyToManyField(
        "incidents.Component", related_name="maintenances", blank=True
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(
        max_length=16, choices=MaintenanceStatus.choices, default=MaintenanceStatus.SCHEDULED
    )
    # component pk -> the status it had when the window started, restored at its end.
    restore = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = MaintenanceQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="maintenance_ends_after_start"
            )
        ]
        indexes = [models.Index(fields=["status", "starts_at"], name="maintenance_status_idx")]

    def __str__(self) -> str:
        return self.title


class MaintenanceUpdate(models.Model):
    """One public update of a window (Statuspage's incident_updates of a maintenance): written
    when it is scheduled, starts, is being verified and completes."""

    maintenance = models.ForeignKey(Maintenance, on_delete=models.CASCADE, related_name="updates")
    status = models.CharField(max_length=16, choices=MaintenanceStatus.choices)
    body = models.TextField(max_length=5000)
    posted_at = models.DateTimeField(default=timezone.now)
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )

    class Meta:
        ordering = ["maintenance", "-posted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.maintenance}: {self.status}"
