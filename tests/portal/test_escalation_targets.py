"""Every kind of step target resolves to the right person (issue 11), and a policy that
repeats runs its steps again with new outbox keys."""

from datetime import timedelta

import pytest

from incidents.models import Source
from portal import roles, timers
from portal.models import (
    Escalation,
    EscalationRoute,
    EscalationStep,
    Notification,
    OnCallRole,
    Page,
    StepTarget,
    Team,
)
from portal.oncall import routing

from .oncall_fixtures import WORKING, on_call_team, schedule_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(make_user):
    return on_call_team(make_user)


def resolve(kind, *, team=None, **fields):
    return routing.resolve(StepTarget(kind=kind, **fields), team=team, incident_type="", at=WORKING)


def test_each_target_kind_resolves(team, make_user):
    lee = make_user("lee", roles.RESPONDER)
    backend = Team.objects.create(
        name="Backend", slug="backend", lead=lee, queue_email="q@example.org"
    )
    OnCallRole.objects.create(role="security_lead", user=team.secondary)
    assert resolve("schedule", schedule=team.primary_schedule).user == team.primary
    assert resolve("user", user=team.escalation_manager).user == team.escalation_manager
    assert resolve("role", role="security_lead").user == team.secondary
    assert resolve("role", role="primary_oncall").user == team.primary
    assert resolve("team_lead", team=backend).user == lee
    queue = resolve("team_queue", team=backend)
    assert (queue.user, queue.destination) == (None, "q@example.org")
    # Without an owning team, team targets are gaps that say why.
    assert resolve("team_lead").gap == "The incident has no owning team."
    assert resolve("role", role="communications_lead").gap == (
        "Nobody holds the Communications Lead role."
    )
    lee.is_active = False
    lee.save()
    backend.refresh_from_db()
    assert resolve("team_lead", team=backend).gap == "Backend has no team lead."


def test_a_p2_in_working_hours_reaches_the_team_lead_third(declare, team, make_user, components):
    lee = make_user("lee", roles.RESPONDER)
    backend = Team.objects.create(name="Backend", slug="backend", lead=lee)
    components[1].owning_team = backend
    components[1].save()
    incident = declare(
        actor=None, source=Source.ALERT, now=WORKING, severity="P2", components=[components[1]]
    )
    timers.sweep(now=WORKING + timedelta(minutes=10))
    timers.sweep(now=WORKING + timedelta(minutes=20))
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    assert [
        (p.step, p.target, p.user.username)
        for p in Page.objects.filter(escalation=escalation).order_by("step")
    ] == [
        (0, "Primary On-call (Primary)", "pia"),
        (1, "Secondary On-call (Secondary)", "sam"),
        (2, "Backend lead", "lee"),
    ]


def test_a_repeating_policy_runs_its_steps_again(declare, team):
    policy = routing.default_policy()
    policy.repeat = 1
    policy.save()
    route = EscalationRoute.objects.get(policy=policy, severity="P1", window="working")
    EscalationStep.objects.filter(route=route, position__gt=0).delete()
    incident = declare(
        actor=None, source=Source.ALERT, now=WORKING, severity="P1", severity_reason="outage"
    )
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    timers.sweep(now=WORKING + timedelta(minutes=5))  # round 2, step 1 again
    timers.sweep(now=WORKING + timedelta(minutes=10))  # no more rounds: exhausted
    escalation.refresh_from_db()
    assert escalation.state == "exhausted" and escalation.round == 1
    pages = list(Page.objects.filter(escalation=escalation).values_list("round", "step", "user"))
    assert pages == [(0, 0, team.primary.pk), (1, 0, team.primary.pk)]
    keys = Notification.objects.filter(
        idempotency_key__startswith=f"page:{escalation.pk}:", channel="email"
    ).values_list("idempotency_key", flat=True)
    assert sorted(k.split(":")[2] for k in keys) == ["0", "1"]  # one row per round


def test_schedule_with_no_rotation_is_a_gap():
    empty = schedule_with("Nobody")
    assert resolve("schedule", schedule=empty).gap == "Nobody is on call on Nobody."
