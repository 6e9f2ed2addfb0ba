from django.conf import settings
from django.db import models
from django.utils import timezone


class Paper(models.TextChoices):
    A4 = "a4", "A4"
    LETTER = "letter", "US Letter"


class RenderState(models.TextChoices):
    PENDING = "pending", "Queued"
    RENDERING = "rendering", "Rendering"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class PdfReport(models.Model):
    """A published revision rendered as a PDF on one paper size by one version of the report
    template. The file lives in file storage (every node reads it); a revision never changes,
    so the row and the file are rendered once and served many times."""

    postmortem = models.ForeignKey(
        "postmortems.PostMortem", on_delete=models.CASCADE, related_name="reports"
    )
    revision = models.PositiveIntegerField()
    paper = models.CharField(max_length=8, choices=Paper.choices)
    template_version = models.CharField(max_length=16)
    state = models.CharField(
        max_length=16, choices=RenderState.choices, default=RenderState.PENDING
    )
    file_name = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    # Times it was handed to a worker without coming back (the durable check counts them).
    attempts = models.PositiveSmallIntegerField(default=0)
    pages = models.PositiveIntegerField(null=True, blank=True)
    size = models.PositiveIntegerField(null=True, blank=True)
    render_ms = models.PositiveIntegerField(null=True, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["postmortem", "revision", "paper", "template_version"],
                name="pdf_report_once",
            )
        ]

    def __str__(self) -> str:
        return f"PDF r{self.revision} {self.paper} of post-mortem {self.postmortem_id}"


class Download(models.Model):
    """Who downloaded which report, when."""

    report = models.ForeignKey(PdfReport, on_delete=models.CASCADE, related_name="downloads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.user_id} downloaded {self.report_id}"
