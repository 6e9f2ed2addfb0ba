"""Impact assessment ("Impact Assessment": user, business, technical) and the stated rule that
proposes a severity from it. The rule is a table: the first row whose condition holds gives the
proposed severity, and its wording is shown to the declarer next to the proposal."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .models.impact import (
    IMPACT_FIELDS,
    IMPACT_GROUPS,
    ImpactAssessment,
    RecoveryComplexity,
    Scope,
    Symptom,
)

__all__ = [
    "IMPACT_FIELDS",
    "IMPACT_GROUPS",
    "Assessment",
    "RecoveryComplexity",
    "Scope",
    "Symptom",
    "suggest_severity",
]

# Share of users that makes an impact "wide" or "significant"; an absolute count counts too,
# for teams that know the number of affected users but not the share.
WIDE = {"percent": Decimal(25), "count": 10_000}
SIGNIFICANT = {"percent": Decimal(10), "count": 1_000}

_DEFAULTS = {f.name: f.get_default() for f in ImpactAssessment._meta.fields}


class Assessment:
    """The impact fields' values: an incident's, or a form's input so far, with the fields'
    defaults for whatever is missing. Attribute names are the Incident's field names."""

    def __init__(self, **values: Any):
        unknown = set(values) - set(IMPACT_FIELDS)
        if unknown:
            raise TypeError(f"not impact fields: {sorted(unknown)}")
        for name, default in _DEFAULTS.items():
            setattr(self, name, values.get(name, default))

    @classmethod
    def of(cls, source: Any) -> "Assessment":
        """From an object with the impact fields (an Incident) or a dict (form data)."""
        if isinstance(source, dict):
            return cls(**{k: v for k, v in source.items() if k in _DEFAULTS and v is not None})
        return cls(**{name: getattr(source, name) for name in IMPACT_FIELDS})

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in IMPACT_FIELDS}

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
        lambda a: a.security_implications and a.data_risk,
    ),
    Rule(
        "P1",
        "Complete outage that is platform-wide or affects at least 25% (or 10,000) of users",
        lambda a: (
            a.symptom == Symptom.COMPLETE_OUTAGE
            and (a.technical_scope == Scope.PLATFORM or a.reaches(WIDE))
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
        lambda a: a.security_implications or a.data_risk,
    ),
    Rule(
        "P2",
        "Revenue impact or a contract/SLA violation",
        lambda a: a.impact_revenue or a.impact_sla,
    ),
    Rule(
        "P3",
        "A user-visible symptom on a small subset of users",
        lambda a: a.user_visible,
    ),
    Rule(
        "P3",
        "A compliance or reputation concern",
        lambda a: a.impact_compliance or a.impact_reputation,
    ),
    Rule("P4", "No user-visible impact (cosmetic or isolated anomaly)", lambda a: True),
)


def suggest_severity(assessment: Assessment) -> Rule:
    return next(rule for rule in RULES if rule.applies(assessment))
