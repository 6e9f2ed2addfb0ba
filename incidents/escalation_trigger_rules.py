"""The spec's escalation triggers ("Response Activation" > "Escalation Triggers") as data: when
an incident is escalated to the Manager group. These are the manager escalation of the
incident process, not the on-call escalation policies that decide whom a page wakes next.

Each row says which severities it applies to (a P4 "misaligned icons" incident with an unknown
root cause is not a manager's business; a security or privacy concern is, at any severity),
what must hold, and for the time-based ones how long after declaration. No trigger fires while
an incident waits unverified in Triage; those that hold fire when it is verified."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings

from .impact import WIDE, Assessment, Scope, Symptom
from .models import EscalationTrigger, Incident

Kind = EscalationTrigger.Kind
ALL_SEVERITIES = ("P1", "P2", "P3", "P4")

# "Customer impact exceeding thresholds": a symptom users can notice (anything but cosmetic)
# reaching a quarter of users (or 10,000 when only the count is known), the share that makes a
# complete outage a P1 in the severity rule; or revenue impact; or a contract/SLA violation.
CUSTOMER_IMPACT_THRESHOLD = WIDE


# Security and privacy concerns: a security incident, these subtypes, or the assessment's
# "security implications" flag.
PRIVACY_TYPES = ("security",)
PRIVACY_SUBTYPES = ("data.data_exposure", "security.exfiltration")


def _customer_impact(incident: Incident) -> bool:
    impact = Assessment.of(incident)
    wide = impact.symptom != Symptom.COSMETIC and impact.reaches(CUSTOMER_IMPACT_THRESHOLD)
    return wide or impact.impact_revenue or impact.impact_sla


def _multiple_components(incident: Incident) -> bool:
    return incident.technical_scope in (Scope.MULTIPLE, Scope.PLATFORM) or (
        incident.components.count() > 1
    )


def _privacy(incident: Incident) -> bool:
    return (
        incident.type in PRIVACY_TYPES
        or incident.subtype in PRIVACY_SUBTYPES
        or incident.security_implications
    )


def _root_cause_window() -> timedelta:
    return timedelta(minutes=settings.ESCALATION_ROOT_CAUSE_MINUTES)


@dataclass(frozen=True)
class TriggerRule:
    kind: str
    severities: tuple[str, ...]
    holds: Callable[[Incident], bool]
    # Time-based rules fire this long after declaration if the condition still holds then,
    # through the durable timer named `timer`.
    after: Callable[[], timedelta] | None = None
    timer: str = ""

    @property
    def label(self) -> str:
        return str(Kind(self.kind).label)


TRIGGERS: dict[str, TriggerRule] = {
    rule.kind: rule
    for rule in (
        TriggerRule(
            Kind.UNRESOLVED_30,
            ("P1", "P2"),
            holds=lambda incident: True,
            after=lambda: timedelta(minutes=30),
            timer="incidents.escalate_unresolved",
        ),
        TriggerRule(Kind.MULTIPLE_COMPONENTS, ("P1", "P2", "P3"), holds=_multiple_components),
        TriggerRule(Kind.CUSTOMER_IMPACT, ALL_SEVERITIES, holds=_customer_impact),
        TriggerRule(
            Kind.ROOT_CAUSE_UNKNOWN,
            ("P1", "P2"),
            holds=lambda incident: incident.identified_at is None,
            after=_root_cause_window,
            timer="incidents.escalate_root_cause",
        ),
        TriggerRule(Kind.SECURITY_PRIVACY, ALL_SEVERITIES, holds=_privacy),
    )
}
