from django.conf import settings
from django.db import models
from django.utils import timezone


class Visibility(models.TextChoices):
    INTERNAL = "internal", "Internal"
    PUBLIC = "public", "Public"


class TimelineEvent(models.Model):
    """One entry of an incident's append-only event log (DESIGN.md decision 2). Rows are written
    only through the constructors in incidents/timeline.py and never updated or deleted; on
    PostgreSQL a trigger refuses UPDATE and DELETE (migration 0004)."""

    # PROTECT: deleting an incident must not take its history with it.
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=40)
    # PROTECT: people who acted are deactivated, never deleted, so the record stays whole.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    params = models.JSONField(default=dict, blank=True)
    visibility = models.CharField(
        max_length=8, choices=Visibility.choices, default=Visibility.INTERNAL
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["incident", "id"], name="timeline_incident_id_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on incident {self.incident_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Timeline events are append-only; write a new event instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Timeline events are append-only and cannot be deleted.")

    @property
    def text(self) -> str:
        from ..timeline import describe

        return describe(self)

    @property
    def label(self) -> str:
        from ..timeline import label

        return label(self.kind, self.params)
