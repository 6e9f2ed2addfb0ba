"""Versioned runbooks (issue 13; spec "Runbook Updates" and its Runbook Library).

A Runbook is the record that lasts: title, owning team, what it applies to, its review cycle.
Its words live in versions. A Draft is the one editable text of a runbook, saved with a
version number so that a stale save is refused. Submitting it freezes it as a numbered
Version that never changes again: there is no update path in the code, and on PostgreSQL a
trigger refuses UPDATE and DELETE. The review state lives beside the version, in Review.
Incidents pin the exact version they followed."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

# The spec's runbook structure, in order: (key, title).
SECTIONS = (
    ("overview", "Component overview and architecture"),
    ("failure_modes", "Common failure modes and symptoms"),
    ("diagnostics", "Diagnostic procedures and required tools"),
    ("recovery", "Step-by-step recovery"),
    ("verification", "Verification"),
    ("contacts", "Contacts for specialized support"),
    ("rollback", "Rollback if resolution fails"),
)
SECTION_KEYS = tuple(key for key, _ in SECTIONS)
SECTION_TITLES = dict(SECTIONS)
# The sections whose ordered-list items run as a checklist inside an incident.
CHECKLIST_SECTIONS = ("recovery", "verification")
SECTION_MAX = 30_000  # characters per section
REVIEW_INTERVAL_DEFAULT = 90  # days: the spec's "regular review cycle", quarterly
# Paths of the library itself, never a runbook's slug.
RESERVED_SLUGS = frozenset({"new", "follow", "propose"})


def empty_sections() -> dict:
    return dict.fromkeys(SECTION_KEYS, "")


class Runbook(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    # None until an admin assigns one (a shipped runbook on an install without that team).
    team = models.ForeignKey(
        "portal.Team", on_delete=models.PROTECT, null=True, blank=True, related_name="runbooks"
    )
    components = models.ManyToManyField("incidents.Component", related_name="runbooks", blank=True)
    incident_types = models.JSONField(default=list, blank=True)
    tags = models.JSONField(default=list, blank=True)
    review_interval_days = models.PositiveSmallIntegerField(default=REVIEW_INTERVAL_DEFAULT)
    current = models.ForeignKey(
        "runbooks.Version", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # The current version's text, for search (on PostgreSQL also a generated tsvector).
    search_text = models.TextField(blank=True)
    # Placeholders the text leaves open for an owner to fill in ("[FILL IN: ...]").
    placeholders = models.PositiveSmallIntegerField(default=0)
    review_due_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    last_tested_on = models.DateField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["title"]
        permissions = [("publish_unreviewed", "Publish a runbook version without review")]
        constraints = [
            models.CheckConstraint(
                condition=Q(review_interval_days__gte=7, review_interval_days__lte=730),
                name="runbook_review_interval_bounded",
            )
        ]
        indexes = [models.Index(fields=["review_due_at"], name="runbook_review_due_idx")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("runbooks:detail", args=[self.slug])

    @property
    def review_overdue(self) -> bool:
        return self.review_due_at is not None and self.review_due_at <= timezone.now()


class Draft(models.Model):
    """The editable text of a runbook: at most one at a time."""

    runbook = models.OneToOneField(Runbook, on_delete=models.CASCADE, related_name="draft")
    based_on = models.ForeignKey(
        "runbooks.Version", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    sections = models.JSONField(default=empty_sections)
    image = models.CharField(max_length=300, blank=True, help_text="Storage name.")
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A post-mortem action item that proposed this update (spec "Identify runbook
    # improvements from post-mortem").
    action_item = models.ForeignKey(
        "postmortems.ActionItem",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runbook_drafts",
    )

    def __str__(self) -> str:
        return f"Draft of {self.runbook}"


class Version(models.Model):
    """A frozen text. Never updated or deleted (a PostgreSQL trigger refuses both)."""

    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    sections = models.JSONField()
    image = models.CharField(max_length=300, blank=True)
    change_note = models.TextField(max_length=2000)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Loaded from the files shipped with the portal (or import_runbooks): no reviewer.
    system_import = models.BooleanField(default=False)
    action_item = models.ForeignKey(
        "postmortems.ActionItem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runbook_versions",
    )

    class Meta:
        ordering = ["runbook", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["runbook", "number"], name="runbook_version_once")
        ]

    def __str__(self) -> str:
        return f"{self.runbook.title} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None or kwargs.get("force_update"):
            raise ValueError("A runbook version never changes; make a new draft instead.")
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("runbooks:version", args=[self.runbook.slug, self.number])

    def delete(self, *args, **kwargs):
        raise ValueError("A runbook version is never deleted.")


class ReviewState(models.TextChoices):
    PENDING = "pending", "Awaiting review"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    APPROVED = "approved", "Approved"
    PUBLISHED = "published", "Published"
    SUPERSEDED = "superseded", "Superseded"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Review(models.Model):
    """Where a version stands: beside it, so the version itself never changes."""

    version = models.OneToOneField(
        Version, on_delete=models.PROTECT, primary_key=True, related_name="review"
    )
    state = models.CharField(
        max_length=20, choices=ReviewState.choices, default=ReviewState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(null=True, blank=True)
    # Why an admin published it without review (recorded, shown on the version).
    unreviewed_reason = models.TextField(max_length=2000, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state"], name="runbook_review_state_idx")]

    def __str__(self) -> str:
        return f"{self.version}: {self.get_state_display()}"


class CommentKind(models.TextChoices):
    COMMENT = "comment", "Comment"
    APPROVE = "approve", "Approved"
    REQUEST_CHANGES = "request_changes", "Requested changes"
    PUBLISH = "publish", "Published"


class ReviewComment(models.Model):
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=CommentKind.choices)
    body = models.TextField(max_length=5000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.version}"


class Outcome(models.TextChoices):
    PASSED = "passed", "Worked as written"
    PARTLY = "partly", "Worked with changes"
    FAILED = "failed", "Did not work"


class TestRecord(models.Model):
    """The runbook was exercised (spec "Test updated procedures", "Testing of runbooks during
    scheduled exercises")."""

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="tests")
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="tests")
    tested_on = models.DateField()
    exercise = models.CharField(max_length=200)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    notes = models.TextField(max_length=5000, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-tested_on", "-id"]

    def __str__(self) -> str:
        return f"{self.runbook} tested {self.tested_on}"


class IncidentRunbook(models.Model):
    """A runbook version an incident followed: pinned, so later edits never change it."""

    incident = models.ForeignKey(
        "incidents.Incident", on_delete=models.CASCADE, related_name="runbooks"
    )
    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="uses")
    version = models.ForeignKey(Version, on_delete=models.PROTECT, related_name="uses")
    checklist = models.OneToOneField(
        "incidents.IncidentChecklist",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="runbook_use",
    )
    attached_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    attached_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["attached_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "runbook"], name="runbook_once_per_incident"
            )
        ]

    def __str__(self) -> str:
        return f"{self.version} in incident {self.incident_id}"
