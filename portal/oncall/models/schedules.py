"""On-call schedules as rows (issue 11): a schedule in a time zone with one or more rotations
(layers: a later layer, where it has someone, wins over an earlier one) and overrides. The
math is rotation.py."""

import calendar
import zoneinfo
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


def validate_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Berlin).")


# Rotations start between these dates: the calendar math stays far from datetime's limits.
FIRST_START, LAST_START = date(2000, 1, 1), date(2100, 12, 31)


class OnCallSchedule(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_zone])
    team = models.ForeignKey(
        "portal.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="schedules"
    )
    description = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScheduleRotation(models.Model):
    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="rotations")
    name = models.CharField(max_length=100)
    layer = models.PositiveSmallIntegerField(default=1)
    start = models.DateField(
        validators=[MinValueValidator(FIRST_START), MaxValueValidator(LAST_START)]
    )
    shift_days = models.PositiveSmallIntegerField(default=7)
    # 0 = Monday; null: hand over on any day (shifts shorter than a week).
    handoff_weekday = models.PositiveSmallIntegerField(null=True, blank=True, default=0)
    handoff_time = models.TimeField(default="09:00")

    class Meta:
        ordering = ["schedule", "layer", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(shift_days__gte=1, shift_days__lte=366),
                name="rotation_shift_days_bounded",
            ),
            models.CheckConstraint(
                condition=models.Q(handoff_weekday__isnull=True) | models.Q(handoff_weekday__lte=6),
                name="rotation_weekday_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(start__gte=FIRST_START, start__lte=LAST_START),
                name="rotation_start_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"

    @property
    def handoff_day_name(self) -> str:
        if self.handoff_weekday is None:
            return ""
        return calendar.day_name[self.handoff_weekday]


class RotationMember(models.Model):
    rotation = models.ForeignKey(ScheduleRotation, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rotation_turns"
    )
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["rotation", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["rotation", "position"], name="rotation_member_position_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.rotation} #{self.position}: {self.user_id}"


class ScheduleOverride(models.Model):
    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="schedule_overrides"
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["schedule", "starts_at"]
        indexes = [models.Index(fields=["schedule", "ends_at"], name="override_schedule_end_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="override_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} covers {self.schedule} from {self.starts_at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """A secret, revocable iCal URL: a schedule's shifts, or one person's across schedules.
    The token is the only credential (calendar apps cannot log in); revoking it ends it."""

    token = models.CharField(max_length=64, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feeds"
    )
    schedule = models.ForeignKey(
        OnCallSchedule, on_delete=models.CASCADE, null=True, blank=True, related_name="feeds"
    )
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        what = self.schedule.name if self.schedule_id else "personal"
        return f"{what} feed of {self.owner_id}"

    @property
    def is_personal(self) -> bool:
        return self.schedule_id is None
