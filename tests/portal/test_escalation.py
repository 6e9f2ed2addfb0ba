"""Escalations on a controllable clock (issue 11): the spec's routing paged step by step from
durable timers, acknowledgements stopping it, exactly one outbox row per step, target and
channel."""

from datetime import timedelta

import pytest

from incidents.models import ResponseRole, RoleAssignment, Source
from incidents.services.triage import RESPONSE_TIMER
from portal import notifications, timers
from portal.errors import ApplicationError
from portal.models import Escalation, Notification, Page, Timer
from portal.oncall import services as oncall

from .oncall_fixtures import WORKING, on_call_team, verified

pytestmark = pytest.mark.django_db
T0 = WORKING


@pytest.fixture
def team(make_user):
    return on_call_team(make_user)


def page_rows(escalation, step):
    return Notification.objects.filter(
        idempotency_key__startswith=f"page:{escalation.pk}:0:{step}:"
    )


def paged_people(escalation):
    return [
        (p.step, p.user.username if p.user else None)
        for p in Page.objects.filter(escalation=escalation).order_by("step", "id")
    ]


def alert(declare, **kw):
    """An incident opened by the system (as an alert will): nobody commands it yet."""
    return declare(actor=None, source=Source.ALERT, now=T0, **kw)


def test_a_p1_pages_primary_then_secondary_at_5_then_the_escalation_manager_at_10(declare, team):
    verified(team.primary, "sms", "+4915100000001")
    incident = alert(declare, severity="P1", severity_reason="outage")
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    assert escalation.state == "active" and escalation.next_step_at == T0 + timedelta(minutes=5)
    assert paged_people(escalation) == [(0, "pia")]
    # P1's channels: phone, SMS, email (Slack goes to the team's webhook), and the inbox.
    rows = {n.channel: n for n in page_rows(escalation, 0)}
    assert set(rows) == {"portal", "phone", "sms", "email"}
    assert rows["sms"].destination == "+4915100000001" and rows["sms"].status == "pending"
    assert rows["sms"].lane == 0 and rows["sms"].due_at == T0
    assert rows["phone"].status == "skipped"
    assert "has no verified number for phone calls" in rows["phone"].last_error

    timers.sweep(now=T0 + timedelta(minutes=4, seconds=59))
    assert paged_people(escalation) == [(0, "pia")]
    timers.sweep(now=T0 + timedelta(minutes=5))
    assert paged_people(escalation) == [(0, "pia"), (1, "sam")]
    assert page_rows(escalation, 1).filter(channel="email").get().due_at == T0 + timedelta(
        minutes=5
    )
    timers.sweep(now=T0 + timedelta(minutes=10))
    assert paged_people(escalation) == [(0, "pia"), (1, "sam"), (2, "max")]
    escalation.refresh_from_db()
    assert escalation.step_index == 2 and escalation.next_step_at == T0 + timedelta(minutes=20)
    timers.sweep(now=T0 + timedelta(minutes=20))
    escalation.refresh_from_db()
    assert escalation.state == "exhausted" and len(paged_people(escalation)) == 3


def test_acknowledging_at_4_minutes_stops_the_escalation_and_the_response_clock(declare, team):
    incident = alert(declare, severity="P1", severity_reason="outage")
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    assert Timer.objects.get(kind=RESPONSE_TIMER, object_id=incident.pk).state == "pending"
    at = T0 + timedelta(minutes=4)
    oncall.escalation_acknowledge(user=team.primary, escalation=escalation, now=at)
    escalation.refresh_from_db()
    incident.refresh_from_db()
    assert escalation.state == "acknowledged" and escalation.acknowledged_by == team.primary
    assert escalation.acknowledged_at == at and incident.acknowledged_at == at
    assert Timer.objects.get(kind=RESPONSE_TIMER, object_id=incident.pk).state == "cancelled"
    assert Timer.objects.get(kind=oncall.ESCALATION_TIMER, object_id=escalation.pk).state == (
        "cancelled"
    )
    # The first to acknowledge an incident nobody commands becomes its commander.
    command = RoleAssignment.objects.current(incident, ResponseRole.COMMANDER)
    assert command.user == team.primary
    assert incident.events.filter(kind="acknowledged", actor=team.primary).count() == 1
    timers.sweep(now=T0 + timedelta(minutes=30))
    assert paged_people(escalation) == [(0, "pia")]
    # Twice is refused, naming who did it.
    with pytest.raises(ApplicationError, match="Already acknowledged by Pia"):
        oncall.escalation_acknowledge(user=team.secondary, escalation=escalation, now=at)


