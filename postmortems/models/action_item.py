from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ..rules import Category, Level, priority


def org_today():
    """Today in the organisation's zone: the day due dates and their reminders are about,
    whatever the viewer's zone."""
    return timezone.localdate(timezone=ZoneInfo(settings.TIME_ZONE))


class ItemStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    WONT_DO = "wont_do", "Won't do"


OPEN_STATUSES = (ItemStatus.OPEN, ItemStatus.IN_PROGRESS)


class ActionItem(models.Model):
    """A specific, measurable improvement from a post-mortem (spec "Action Items"), with its
    priority from the Implementation Priority Matrix (stored for filtering and sorting; always
    written from rules.priority)."""

    postmortem = models.ForeignKey(
        "postmortems.PostMortem", on_delete=models.PROTECT, related_name="action_items"
    )
    title = models.CharField(max_length=200)
    done_when = models.TextField(
        "Done when", max_length=2000, blank=True, help_text="How anyone can tell it is done."
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_items"
    )
    due_on = models.DateField("Due date")
    category = models.CharField(max_length=16, choices=Category.choices)
    impact = models.CharField(max_length=4, choices=Level.choices)
    effort = models.CharField(max_length=4, choices=Level.choices)
    priority = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=ItemStatus.choices, default=ItemStatus.OPEN)
    wont_do_reason = models.TextField(max_length=2000, blank=True)
    ticket_url = models.URLField("Tracker ticket", max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["priority", "due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="action_item_status_due_idx"),
            models.Index(fields=["owner", "status"], name="action_item_owner_idx"),
            models.Index(fields=["due_on"], name="action_item_due_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("postmortems:action_item", args=[self.pk])

    @property
    def category_short(self) -> str:
        return str(Category(self.category).label).split(":")[0]

    @property
    def priority_label(self) -> str:
        return str(priority(self.impact, self.effort))

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def overdue(self, today=None) -> bool:
        return self.is_open and (today or org_today()) > self.due_on


class ActionItemChange(models.Model):
    """What happened to an action item, for the weekly review ("changes since last week")."""

    item = models.ForeignKey(ActionItem, on_delete=models.CASCADE, related_name="changes")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=16)
    text = models.TextField(max_length=3000)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["-at"], name="action_item_change_at_idx")]

    def __str__(self) -> str:
        return f"{self.kind} on item {self.item_id}"
