"""Timers under lock contention, the hook registry, system actions as services, and the
notices that go with roles and breaches."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from incidents import services
from incidents.models import Incident, Status
from incidents.services import escalation_triggers, update_reminders
from incidents.services import triage as triage_services
from portal import hooks, timers
from portal.models import Notification, Timer

CALLS: list[int] = []


@timers.register("tests.busy")
def _busy(timer, now):
    CALLS.append(timer.object_id)
    raise timers.Busy("locked")


def test_a_busy_object_leaves_its_timer_due_without_using_an_attempt(db):
    now = timezone.now()
    timer = timers.schedule("tests.busy", 1, now - timedelta(seconds=1))
    counts = timers.sweep(now)
    assert counts["busy"] == 1 and counts["retry"] == 0
    timer.refresh_from_db()
    assert timer.state == Timer.State.PENDING
    assert timer.attempts == 0 and timer.last_error == ""
    assert timer.due_at == now - timedelta(seconds=1)  # still due: the next sweep tries again
    timers.sweep(now)
    assert CALLS.count(1) == 2


@pytest.mark.django_db(transaction=True)
def test_a_breach_timer_waits_while_a_person_holds_the_incident(declare):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (CI runs it)")
    incident = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    holding, release = threading.Event(), threading.Event()

    def hold():
        try:
            with transaction.atomic():
                Incident.objects.select_for_update().get(pk=incident.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(10)
        counts = timers.sweep()
    finally:
        release.set()
        holder.join()
    assert counts["busy"] == 1
    timer = Timer.objects.get(kind=triage_services.RESPONSE_TIMER, object_id=incident.pk)
    assert timer.state == Timer.State.PENDING and timer.attempts == 0
    assert not incident.events.filter(kind="response_breached").exists()
    timers.sweep()  # the person is done: now it fires
    assert incident.events.filter(kind="response_breached").count() == 1


# --- hooks ---------------------------------------------------------------------------------


@pytest.fixture
def handler():
    connected = []

    def connect(name, fn):
        hooks.connect(name)(fn)
        connected.append((name, fn))
        return fn

    yield connect
    for name, fn in connected:
        hooks.disconnect(name, fn)


def resolve(incident, responder):
    for item in incident.checklists.get(kind="resolution").items.filter(is_verification=True):
        services.checklist_item_set(actor=responder, item=item, done=True)
    services.incident_change_status(
        actor=responder, incident=incident, to=Status.MONITORING, note="Rollback applied"
    )
    return services.incident_change_status(
        actor=responder,
        incident=incident,
        to=Status.RESOLVED,
        note="Rolled back",
        resolution=services.ResolutionNotice(confirmed=True, explanation="A bad deploy."),
    )


def test_incident_resolved_runs_its_handlers_inside_the_transaction(declare, responder, handler):
    seen = []

    def on_resolved(*, incident, actor, at):
        assert connection.in_atomic_block
        seen.append((incident.pk, incident.status, actor))
        timers.schedule("tests.busy", incident.pk, at + timedelta(days=5))  # e.g. a due date

    handler(hooks.INCIDENT_RESOLVED, on_resolved)
    incident = declare()
    resolve(incident, responder)
    assert seen == [(incident.pk, Status.RESOLVED, responder)]
    assert Timer.objects.filter(kind="tests.busy", object_id=incident.pk).exists()


def test_a_failing_handler_refuses_the_change(declare, responder, handler):
    def broken(**kwargs):
        raise RuntimeError("draft could not be written")

    handler(hooks.INCIDENT_RESOLVED, broken)
    incident = declare()
    events = incident.events.count()
    with pytest.raises(RuntimeError):
        resolve(incident, responder)
    incident.refresh_from_db()
    assert incident.status == Status.MONITORING
    assert incident.events.filter(kind="status_changed").count() == 1  # to Monitoring only
    assert not Incident.objects.filter(pk=incident.pk, resolved_at__isnull=False).exists()
    assert incident.events.count() > events


def test_closed_and_public_state_hooks_fire(declare, responder, handler):
    fired = []
    handler(hooks.INCIDENT_CLOSED, lambda **kw: fired.append("closed"))
    handler(hooks.PUBLIC_STATE_CHANGED, lambda **kw: fired.append(kw["cause"]))
    incident = declare(severity="P3", severity_reason="small")
    services.status_update_post(
        actor=responder,
        incident=incident,
        impact="Slow",
        actions="Looking",
        audience="public",
        public_body="Pages are slow.",
    )
    services.status_update_post(
        actor=responder, incident=incident, impact="Slow", actions="Still", audience="internal"
    )
    resolve(incident, responder)
    services.incident_change_status(
        actor=responder, incident=incident, to=Status.CLOSED, note="Done", followup="none"
    )
    assert fired == ["status_update", "status", "status", "closed", "status"]


@pytest.mark.django_db(transaction=True)
def test_hooks_refuse_unknown_names_and_firing_outside_a_transaction():
    with pytest.raises(ValueError):
        hooks.connect("incident exploded")
    with pytest.raises(RuntimeError):
        hooks.fire(hooks.PAGE_ACKNOWLEDGED, page=None)


# --- system actions are services -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_system_actions_run_from_a_shell_without_a_caller_transaction(declare, responder):
    responder.email = "rita@example.org"
    responder.save()
    incident = declare(severity="P1", severity_reason="checkout")
    assert not connection.in_atomic_block
    due = incident.next_update_due_at
    send = update_reminders.update_reminder_send
    assert send(incident_id=incident.pk, overdue=True, now=due) is True
    assert incident.events.filter(kind="update_overdue", actor__isnull=True).count() == 1
    assert send(incident_id=incident.pk, overdue=True, now=due) is False
    assert escalation_triggers.escalation_fire_on_time(
        incident_id=incident.pk, kind="unresolved_30m", now=timezone.now()
    )
    triage = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    assert triage_services.incident_record_response_breach(incident_id=triage.pk) is True
    assert triage.events.filter(kind="response_breached", actor__isnull=True).count() == 1


def test_a_breach_tells_the_managers_and_the_commander(declare, manager, make_user):
    manager.email = "manny@example.org"
    manager.save()
    triage = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    timers.sweep()
    told = set(
        Notification.objects.filter(reason="response_breach").values_list(
            "recipient__username", "channel"
        )
    )
    assert ("manny", "portal") in told and ("manny", "email") in told
    assert ("rita", "portal") in told  # the declarer commands it
    assert triage.events.filter(kind="response_breached").count() == 1


def test_a_person_given_a_role_is_told(declare, responder, make_user):
    cleo = make_user("cleo", "Responder")
    cleo.email = "cleo@example.org"
    cleo.save()
    incident = declare()
    services.role_assign(actor=responder, incident=incident, role="technical_lead", user=cleo)
    rows = Notification.objects.filter(reason="role_assigned")
    assert {(n.recipient.username, n.channel) for n in rows} == {
        ("cleo", "portal"),
        ("cleo", "email"),
    }
    assert rows.first().subject == f"{incident.reference}: you are now Technical Lead"
    # Taking a role yourself tells nobody.
    services.role_assign(actor=responder, incident=incident, role="scribe", user=responder)
    assert rows.count() == 2


def test_the_commander_named_at_declaration_is_told(declare, make_user):
    cleo = make_user("cleo", "Responder")
    declare(commander=cleo)
    assert Notification.objects.filter(
        reason="role_assigned", recipient=cleo, channel="portal"
    ).exists()
