"""The spec's post-mortem rules as data ("Post-Mortem Process", "Categorization of
Improvements", "Implementation Priority Matrix"); pinned by tests/postmortems/test_rules.py."""

from dataclasses import dataclass

from django.db import models

from incidents.severity import SEVERITIES

# "Schedule meeting within 5 business days" (of resolution).
MEETING_BUSINESS_DAYS = 5


def requires_postmortem(severity: str, *, significant: bool = False) -> bool:
    """Spec: after all P1/P2 incidents and significant P3 incidents (the severity table,
    incidents/severity.py, says which is which)."""
    return SEVERITIES[severity].needs_postmortem(significant=significant)


class Category(models.TextChoices):
    """The spec's categories of improvement."""

    DETECTION = "detection", "Detection: monitoring, alerting and observability"
    RESPONSE = "response", "Response: procedures, tooling and automation"
    RECOVERY = "recovery", "Recovery: backup, restore and disaster recovery"
    PREVENTION = "prevention", "Prevention: architecture, quality and resilience"


class Level(models.TextChoices):
    HIGH = "high", "High"
    LOW = "low", "Low"


@dataclass(frozen=True)
class Priority:
    rank: int
    name: str

    def __str__(self) -> str:
        return f"{self.rank} - {self.name}"


# (impact, effort) -> priority, the spec's Implementation Priority Matrix.
PRIORITY_MATRIX: dict[tuple[str, str], Priority] = {
    (Level.HIGH, Level.LOW): Priority(1, "Immediate"),
    (Level.HIGH, Level.HIGH): Priority(2, "Planned Project"),
    (Level.LOW, Level.LOW): Priority(3, "Quick Win"),
    (Level.LOW, Level.HIGH): Priority(4, "Consider Alternative"),
}


def priority(impact: str, effort: str) -> Priority:
    try:
        return PRIORITY_MATRIX[(Level(impact), Level(effort))]
    except ValueError as error:
        raise ValueError(f"impact and effort are high or low, not {impact!r}/{effort!r}") from error