def test_acknowledging_a_commanded_incident_keeps_its_commander(declare, team, responder):
    incident = declare(severity="P1", severity_reason="outage", now=T0)
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    oncall.escalation_acknowledge(user=team.primary, escalation=escalation, now=T0)
    command = RoleAssignment.objects.current(incident, ResponseRole.COMMANDER)
    assert command.user == responder


def test_acknowledging_the_incident_on_its_page_stops_the_escalation(declare, team):
    from incidents.services import incident_acknowledge

    incident = alert(declare, severity="P2")
    incident_acknowledge(actor=team.secondary, incident=incident, now=T0 + timedelta(minutes=1))
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    assert escalation.state == "acknowledged" and escalation.acknowledged_by == team.secondary
    timers.sweep(now=T0 + timedelta(hours=1))
    assert paged_people(escalation) == [(0, "pia")]


def test_resolving_or_a_false_alarm_stops_paging(declare, team, responder):
    from incidents.services import incident_mark_false_alarm

    incident = alert(declare, severity="P1", severity_reason="outage")
    incident_mark_false_alarm(actor=responder, incident=incident, note="Tune the probe.")
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    assert escalation.state == "cancelled"
    timers.sweep(now=T0 + timedelta(hours=1))
    assert paged_people(escalation) == [(0, "pia")]


def test_a_doubled_sweep_pages_each_step_once(declare, team):
    incident = alert(declare, severity="P1", severity_reason="outage")
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    at = T0 + timedelta(minutes=5)
    timers.sweep(now=at)
    timers.sweep(now=at)
    timers.sweep(now=at + timedelta(seconds=1))
    assert paged_people(escalation) == [(0, "pia"), (1, "sam")]
    keys = list(page_rows(escalation, 1).values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys)) == 4  # inbox, phone, SMS, email
    # notify again with the same key is a no-op (what a retried handler would do)
    assert oncall._page_people(escalation, 1, at, at, []) == []


def test_a_crash_between_claim_and_commit_pages_the_step_once_on_the_next_sweep(
    declare, team, monkeypatch
):
    incident = alert(declare, severity="P1", severity_reason="outage")
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    real = oncall.timers.schedule
    calls = {"n": 0}

    def dies_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("worker killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(oncall.timers, "schedule", dies_once)
    at = T0 + timedelta(minutes=5)
    assert timers.sweep(now=at)["retry"] == 1
    # Rolled back whole: no page, no outbox row for step 1.
    assert paged_people(escalation) == [(0, "pia")] and not page_rows(escalation, 1).exists()
    timers.sweep(now=at + timedelta(minutes=1))
    assert paged_people(escalation) == [(0, "pia"), (1, "sam")]
    assert page_rows(escalation, 1).count() == 4
    # The page is stamped with the step's due time, not the retry's.
    assert Page.objects.get(escalation=escalation, step=1).due_at == at


def test_a_worker_dying_mid_send_resends_the_same_row(declare, team, settings):
    verified(team.primary, "sms", "+4915100000001")
    sent: list = []

    from portal.channels import register_sender, sender_for, unregister_sender

    previous = sender_for("sms")
    register_sender("sms", lambda n: sent.append(n.idempotency_key), timeout=5)
    try:
        incident = alert(declare, severity="P1", severity_reason="outage")
        escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
        row = page_rows(escalation, 0).get(channel="sms")
        Notification.objects.filter(pk=row.pk).update(
            status="sending", claimed_at=row.created_at - notifications.lease()
        )
        notifications.dispatch_due()
        row.refresh_from_db()
        assert row.status == "sent" and sent == [row.idempotency_key]
        assert page_rows(escalation, 0).filter(channel="sms").count() == 1
    finally:
        unregister_sender("sms")
        if previous is not None:
            register_sender("sms", previous.send, provider=previous.provider)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_the_same_moment_page_each_step_once(declare, team):
    from django.db import connection

    from tests.conftest import race

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs it)")
    incidents = [alert(declare, severity="P1", severity_reason="outage") for _ in range(5)]
    at = T0 + timedelta(minutes=5)
    results = race(lambda: timers.sweep(now=at), lambda: timers.sweep(now=at))
    assert sum(r["fired"] for r in results) == 5
    for incident in incidents:
        escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
        assert paged_people(escalation) == [(0, "pia"), (1, "sam")]
        assert page_rows(escalation, 1).count() == 4


