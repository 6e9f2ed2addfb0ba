from decimal import Decimal

import pytest

from incidents.impact import RULES, Assessment, suggest_severity

CASES = [
    # (assessment, expected severity, why)
    (Assessment(security_implications=True, data_risk=True), "P1", "possible breach"),
    (
        Assessment(symptom="complete_outage", technical_scope="platform"),
        "P1",
        "platform-wide outage",
    ),
    (
        Assessment(symptom="complete_outage", users_affected_percent=Decimal(25)),
        "P1",
        "outage for a quarter of users",
    ),
    (Assessment(symptom="complete_outage", users_affected=10_000), "P1", "outage, 10k users"),
    (
        Assessment(symptom="complete_outage", users_affected_percent=Decimal("24.99")),
        "P2",
        "outage just under the wide threshold",
    ),
    (Assessment(symptom="complete_outage"), "P2", "outage of unknown reach"),
    (
        Assessment(symptom="degraded", users_affected_percent=Decimal(10)),
        "P2",
        "degraded for 10%",
    ),
    (Assessment(symptom="feature_unavailable", users_affected=1000), "P2", "feature, 1k users"),
    (Assessment(security_implications=True), "P2", "security without data risk"),
    (Assessment(data_risk=True, symptom="cosmetic"), "P2", "data risk"),
    (Assessment(impact_revenue=True), "P2", "revenue"),
    (Assessment(impact_sla=True), "P2", "SLA"),
    (
        Assessment(symptom="degraded", users_affected_percent=Decimal("9.9")),
        "P3",
        "degraded for few users",
    ),
    (Assessment(symptom="intermittent", users_affected=50), "P3", "intermittent errors"),
    (Assessment(symptom="feature_unavailable"), "P3", "feature of unknown reach"),
    (Assessment(impact_compliance=True), "P3", "compliance concern"),
    (Assessment(impact_reputation=True, symptom="cosmetic"), "P3", "reputation concern"),
    (Assessment(symptom="cosmetic"), "P4", "cosmetic"),
    (Assessment(), "P4", "nothing known"),
]


@pytest.mark.parametrize(("assessment", "expected", "why"), CASES, ids=[c[2] for c in CASES])
def test_suggested_severity(assessment, expected, why):
    assert suggest_severity(assessment).severity == expected


def test_rule_table_ends_with_a_catch_all_and_every_row_is_reachable():
    assert RULES[-1].applies(Assessment())
    hit = {suggest_severity(a).reason for a, _, _ in CASES}
    assert hit == {rule.reason for rule in RULES}
