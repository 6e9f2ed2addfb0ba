"""Impact assessment ("Impact Assessment": user, business, technical) and the stated rule that
proposes a severity from it. The rule is a table: the first row whose condition holds gives the
proposed severity, and its wording is shown to the declarer next to the proposal."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import models


class Symptom(models.TextChoices):
    COMPLETE_OUTAGE = "complete_outage", "Complete outage"
    FEATURE_UNAVAILABLE = "feature_unavailable", "Feature unavailable"
    DEGRADED = "degraded", "Degraded performance or elevated errors"
    INTERMITTENT = "intermittent", "Intermittent errors"
    COSMETIC = "cosmetic", "Cosmetic or no user-visible symptom"
    UNKNOWN = "unknown", "Not known yet"


class Scope(models.TextChoices):
    SINGLE = "single", "One component"
    MULTIPLE = "multiple", "Several components"
    PLATFORM = "platform", "Platform-wide"


class RecoveryComplexity(models.TextChoices):
    LOW = "low", "Low (restart, rollback)"
    MEDIUM = "medium", "Medium (fix or failover)"
    HIGH = "high", "High (restore, rebuild)"
    UNKNOWN = "unknown", "Not known yet"


# Share of users that makes an impact "wide" or "significant"; an absolute count counts too,
# for teams that know the number of affected users but not the share.
WIDE = {"percent": Decimal(25), "count": 10_000}
SIGNIFICANT = {"percent": Decimal(10), "count": 1_000}


@dataclass(frozen=True)
class Assessment:
    users_affected: int | None = None
    users_affected_percent: Decimal | None = None
    symptom: str = Symptom.UNKNOWN
    revenue: bool = False
    reputation: bool = False
    compliance: bool = False
    sla: bool = False
    scope: str = Scope.SINGLE
    data_risk: bool = False
    security: bool = False
    recovery_complexity: str = RecoveryComplexity.UNKNOWN

    def reaches(self, threshold: dict) -> bool:
        pct, count = self.users_affected_percent, self.users_affected
        return (pct is not None and pct >= threshold["percent"]) or (
            count is not None and count >= threshold["count"]
        )

    @property
    def user_visible(self) -> bool:
        return self.symptom in {
            Symptom.COMPLETE_OUTAGE,
            Symptom.FEATURE_UNAVAILABLE,
            Symptom.DEGRADED,
            Symptom.INTERMITTENT,
        }


@dataclass(frozen=True)
class Rule:
    severity: str
    reason: str
    applies: Callable[[Assessment], bool]


RULES: tuple[Rule, ...] = (
    Rule(
        "P1",
        "Security implications together with a data integrity or loss risk (possible breach)",
        lambda a: a.security and a.data_risk,
    ),
    Rule(
        "P1",
        "Complete outage that is platform-wide or affects at least 25% (or 10,000) of users",
        lambda a: (
            a.symptom == Symptom.COMPLETE_OUTAGE and (a.scope == Scope.PLATFORM or a.reaches(WIDE))
        ),
    ),
    Rule(
        "P2",
        "Complete outage of a smaller scope",
        lambda a: a.symptom == Symptom.COMPLETE_OUTAGE,
    ),
    Rule(
        "P2",
        "Unavailable feature or degraded service affecting at least 10% (or 1,000) of users",
        lambda a: (
            a.symptom in {Symptom.FEATURE_UNAVAILABLE, Symptom.DEGRADED} and a.reaches(SIGNIFICANT)
        ),
    ),
    Rule(
        "P2",
        "Security implications, or a data integrity or loss risk",
        lambda a: a.security or a.data_risk,
    ),
    Rule(
        "P2",
        "Revenue impact or a contract/SLA violation",
        lambda a: a.revenue or a.sla,
    ),
    Rule(
        "P3",
        "A user-visible symptom on a small subset of users",
        lambda a: a.user_visible,
    ),
    Rule(
        "P3",
        "A compliance or reputation concern",
        lambda a: a.compliance or a.reputation,
    ),
    Rule("P4", "No user-visible impact (cosmetic or isolated anomaly)", lambda a: True),
)


def suggest_severity(assessment: Assessment) -> Rule:
    return next(rule for rule in RULES if rule.applies(assessment))