def test_acknowledging_while_the_sweep_fires_the_next_step_never_pages_after_the_ack(declare, team):
    """The step timer and the acknowledgement take the escalation row in turn: whichever
    commits first wins, and an acknowledged escalation pages nobody more."""
    incident = alert(declare, severity="P1", severity_reason="outage")
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    oncall.escalation_acknowledge(
        user=team.primary, escalation=escalation, now=T0 + timedelta(minutes=5)
    )
    assert timers.sweep(now=T0 + timedelta(minutes=5))["fired"] == 0
    assert paged_people(escalation) == [(0, "pia")]


def test_the_first_acknowledgement_stops_every_page_of_the_incident(declare, team, responder):
    """Sam answers a page by hand before anyone answered the policy's: the incident is
    answered, so the policy's escalation stops too."""
    from incidents.paging import incident_page_someone

    incident = alert(declare, severity="P1", severity_reason="outage")
    manual = incident_page_someone(actor=responder, incident=incident, user=team.secondary, now=T0)
    oncall.escalation_acknowledge(user=team.secondary, escalation=manual, now=T0)
    states = dict(
        Escalation.objects.filter(topic=f"incident:{incident.pk}").values_list("manual", "state")
    )
    assert states == {True: "acknowledged", False: "acknowledged"}
    timers.sweep(now=T0 + timedelta(minutes=30))
    policy = Escalation.objects.get(topic=f"incident:{incident.pk}", manual=False)
    assert paged_people(policy) == [(0, "pia")]


def test_a_late_sweep_still_gives_the_next_person_their_whole_wait(declare, team):
    incident = alert(declare, severity="P1", severity_reason="outage")
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    late = T0 + timedelta(minutes=7)  # step 2 was due at 5 min
    timers.sweep(now=late)
    escalation.refresh_from_db()
    assert escalation.next_step_at == late + timedelta(minutes=5)
    assert Page.objects.get(escalation=escalation, step=1).due_at == T0 + timedelta(minutes=5)


def test_raising_a_queued_p3_to_p1_pages_now(declare, team, responder):
    from incidents.services import incident_update

    from .oncall_fixtures import NIGHT

    incident = declare(
        actor=None, source=Source.ALERT, now=NIGHT, severity="P3", severity_reason="minor"
    )
    queued = Escalation.objects.get(topic=f"incident:{incident.pk}")
    assert queued.state == "queued"
    at = NIGHT + timedelta(minutes=20)
    incident_update(
        actor=responder, incident=incident, expected_version=incident.version,
        severity="P1", severity_reason="worse than thought", now=at,
    )  # fmt: skip
    queued.refresh_from_db()
    assert queued.state == "cancelled" and "Severity changed to P1" in queued.note
    paging = Escalation.objects.get(topic=f"incident:{incident.pk}", state="active")
    assert paging.severity == "P1" and paged_people(paging) == [(0, "pia")]
    assert set(page_rows(paging, 0).values_list("channel", flat=True)) == {
        "portal", "phone", "sms", "email",
    }  # fmt: skip


def test_a_fault_in_paging_never_undoes_the_declaration(declare, team, monkeypatch, caplog):
    from incidents.models import Incident

    def broken(**kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(oncall, "escalation_start", broken)
    incident = alert(declare, severity="P1", severity_reason="outage")
    assert Incident.objects.filter(pk=incident.pk).exists()
    assert not Escalation.objects.exists()
    assert "could not start paging" in caplog.text


def test_when_nobody_can_be_paged_the_teams_slack_channel_still_hears(declare, components):
    from portal.models import Team

    backend = Team.objects.create(
        name="Backend", slug="backend", slack_webhook_url="https://hooks.example/T/B/x"
    )
    components[1].owning_team = backend
    components[1].save()
    incident = alert(declare, severity="P1", severity_reason="outage", components=[components[1]])
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    slack = Notification.objects.get(idempotency_key__startswith=f"page:{escalation.pk}:0:")
    assert slack.channel == "slack" and slack.destination == "https://hooks.example/T/B/x"
    assert slack.body.startswith("Nobody could be paged: Nobody holds the Primary On-call role.")
