from django.conf import settings
from django.db import models


class ChecklistKind(models.TextChoices):
    TRIAGE = "triage", "Initial triage"
    INITIAL_RESPONSE = "initial_response", "Initial response"
    ESTABLISH_COMMAND = "establish_command", "Establish command"
    RESOLUTION = "resolution", "Resolution"
    # The steps of a runbook followed in the incident (one checklist per runbook).
    RUNBOOK = "runbook", "Runbook"


class ChecklistTemplate(models.Model):
    """The current wording of a checklist. New incidents copy it; existing ones keep theirs."""

    kind = models.CharField(max_length=32, choices=ChecklistKind.choices, unique=True)
    title = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.title


class ChecklistTemplateItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    key = models.SlugField(
        max_length=64,
        blank=True,
        help_text="Stable name of what the item is, whatever its wording: the portal ticks "
        "items by key when it knows they are done, and items sharing a key tick together.",
    )
    text = models.CharField(max_length=300)
    is_verification = models.BooleanField(
        default=False,
        help_text="Resolution needs this item done, or waived with a reason.",
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class IncidentChecklist(models.Model):
    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="checklists"
    )
    kind = models.CharField(max_length=32, choices=ChecklistKind.choices)
    title = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "kind"],
                condition=~models.Q(kind="runbook"),
                name="one_checklist_per_kind",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.incident_id})"


class IncidentChecklistItem(models.Model):
    checklist = models.ForeignKey(IncidentChecklist, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField(default=0)
    key = models.SlugField(max_length=64, blank=True)
    text = models.CharField(max_length=300)
    is_verification = models.BooleanField(default=False)
    waived_reason = models.CharField(max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Ticked by the portal itself: the event that did it.
    done_event = models.ForeignKey(
        "incidents.TimelineEvent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text
