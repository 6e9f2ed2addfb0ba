"""Routing (issue 11): the spec's table by severity and time window, holidays, the escalation
matrix by owning team and incident type, and the fall-through to the Manager group."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents.models import Source
from portal import roles, timers
from portal.models import (
    Escalation,
    EscalationRoute,
    MatrixEntry,
    Notification,
    OnCallSchedule,
    Page,
    Team,
)
from portal.oncall import routing

from .oncall_fixtures import NIGHT, WORKING, on_call_team, schedule_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(make_user):
    return on_call_team(make_user)


def escalation_of(incident):
    return Escalation.objects.get(topic=f"incident:{incident.pk}")


def pages(escalation):
    return [
        (p.step, p.target, p.user.username if p.user else None, p.gap)
        for p in Page.objects.filter(escalation=escalation).order_by("step", "id")
    ]


def alert(declare, at, **kw):
    return declare(actor=None, source=Source.ALERT, now=at, **kw)


def test_the_default_policy_is_the_spec_table():
    def steps(severity, window):
        route = EscalationRoute.objects.get(severity=severity, window=window)
        return route.next_business_day, [
            (s.wait_minutes, [t.kind for t in s.targets.all()]) for s in route.steps.all()
        ]

    assert steps("P1", "working") == (
        False,
        [(5, ["responder_1"]), (5, ["responder_2"]), (10, ["schedule"])],
    )
    assert steps("P2", "working") == (
        False,
        [(10, ["responder_1"]), (10, ["responder_2"]), (15, ["team_lead"])],
    )
    assert steps("P2", "after_hours") == (False, [(10, ["responder_1"]), (10, ["responder_2"])])
    assert steps("P3", "working") == (False, [(30, ["responder_1"]), (60, ["team_lead"])])
    assert steps("P3", "after_hours")[0] is True
    assert steps("P4", "working") == (False, [(60, ["team_queue"])])
    assert steps("P4", "after_hours")[0] is True


@pytest.mark.parametrize(
    ("at", "window"),
    [
        (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "working"),
        (datetime(2026, 11, 23, 16, 59, tzinfo=UTC), "working"),
        (datetime(2026, 11, 23, 17, 0, tzinfo=UTC), "after_hours"),
        (datetime(2026, 11, 23, 8, 59, tzinfo=UTC), "after_hours"),
        (datetime(2026, 11, 28, 12, 0, tzinfo=UTC), "after_hours"),  # Saturday
        (datetime(2026, 11, 26, 12, 0, tzinfo=UTC), "after_hours"),  # Thanksgiving (US)
        (datetime(2026, 12, 25, 12, 0, tzinfo=UTC), "after_hours"),  # Christmas
    ],
)
def test_the_window_is_working_hours_on_business_days(at, window):
    assert routing.window_at(routing.default_policy(), at) == window


def test_the_window_follows_the_policys_zone_and_holiday_country():
    policy = routing.default_policy()
    policy.time_zone, policy.holiday_country = "Europe/Berlin", "DE"
    # 08:30 UTC is 09:30 in Berlin; Thanksgiving is no holiday in Germany.
    assert routing.window_at(policy, datetime(2026, 11, 26, 8, 30, tzinfo=UTC)) == "working"
    # 3 October, German Unity Day (a Saturday in 2026: use 2025's Friday)
    assert routing.window_at(policy, datetime(2025, 10, 3, 10, 0, tzinfo=UTC)) == "after_hours"


def test_a_p2_after_hours_has_no_team_lead_step(declare, team, make_user):
    backend = Team.objects.create(name="Backend", slug="backend", lead=make_user("lee"))
    incident = alert(declare, NIGHT, severity="P2")
    escalation = escalation_of(incident)
    escalation.team = backend
    escalation.save()
    timers.sweep(now=NIGHT + timedelta(minutes=10))
    timers.sweep(now=NIGHT + timedelta(minutes=20))
    escalation.refresh_from_db()
    assert [p[2] for p in pages(escalation)] == ["pia", "sam"]
    assert escalation.state == "exhausted"


def test_a_p4_after_hours_waits_for_the_next_business_day(declare, team, make_user, components):
    backend = Team.objects.create(
        name="Backend", slug="backend", queue_email="backend-queue@example.com"
    )
    components[1].owning_team = backend
    components[1].save()
    friday_night = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    incident = alert(
        declare, friday_night, severity="P4", severity_reason="cosmetic", components=[components[1]]
    )
    escalation = escalation_of(incident)
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert escalation.state == "queued" and escalation.next_step_at == monday
    assert pages(escalation) == []
    timers.sweep(now=monday - timedelta(seconds=1))
    assert pages(escalation) == []
    timers.sweep(now=monday)
    assert pages(escalation) == [(0, "Backend queue", None, "")]
    row = Notification.objects.get(idempotency_key__startswith=f"page:{escalation.pk}:0:0:")
    assert (row.channel, row.destination, row.due_at) == (
        "email",
        "backend-queue@example.com",
        monday,
    )


def test_a_p3_after_hours_is_queued_past_a_holiday(declare, team):
    wednesday_night = datetime(2026, 12, 23, 20, 0, tzinfo=UTC)
    incident = alert(declare, wednesday_night, severity="P3", severity_reason="minor")
    escalation = escalation_of(incident)
    # Thursday 24 December is a business day in the US calendar; Friday the 25th is not.
    assert escalation.next_step_at == datetime(2026, 12, 24, 9, 0, tzinfo=UTC)


def test_the_matrix_names_the_owning_teams_responders(declare, team, make_user, components):
    bea, sol = make_user("bea", roles.RESPONDER), make_user("sol", roles.RESPONDER)
    backend = Team.objects.create(name="Backend", slug="backend")
    MatrixEntry.objects.create(
        label="Backend API",
        team=backend,
        first=schedule_with("Backend developer", bea),
        second=schedule_with("Service owner", sol),
    )
    components[1].owning_team = backend
    components[1].save()
    incident = alert(declare, WORKING, severity="P2", components=[components[1]])
    escalation = escalation_of(incident)
    assert escalation.team == backend
    timers.sweep(now=WORKING + timedelta(minutes=10))
    assert [(p[1], p[2]) for p in pages(escalation)] == [
        ("First responder: Backend developer", "bea"),
        ("Secondary escalation: Service owner", "sol"),
    ]


def test_a_security_incident_takes_the_security_row_over_the_team(
    declare, team, make_user, components
):
    sec = make_user("sec", roles.RESPONDER)
    backend = Team.objects.create(name="Backend", slug="backend")
    MatrixEntry.objects.create(
        label="Backend API", team=backend, first=schedule_with("Backend developer", team.primary)
    )
    MatrixEntry.objects.create(
        label="Security Event",
        incident_type="security",
        first=schedule_with("Security engineer", sec),
    )
    components[1].owning_team = backend
    components[1].save()
    incident = alert(
        declare,
        WORKING,
        severity="P2",
        type="security",
        subtype="security.unauthorized_access",
        components=[components[1]],
    )
    assert pages(escalation_of(incident))[0][1:3] == ("First responder: Security engineer", "sec")


def test_an_empty_schedule_falls_through_to_the_next_step_and_is_flagged(declare, team):
    OnCallSchedule.objects.filter(pk=team.primary_schedule.pk).first().rotations.all().delete()
    incident = alert(declare, WORKING, severity="P1", severity_reason="outage")
    escalation = escalation_of(incident)
    assert pages(escalation) == [
        (1, "Primary On-call (Primary)", None, "Nobody is on call on Primary."),
        (1, "Secondary On-call (Secondary)", "sam", ""),
    ]
    escalation.refresh_from_db()
    assert escalation.step_index == 1


def test_when_nobody_can_be_reached_the_manager_group_is_paged(declare, manager):
    incident = alert(declare, WORKING, severity="P1", severity_reason="outage")
    escalation = escalation_of(incident)
    found = pages(escalation)
    assert [p[3] for p in found[:-1]] == [
        "Nobody holds the Primary On-call role.",
        "Nobody holds the Secondary On-call role.",
        "Nobody is on call on Escalation managers.",
    ]
    assert found[-1][1:] == ("Manager group (nobody else could be reached)", "manny", "")


def test_a_p4_response_clock_counts_working_hours_only(declare, responder):
    from incidents.services.triage import RESPONSE_TIMER
    from portal.models import Timer

    friday_night = datetime(2026, 11, 27, 20, 0, tzinfo=UTC)
    incident = declare(
        severity="P4", severity_reason="cosmetic", start_in_triage=True, now=friday_night,
        detected_at=friday_night,
    )  # fmt: skip
    # 24 working hours from Monday 09:00: Monday, Tuesday and Wednesday until 17:00.
    wednesday = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)
    assert incident.response_due_at == wednesday
    assert Timer.objects.get(kind=RESPONSE_TIMER, object_id=incident.pk).due_at == wednesday
    timers.sweep(now=datetime(2026, 11, 28, 3, 0, tzinfo=UTC))  # Saturday night: nothing
    assert not incident.events.filter(kind="response_breached").exists()
    assert incident.response_state(datetime(2026, 11, 30, 12, 0, tzinfo=UTC)) == "pending"


def test_a_p3_in_working_hours_runs_through_the_evening_to_the_next_morning(declare, responder):
    thursday_four_pm = datetime(2026, 11, 19, 16, 0, tzinfo=UTC)
    incident = declare(
        severity="P3", severity_reason="minor", start_in_triage=True, now=thursday_four_pm,
        detected_at=thursday_four_pm,
    )  # fmt: skip
    # One hour on Thursday, three on Friday morning.
    assert incident.response_due_at == datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_p1_and_p2_clocks_stay_on_the_wall_clock(declare, responder):
    incident = declare(severity="P2", start_in_triage=True, now=NIGHT, detected_at=NIGHT)
    assert incident.response_due_at == NIGHT + timedelta(minutes=30)
