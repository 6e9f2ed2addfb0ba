"""Status-update reminders, escalation triggers and the notification outbox, driven through the
real timer sweep (Celery is not needed to prove the rules; test_smtp_worker does the wire)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from incidents import services
from incidents.models import EscalationTrigger, Status
from portal import notifications, roles, timers
from portal.models import Notification
from tests.conftest import race

PORTAL, EMAIL = Notification.Channel.PORTAL, Notification.Channel.EMAIL


@pytest.fixture
def p1(declare, responder):
    responder.email = "rita@example.org"
    responder.save()
    return declare(severity="P1", severity_reason="All of checkout", now=timezone.now())


def notices(reason):
    return Notification.objects.filter(reason=reason)


def test_reminder_goes_to_the_commander_when_there_is_no_communications_coordinator(p1):
    due = p1.next_update_due_at
    timers.sweep(due - timedelta(minutes=5))
    soon = notices("update_due_soon")
    assert {(n.recipient.username, n.channel) for n in soon} == {("rita", PORTAL), ("rita", EMAIL)}
    assert "due soon" in soon.first().subject
    assert not notices("update_overdue").exists()

    timers.sweep(due + timedelta(seconds=1))
    overdue = notices("update_overdue")
    assert overdue.count() == 2
    assert p1.events.filter(kind="update_overdue").count() == 1


def test_reminder_goes_to_the_communications_coordinator(p1, responder, make_user):
    cleo = make_user("cleo", "Responder")
    cleo.email = "cleo@example.org"
    cleo.save()
    services.role_assign(actor=responder, incident=p1, role="communications", user=cleo)
    timers.sweep(p1.next_update_due_at)
    assert set(notices("update_overdue").values_list("recipient__username", flat=True)) == {"cleo"}


def test_posting_an_update_reschedules_and_no_reminder_for_the_old_due_time(p1, responder):
    old_due = p1.next_update_due_at
    now = old_due - timedelta(minutes=10)
    services.status_update_post(
        actor=responder, incident=p1, impact="Checkout down", actions="Rolling back", now=now
    )
    timers.sweep(old_due + timedelta(seconds=1))
    assert not Notification.objects.exists()
    p1.refresh_from_db()
    assert p1.next_update_due_at == now + timedelta(minutes=30)


def test_reminders_never_sent_twice_for_the_same_due_time(p1):
    due = p1.next_update_due_at
    timers.sweep(due)
    # Whatever re-runs the reminder for this due time (a retried timer, a second beat),
    # the idempotency key holds.
    from incidents.services import update_reminders

    update_reminders.update_reminder_send(incident_id=p1.pk, overdue=True, now=due)
    update_reminders.update_reminder_send(incident_id=p1.pk, overdue=False, now=due)
    assert notices("update_overdue").count() == 2  # one portal + one email
    assert notices("update_due_soon").count() == 2
    assert p1.events.filter(kind="update_overdue").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_reminder_once(declare, make_user):
    rita = make_user("rita2", roles.RESPONDER)
    rita.email = "rita2@example.org"
    rita.save()
    incidents = [
        declare(actor=rita, severity="P1", severity_reason="x", title=f"I{i}") for i in range(5)
    ]
    due = max(i.next_update_due_at for i in incidents)
    race(*[lambda: timers.sweep(due + timedelta(seconds=1))] * 2)
    # 5 incidents x (soon + overdue) x (portal + email)
    assert Notification.objects.count() == 20
    for incident in incidents:
        assert incident.events.filter(kind="update_overdue").count() == 1


def test_outbox_sends_email_once_and_survives_a_worker_dying_between_claim_and_send(p1, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    timers.sweep(p1.next_update_due_at)
    email = notices("update_overdue").get(channel=EMAIL)
    # A worker claimed it and died before sending: the row is stuck in "sending".
    claimed_at = timezone.now()
    Notification.objects.filter(pk=email.pk).update(status="sending", claimed_at=claimed_at)
    assert notifications.deliver(email.pk, now=claimed_at) == "busy"  # not while leased
    assert mail.outbox == []
    later = claimed_at + notifications.lease() + timedelta(seconds=1)
    assert notifications.dispatch_due(later)["sent"] >= 1
    assert notifications.dispatch_due(later)["sent"] == 0
    sent = [m for m in mail.outbox if "overdue" in m.subject]
    assert len(sent) == 1 and sent[0].to == ["rita@example.org"]
    assert p1.reference in sent[0].body and p1.get_absolute_url() in sent[0].body
    email.refresh_from_db()
    assert email.status == "sent" and email.attempts == 1


def test_failed_delivery_retries_with_backoff_then_shows_on_the_incident(
    p1, settings, client, responder
):
    settings.EMAIL_BACKEND = "tests.incidents.test_reminders.BrokenBackend"
    timers.sweep(p1.next_update_due_at)
    email = notices("update_overdue").get(channel=EMAIL)
    now = p1.next_update_due_at
    assert notifications.deliver(email.pk, now=now) == "retry"
    email.refresh_from_db()
    assert email.status == "pending" and email.attempts == 1
    assert "SMTP server refused" in email.last_error
    assert email.next_attempt_at == now + timedelta(seconds=30)
    assert notifications.deliver(email.pk, now=now) == "busy"  # backing off
    Notification.objects.filter(pk=email.pk).update(attempts=notifications.MAX_ATTEMPTS - 1)
    assert notifications.deliver(email.pk, now=now + timedelta(hours=2)) == "failed"
    client.force_login(responder)
    page = client.get(p1.get_absolute_url()).content.decode()
    assert "Notifications not delivered" in page and "SMTP server refused" in page


class BrokenBackend(BaseEmailBackend):
    """A mail relay that refuses connections while `broken` (the outside world, stubbed
    behind Django's mail backend API)."""

    broken = True
    sent: list = []

    def send_messages(self, messages):
        if BrokenBackend.broken:
            raise ConnectionRefusedError("SMTP server refused the connection")
        BrokenBackend.sent.extend(messages)
        return len(messages)


def test_bell_shows_unread_in_portal_notices(p1, client, responder):
    timers.sweep(p1.next_update_due_at)
    client.force_login(responder)
    page = client.get("/").content.decode()
    assert 'data-testid="unread">2<' in page  # due soon + overdue
    inbox = client.get("/notifications/").content.decode()
    assert "status update overdue" in inbox
    client.post("/notifications/read/")
    assert 'data-testid="unread"' not in client.get("/").content.decode()


# --- escalation triggers ---------------------------------------------------------------------


@pytest.fixture
def managers(make_user):
    boss = make_user("boss", roles.MANAGER)
    boss.email = "boss@example.org"
    boss.save()
    return [boss]


def triggers(incident):
    return set(EscalationTrigger.objects.filter(incident=incident).values_list("kind", flat=True))


def test_unresolved_p1_p2_after_30_minutes(declare, managers):
    t0 = timezone.now()
    p2 = declare(now=t0)
    p3 = declare(now=t0, severity="P3", severity_reason="small")
    timers.sweep(t0 + timedelta(minutes=29))
    assert triggers(p2) == set()
    timers.sweep(t0 + timedelta(minutes=30, seconds=1))
    assert triggers(p2) == {"unresolved_30m"} and triggers(p3) == set()
    sent = Notification.objects.filter(reason="escalation", recipient=managers[0])
    assert set(sent.values_list("channel", flat=True)) == {PORTAL, EMAIL}
    assert "Incident unresolved after 30 minutes" in sent.first().subject


def test_root_cause_unknown_after_the_window(declare, responder, managers, settings):
    settings.ESCALATION_ROOT_CAUSE_MINUTES = 20
    t0 = timezone.now()
    unknown = declare(now=t0, severity="P1", severity_reason="x")
    known = declare(now=t0, severity="P1", severity_reason="x")
    services.incident_change_status(
        actor=responder, incident=known, to=Status.IDENTIFIED, note="Bad config"
    )
    timers.sweep(t0 + timedelta(minutes=21))
    assert triggers(unknown) == {"root_cause_unknown"}
    assert triggers(known) == set()


def test_multiple_components_and_security_fire_at_once_and_only_once(
    declare, responder, components, managers
):
    incident = declare(components=components[:1])
    assert triggers(incident) == set()
    services.incident_update(
        actor=responder, incident=incident, expected_version=1, components=components[:3]
    )
    assert triggers(incident) == {"multiple_components"}
    incident.refresh_from_db()
    services.incident_update(
        actor=responder,
        incident=incident,
        expected_version=incident.version,
        components=components[:2],
    )
    assert EscalationTrigger.objects.filter(incident=incident).count() == 1
    assert incident.events.filter(kind="escalation_triggered").count() == 1

    breach = declare(
        type="security",
        subtype="security.unauthorized_access",
        severity="P2",
        security_implications=True,
    )
    privacy = declare(type="data", subtype="data.data_exposure", severity="P2", data_risk=True)
    assert triggers(breach) == {"security_privacy"}
    assert triggers(privacy) == {"security_privacy"}
    assert Notification.objects.filter(reason="escalation").count() == 3 * 2


def test_triggers_fire_once_even_when_their_timers_run_again(declare, managers):
    t0 = timezone.now()
    incident = declare(now=t0)
    from incidents.services import escalation_triggers

    for _ in range(3):
        escalation_triggers.escalation_fire_on_time(
            incident_id=incident.pk, kind="unresolved_30m", now=t0 + timedelta(hours=1)
        )
    assert incident.events.filter(kind="escalation_triggered").count() == 1
    assert Notification.objects.filter(reason="escalation").count() == 2


def test_a_channel_that_keeps_failing_is_short_circuited_and_shown(
    declare, make_user, settings, client, responder
):
    from portal.models import ChannelCircuit

    settings.EMAIL_BACKEND = "tests.incidents.test_reminders.BrokenBackend"
    people = []
    for i in range(notifications.BREAK_AFTER + 2):
        person = make_user(f"p{i}", roles.RESPONDER)
        person.email = f"p{i}@example.org"
        person.save()
        people.append(person)
    incident = declare()
    now = timezone.now()
    rows = notifications.notify(
        key="test-breaker",
        reason="escalation",
        recipients=people,
        channels=[EMAIL],
        subject="Hello",
        topic=f"incident:{incident.pk}",
        now=now,
    )
    outcomes = [notifications.deliver(row.pk, now=now) for row in rows]
    # Five real attempts fail, then the channel is open: the rest wait without an attempt.
    assert outcomes == ["retry"] * notifications.BREAK_AFTER + ["deferred"] * 2
    circuit = ChannelCircuit.objects.get(channel=EMAIL)
    assert circuit.open_until == now + notifications.BREAK_FOR
    deferred = Notification.objects.get(pk=rows[-1].pk)
    assert deferred.attempts == 0 and deferred.next_attempt_at == circuit.open_until
    assert "short-circuited" in deferred.last_error
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert 'data-testid="circuit"' in page and "Email via test_reminders is short-circuited" in page
    # When it closes, one success resets it.
    BrokenBackend.broken = False
    try:
        later = circuit.open_until + timedelta(seconds=1)
        assert notifications.deliver(rows[-1].pk, now=later) == "sent"
    finally:
        BrokenBackend.broken = True
    circuit.refresh_from_db()
    assert circuit.consecutive_failures == 0 and circuit.open_until is None
