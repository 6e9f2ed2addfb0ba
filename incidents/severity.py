"""The spec's severity table ("Incident Classification" > "Severity Levels") and status-update
cadence ("Status Update Cadence"), in one place. Every page, form, rule and timer that needs a
severity's response time, channels or cadence reads it from here."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from portal.models import Channel


@dataclass(frozen=True)
class SeverityLevel:
    code: str
    label: str
    description: str
    examples: tuple[str, ...]
    response_time: timedelta
    channels: tuple[str, ...]  # how a page for this severity reaches the on-call person
    update_cadence: timedelta | None  # None: at start, significant developments and resolution
    css: str  # Bootstrap contextual colour
    # Spec "Post-Mortem Process": a blameless post-mortem after all P1/P2 incidents and
    # significant P3 incidents (marked by the Incident Commander or a Manager).
    postmortem_required: bool = False
    postmortem_if_significant: bool = False
    # Spec "Response Activation": after hours P3/P4 are "tracked for next business day", so
    # their response time counts working hours only (the default escalation policy's).
    business_hours_clock: bool = False
    # Spec "Email Communications": "for prolonged P1 incidents (>2 hours)" the affected users
    # are emailed; PROLONGED_P1_MINUTES says how long is prolonged.
    email_users_when_prolonged: bool = False

    def needs_postmortem(self, *, significant: bool = False) -> bool:
        return self.postmortem_required or (significant and self.postmortem_if_significant)

    @property
    def choice_label(self) -> str:
        return f"{self.code} · {self.label}"

    @property
    def response_time_display(self) -> str:
        return duration(self.response_time)

    @property
    def first_update_within(self) -> timedelta:
        """Spec: P1/P2 update by their cadence from the start; P3/P4 "at beginning", which the
        portal holds to STATUS_FIRST_UPDATE_MINUTES after verification (60 by default)."""
        if self.update_cadence is not None:
            return self.update_cadence
        return timedelta(minutes=settings.STATUS_FIRST_UPDATE_MINUTES)

    @property
    def cadence_display(self) -> str:
        if self.update_cadence is None:
            return "At start, significant developments and resolution"
        return f"Every {duration(self.update_cadence)}"

    @property
    def channels_display(self) -> str:
        return " + ".join(Channel(c).label for c in self.channels)


def duration(td: timedelta) -> str:
    """A duration as the tables show it: \"15 min\", \"2 h\"."""
    minutes = int(td.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h"


SEVERITIES: dict[str, SeverityLevel] = {
    s.code: s
    for s in (
        SeverityLevel(
            code="P1",
            label="Critical",
            description="Service outage, security breach",
            examples=(
                "Complete platform unavailability",
                "Data breach",
                "Authentication system failure",
            ),
            response_time=timedelta(minutes=15),
            channels=(Channel.PHONE, Channel.SMS, Channel.EMAIL, Channel.SLACK),
            update_cadence=timedelta(minutes=30),
            css="danger",
            postmortem_required=True,
            email_users_when_prolonged=True,
        ),
        SeverityLevel(
            code="P2",
            label="High",
            description="Degraded performance, elevated errors",
            examples=(
                "AI service unresponsive",
                "High error rates",
                "Significant feature unavailability",
            ),
            response_time=timedelta(minutes=30),
            channels=(Channel.SMS, Channel.EMAIL, Channel.SLACK),
            update_cadence=timedelta(minutes=60),
            css="warning",
            postmortem_required=True,
        ),
        SeverityLevel(
            code="P3",
            label="Medium",
            description="Minor functionality issues",
            examples=(
                "Non-critical feature unavailable",
                "Intermittent errors affecting small subset of users",
            ),
            response_time=timedelta(hours=4),
            channels=(Channel.EMAIL, Channel.SLACK),
            update_cadence=None,
            css="info",
            postmortem_if_significant=True,
            business_hours_clock=True,
        ),
        SeverityLevel(
            code="P4",
            label="Low",
            description="Non-impacting anomalies",
            examples=("Cosmetic issues", "Minor performance anomalies", "Isolated errors"),
            response_time=timedelta(hours=24),
            channels=(Channel.EMAIL,),
            update_cadence=None,
            css="secondary",
            business_hours_clock=True,
        ),
    )
}

SEVERITY_CHOICES = [(s.code, s.choice_label) for s in SEVERITIES.values()]


def severity(code: str) -> SeverityLevel:
    return SEVERITIES[code]
