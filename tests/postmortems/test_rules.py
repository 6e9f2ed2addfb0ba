"""The spec's post-mortem tables: which incidents need one, the categories of improvement and
the Implementation Priority Matrix."""

import pytest

from postmortems import rules


@pytest.mark.parametrize(
    ("severity", "significant", "required"),
    [
        ("P1", False, True),
        ("P2", False, True),
        ("P3", False, False),
        ("P3", True, True),
        ("P4", False, False),
        ("P4", True, False),  # only P3 incidents are "significant P3 incidents"
        ("P1", True, True),
    ],
)
def test_which_incidents_require_a_postmortem(severity, significant, required):
    assert rules.requires_postmortem(severity, significant=significant) is required


@pytest.mark.parametrize(
    ("impact", "effort", "rank", "name"),
    [
        ("high", "low", 1, "Immediate"),
        ("high", "high", 2, "Planned Project"),
        ("low", "low", 3, "Quick Win"),
        ("low", "high", 4, "Consider Alternative"),
    ],
)
def test_the_priority_matrix(impact, effort, rank, name):
    found = rules.priority(impact, effort)
    assert (found.rank, found.name, str(found)) == (rank, name, f"{rank} - {name}")


def test_the_matrix_is_complete_and_refuses_other_levels():
    assert len(rules.PRIORITY_MATRIX) == 4
    assert sorted(p.rank for p in rules.PRIORITY_MATRIX.values()) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="high or low"):
        rules.priority("medium", "low")


def test_the_categories_and_the_meeting_deadline_are_the_specs():
    assert [c.value for c in rules.Category] == ["detection", "response", "recovery",
                                                 "prevention"]  # fmt: skip
    assert rules.Category.DETECTION.label.startswith("Detection: monitoring, alerting")
    assert rules.MEETING_BUSINESS_DAYS == 5


def test_a_misspelt_holiday_country_fails_the_system_check(settings):
    from django.core import checks

    assert not [e for e in checks.run_checks() if e.id == "postmortems.E001"]
    settings.BUSINESS_DAYS_COUNTRY = "XX"
    errors = [e for e in checks.run_checks() if e.id == "postmortems.E001"]
    assert len(errors) == 1 and "BUSINESS_DAYS_COUNTRY='XX'" in errors[0].msg
