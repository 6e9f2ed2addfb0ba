from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from ..bounds import shifted
from ..severity import SEVERITY_CHOICES, SeverityLevel, severity
from ..taxonomy import SUBTYPE_LABELS, TYPE_CHOICES
from .component import public_id
from .impact import ImpactAssessment


class Status(models.TextChoices):
    TRIAGE = "triage", "Triage"
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"
    FALSE_ALARM = "false_alarm", "False alarm"


ACTIVE_STATUSES = (Status.TRIAGE, Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING)
# Status updates are posted while the incident is worked on, and once at its resolution.
UPDATABLE_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED)


class Source(models.TextChoices):
    MANUAL = "manual", "Manual"
    ALERT = "alert", "Alert"
    API = "api", "API"


class Followup(models.TextChoices):
    POSTMORTEM = "postmortem", "Post-mortem"
    NONE = "none", "No post-mortem"


class PublicImpact(models.TextChoices):
    """Statuspage's incident impact: what the public is told of how bad it is."""

    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class IncidentCounter(models.Model):
    """Hands out the per-year sequence behind INC-2026-0042."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class IncidentQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ACTIVE_STATUSES)

    def touch(self) -> int:
        """Bump changed_at, the stamp live pages poll, without bumping the edit version."""
        return self.update(changed_at=timezone.now())


class Incident(ImpactAssessment):
    reference = models.CharField(max_length=32, unique=True)
    title = models.CharField(max_length=200)
    summary = models.TextField(max_length=10_000, blank=True)
    type = models.CharField(max_length=32, choices=TYPE_CHOICES)
    subtype = models.CharField(max_length=64, blank=True)
    severity = models.CharField(max_length=2, choices=SEVERITY_CHOICES)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVESTIGATING)
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.MANUAL)
    components = models.ManyToManyField("incidents.Component", related_name="incidents", blank=True)

    detected_at = models.DateTimeField()
    declared_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    identified_at = models.DateTimeField(null=True, blank=True)
    mitigated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="declared_incidents",
    )
    false_alarm_note = models.TextField(max_length=5000, blank=True)
    root_cause = models.TextField(max_length=5000, blank=True)
    mitigation = models.TextField(max_length=5000, blank=True)
    resolution_summary = models.TextField(max_length=5000, blank=True)
    followup = models.CharField(max_length=16, choices=Followup.choices, blank=True)
    followup_note = models.TextField(max_length=2000, blank=True)
    next_update_due_at = models.DateTimeField(null=True, blank=True)
    # A P3 the Incident Commander or a Manager marked significant: it needs a post-mortem
    # (spec "after all P1/P2 incidents and significant P3 incidents").
    significant = models.BooleanField(default=False)
    significant_reason = models.TextField(max_length=2000, blank=True)

    # What the public status page shows (DESIGN.md decision 5): its own fields, written for
    # customers; the internal title, notes and people never leave the portal. Changed only
    # through services.publicity (and a public status update).
    public_id = models.CharField(max_length=16, unique=True, default=public_id, editable=False)
    is_public = models.BooleanField(default=False)
    # A person published or withdrew it: the automatic rule (P1/P2 public once verified)
    # leaves it alone from then on.
    public_decided = models.BooleanField(default=False)
    public_title = models.CharField(max_length=200, blank=True)
    public_impact = models.CharField(max_length=8, choices=PublicImpact.choices, blank=True)
    estimated_resolution_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    public_updated_at = models.DateTimeField(null=True, blank=True)
    # Its post-mortem was published: Statuspage's "postmortem" incident status.
    postmortem_published_at = models.DateTimeField(null=True, blank=True)
    # The in-app banner (/status/embed.js): None follows the rule (a public P1 affecting all
    # users, incidents/statuspage/rules.py); True or False is a person's decision.
    in_app_notice = models.BooleanField(null=True, blank=True)

    # version: bumped by edits of the incident's own fields (stale-form refusal).
    # changed_at: bumped by every change, notes and ticks included (what live pages poll).
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)
    changed_at = models.DateTimeField(default=timezone.now)

    objects = IncidentQuerySet.as_manager()

    class Meta:
        ordering = ["-declared_at"]
        permissions = [
            ("view_reports", "Can view reports and export incidents"),
            (
                "command_any_incident",
                "Can resolve, close and hand over command of any incident",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "severity"], name="incident_status_sev_idx"),
            models.Index(fields=["-declared_at"], name="incident_declared_idx"),
            models.Index(fields=["severity", "-declared_at"], name="incident_sev_declared_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"

    def get_absolute_url(self) -> str:
        return reverse("incidents:detail", args=[self.reference])

    @property
    def severity_level(self) -> SeverityLevel:
        return severity(self.severity)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def accepts_status_updates(self) -> bool:
        return self.status in UPDATABLE_STATUSES

    @property
    def subtype_label(self) -> str:
        return SUBTYPE_LABELS.get(self.subtype, "")

    @property
    def response_due_at(self) -> datetime:
        """The response clock runs from detection: a problem noticed at 10:00 and declared at
        10:20 has already used 20 minutes of a P1's 15. A P3/P4's counts working hours only:
        detected on a Friday evening, its 24 hours start on Monday at 09:00."""
        level = self.severity_level
        if level.business_hours_clock:
            from portal.oncall.routing import business_hours

            return business_hours().add(self.detected_at, level.response_time)
        return shifted(self.detected_at, level.response_time)

    def response_state(self, now: datetime | None = None) -> str:
        """'met', 'breached' (acknowledged late, or not yet and past due), 'pending',
        'false_alarm' (called a false alarm before anyone acknowledged it), or 'closed' (ended
        otherwise without anyone acknowledging it)."""
        now = now or timezone.now()
        if self.acknowledged_at:
            return "met" if self.acknowledged_at <= self.response_due_at else "breached"
        if self.status == Status.FALSE_ALARM:
            return "false_alarm"
        if not self.is_active:
            return "closed"
        return "breached" if now > self.response_due_at else "pending"

    @property
    def response_breached(self) -> bool:
        return self.response_state() == "breached"

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or timezone.now()) - self.declared_at

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return self.acknowledged_at - self.detected_at if self.acknowledged_at else None

    def update_state(self, now: datetime | None = None) -> str:
        """'overdue', 'soon' (within 5 minutes), 'scheduled' or '' when none is due."""
        if not self.next_update_due_at or not self.is_active:
            return ""
        left = self.next_update_due_at - (now or timezone.now())
        if left <= timedelta(0):
            return "overdue"
        return "soon" if left <= timedelta(minutes=5) else "scheduled"

    @property
    def update_overdue(self) -> bool:
        return self.update_state() == "overdue"

    @property
    def time_to_mitigate(self) -> timedelta | None:
        return self.mitigated_at - self.detected_at if self.mitigated_at else None

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.resolved_at - self.detected_at if self.resolved_at else None
