"""Routing and escalation as data (spec "Response Activation", appendix "Escalation Matrix"):
a policy in a time zone with working hours, one route per (severity, time window), each an
ordered list of steps that page targets and wait for an acknowledgement; the team roles of
"Team Structure"; and the escalation matrix that names an incident's first, second and third
responders by owning team or incident type."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .schedules import validate_zone


def validate_country(value: str) -> None:
    from ...business_days import calendar_error

    if value and (error := calendar_error(value)):
        raise ValidationError(f"No holiday calendar for {value!r}: {error}")


class TeamRole(models.TextChoices):
    """Spec "Team Structure"."""

    PRIMARY_ONCALL = "primary_oncall", "Primary On-call"
    SECONDARY_ONCALL = "secondary_oncall", "Secondary On-call"
    ENGINEERING_MANAGER = "engineering_manager", "Engineering Manager"
    OPERATIONS_MANAGER = "operations_manager", "Operations Manager"
    SECURITY_LEAD = "security_lead", "Security Lead"
    COMMUNICATIONS_LEAD = "communications_lead", "Communications Lead"


class OnCallRole(models.Model):
    """Who holds a team role: a schedule's current on-call, or a named person."""

    role = models.CharField(max_length=32, choices=TeamRole.choices, unique=True)
    schedule = models.ForeignKey(
        "portal.OnCallSchedule", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["role"]
        constraints = [
            models.CheckConstraint(
                condition=Q(schedule__isnull=True, user__isnull=False)
                | Q(schedule__isnull=False, user__isnull=True),
                name="oncall_role_schedule_or_person",
            )
        ]

    def __str__(self) -> str:
        return self.get_role_display()


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_zone])
    working_start = models.TimeField(default="09:00")
    working_end = models.TimeField(default="17:00")
    # Blank: the portal's BUSINESS_DAYS_COUNTRY / _SUBDIVISION.
    holiday_country = models.CharField(max_length=8, blank=True, validators=[validate_country])
    holiday_subdivision = models.CharField(max_length=8, blank=True)
    repeat = models.PositiveSmallIntegerField(
        default=0, help_text="Times to run the steps again when nobody acknowledges (0-9)."
    )
    is_default = models.BooleanField(default=False)
    description = models.TextField(max_length=2000, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_policy"
            ),
            models.CheckConstraint(condition=Q(repeat__lte=9), name="policy_repeat_bounded"),
            models.CheckConstraint(
                condition=Q(working_end__gt=models.F("working_start")),
                name="policy_working_hours_ordered",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Window(models.TextChoices):
    WORKING = "working", "Working hours"
    AFTER_HOURS = "after_hours", "After hours"


class EscalationRoute(models.Model):
    """What one severity does in one time window. next_business_day: page nobody now; the
    escalation starts at the next working-hours opening ("tracked for next business day")."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="routes")
    severity = models.CharField(max_length=4)
    window = models.CharField(max_length=16, choices=Window.choices)
    next_business_day = models.BooleanField(default=False)

    class Meta:
        ordering = ["policy", "severity", "window"]
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "severity", "window"], name="one_route_per_severity_window"
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy}: {self.severity} {self.get_window_display()}"


class EscalationStep(models.Model):
    route = models.ForeignKey(EscalationRoute, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    wait_minutes = models.PositiveSmallIntegerField(
        default=5, help_text="Minutes to wait for an acknowledgement before the next step."
    )

    class Meta:
        ordering = ["route", "position"]
        constraints = [
            models.UniqueConstraint(fields=["route", "position"], name="step_position_once"),
            models.CheckConstraint(
                condition=Q(wait_minutes__gte=1, wait_minutes__lte=1440), name="step_wait_bounded"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.route} step {self.position}"


class TargetKind(models.TextChoices):
    FIRST_RESPONDER = "responder_1", "First responder (escalation matrix)"
    SECOND_RESPONDER = "responder_2", "Secondary escalation (escalation matrix)"
    THIRD_RESPONDER = "responder_3", "Tertiary escalation (escalation matrix)"
    SCHEDULE = "schedule", "Whoever is on call on a schedule"
    USER = "user", "A person"
    TEAM_LEAD = "team_lead", "The owning team's lead"
    TEAM_QUEUE = "team_queue", "The owning team's queue"
    ROLE = "role", "A team role"


class StepTarget(models.Model):
    step = models.ForeignKey(EscalationStep, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=16, choices=TargetKind.choices)
    schedule = models.ForeignKey(
        "portal.OnCallSchedule", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    role = models.CharField(max_length=32, choices=TeamRole.choices, blank=True)

    class Meta:
        ordering = ["step", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="schedule", schedule__isnull=False) | ~Q(kind="schedule"))
                & (Q(kind="user", user__isnull=False) | ~Q(kind="user"))
                & (Q(kind="role") & ~Q(role="") | ~Q(kind="role")),
                name="step_target_has_its_object",
            )
        ]

    def __str__(self) -> str:
        return f"{self.step}: {self.get_kind_display()}"


class MatrixEntry(models.Model):
    """One row of the escalation matrix: an owning team's, or an incident type's (security and
    data override the team), first responder, secondary and tertiary escalation."""

    label = models.CharField(max_length=100)
    team = models.OneToOneField(
        "portal.Team", on_delete=models.CASCADE, null=True, blank=True, related_name="matrix_entry"
    )
    incident_type = models.CharField(max_length=32, blank=True)
    first = models.ForeignKey(
        "portal.OnCallSchedule", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    second = models.ForeignKey(
        "portal.OnCallSchedule", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    third = models.ForeignKey(
        "portal.OnCallSchedule", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["label"]
        verbose_name_plural = "escalation matrix entries"
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, incident_type="")
                | Q(team__isnull=True) & ~Q(incident_type=""),
                name="matrix_entry_team_or_type",
            ),
            models.UniqueConstraint(
                fields=["incident_type"], condition=~Q(incident_type=""), name="matrix_type_once"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def tier(self, n: int):
        return (self.first, self.second, self.third)[n - 1]
