from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ..sections import MAX_SECTION_CHARS


class Status(models.TextChoices):
    DRAFT = "draft", "Draft"
    IN_REVIEW = "in_review", "In review"
    PUBLISHED = "published", "Published"


def _section(label: str) -> models.TextField:
    return models.TextField(label, max_length=MAX_SECTION_CHARS, blank=True)


class PostMortem(models.Model):
    """One incident's blameless post-mortem. The working copy is edited with a version check
    (DESIGN.md decision 9); each publication freezes it as a Revision, and a
    published post-mortem changes only by starting the next revision."""

    incident = models.OneToOneField(
        "incidents.Incident", on_delete=models.PROTECT, related_name="postmortem"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="owned_postmortems"
    )
    # Asked for although the incident needs none (a P4, an unmarked P3), and why.
    requested = models.BooleanField(default=False)
    request_reason = models.TextField(max_length=2000, blank=True)
    # The meeting: due within 5 business days of resolution; when it was (or will be) held,
    # and who took part (across teams).
    due_at = models.DateTimeField()
    meeting_at = models.DateTimeField(null=True, blank=True)
    participants = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="postmortems_attended", blank=True
    )

    summary = _section("Summary")
    impact_users = _section("User impact")
    business_impact = _section("Business impact")
    supporting_material = _section("Supporting material")
    detection = _section("Detection")
    response = _section("Response")
    resolution = _section("Resolution")
    went_well = _section("What went well")
    could_improve = _section("What could be improved")
    root_cause = _section("Root causes and contributing factors")
    lessons_learned = _section("Lessons learned")
    # The 5 Whys chain: each answer is the cause of the one before it.
    five_whys = models.JSONField(default=list, blank=True)
    # {fishbone category: [contributing factor, ...]} (sections.Fishbone).
    fishbone = models.JSONField(default=dict, blank=True)

    # The revision being worked on (or, once published, the one published).
    revision = models.PositiveIntegerField(default=1)
    published_revision = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField(null=True, blank=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    # A Manager may let the incident close before the post-mortem reaches review.
    waiver_reason = models.TextField(max_length=2000, blank=True)
    waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    waived_at = models.DateTimeField(null=True, blank=True)

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "due_at"], name="postmortem_status_due_idx"),
        ]

    def __str__(self) -> str:
        return f"Post-mortem of {self.incident.reference}"

    def get_absolute_url(self) -> str:
        return reverse("postmortems:detail", args=[self.incident.reference])

    @property
    def is_published(self) -> bool:
        return self.status == Status.PUBLISHED

    @property
    def waived(self) -> bool:
        return self.waived_at is not None

    def overdue(self, now=None) -> bool:
        return (
            self.status == Status.DRAFT
            and self.meeting_at is None
            and (now or timezone.now()) > self.due_at
        )


class TimelineEntry(models.Model):
    """A line of the post-mortem's timeline: imported from one of the incident's events (and
    linked to it), or written here. The selection is editable: an entry can be left out
    without being lost."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="entries")
    event = models.ForeignKey(
        "incidents.TimelineEvent",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="postmortem_entries",
    )
    at = models.DateTimeField()
    text = models.TextField(max_length=2000)
    included = models.BooleanField(default=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["postmortem", "event"],
                condition=models.Q(event__isnull=False),
                name="postmortem_entry_event_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text[:40]}"


class ReviewComment(models.Model):
    postmortem = models.ForeignKey(PostMortem, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    revision = models.PositiveIntegerField()
    section = models.CharField(max_length=32, blank=True)
    body = models.TextField(max_length=5000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Comment on {self.postmortem_id} by {self.author_id}"


class Revision(models.Model):
    """A published revision, frozen: the sections, the timeline, the action items and the
    incident's figures as they were. The history, the knowledge-base search and the PDF read
    these, never the working copy."""

    postmortem = models.ForeignKey(PostMortem, on_delete=models.PROTECT, related_name="revisions")
    number = models.PositiveIntegerField()
    published_at = models.DateTimeField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(max_length=2000, blank=True)
    content = models.JSONField()
    search_text = models.TextField(blank=True)

    class Meta:
        ordering = ["postmortem", "number"]
        constraints = [
            models.UniqueConstraint(fields=["postmortem", "number"], name="revision_number_once")
        ]

    def __str__(self) -> str:
        return f"Revision {self.number} of post-mortem {self.postmortem_id}"
