"""The outbox as pages, subscribers and many channels need it: bare destinations, the sender
registry, skipped channels, permanent errors, circuits per provider, lanes, a lease that runs
from each claim, the task's time limit, and a Message-ID that survives a retry."""

import http.server
import smtplib
import socket
import threading
import time
import urllib.request
from datetime import timedelta
from unittest import mock

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from portal import notifications
from portal.channels import PermanentError, register_sender, sender_for
from portal.channels import email as email_channel
from portal.models import Channel, ChannelCircuit, Lane, Notification
from tests.conftest import race
from tests.portal.conftest import free_port

SENT, FAILED, PENDING, SKIPPED = "sent", "failed", "pending", "skipped"


def test_a_bare_destination_is_mailed_with_a_message_id_from_its_key(db, smtp):
    inbox = smtp()
    rows = notifications.notify(
        key="sub:1",
        reason="subscriber_update",
        destinations=[(Channel.EMAIL, "reader@example.org")],
        subject="Checkout is degraded",
        body="We are investigating.",
    )
    notifications.dispatch_due()
    assert len(rows) == 1 and rows[0].recipient is None and rows[0].lane == Lane.BULK
    row = Notification.objects.get()
    assert row.status == SENT and row.provider == f"smtp://127.0.0.1:{inbox_port(row)}"
    [message] = inbox.messages
    assert message["To"] == "reader@example.org"
    assert message["Message-ID"] == email_channel.message_id("sub:1:email:reader@example.org")


def inbox_port(row) -> str:
    return row.provider.rsplit(":", 1)[1]


def test_a_channel_without_a_sender_is_recorded_as_skipped_and_shown(
    declare, make_user, client, responder
):
    incident = declare()
    pager = make_user("pat", "Responder")
    pager.contact_methods.create(kind="sms", address="+4915112345678", verified_at=timezone.now())
    notifications.notify(
        key="page:1",
        reason="page",
        recipients=[pager],
        channels=[Channel.SMS],
        subject="P1 page",
        topic=f"incident:{incident.pk}",
    )
    notifications.dispatch_due()
    row = Notification.objects.get(channel=Channel.SMS)
    assert row.status == SKIPPED
    assert row.last_error == "No sender is set up for the SMS channel yet."
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "No sender is set up for the SMS channel yet." in page


def test_a_user_without_an_address_is_skipped_with_the_reason(declare, make_user):
    incident = declare()
    nomail = make_user("nomail", "Responder")
    notifications.notify(
        key="x",
        reason="escalation",
        recipients=[nomail],
        subject="s",
        topic=f"incident:{incident.pk}",
    )
    rows = {r.channel: r for r in Notification.objects.all()}
    assert rows[Channel.PORTAL].status == SENT
    assert rows[Channel.EMAIL].status == SKIPPED
    assert rows[Channel.EMAIL].last_error == "nomail has no email address."


def test_unknown_reasons_channels_and_destinations_are_refused(db):
    with pytest.raises(ValueError):
        notifications.notify(key="k", reason="no-such-reason", subject="s")
    with pytest.raises(ValueError):
        notifications.notify(key="k", reason="escalation", channels=["pigeon"], subject="s")
    with pytest.raises(ValueError):
        notifications.notify(
            key="k", reason="escalation", destinations=[(Channel.PORTAL, "x")], subject="s"
        )
    with pytest.raises(ValueError):
        register_sender("pigeon", lambda n: None)
    assert not Notification.objects.exists()


def test_a_permanent_error_fails_the_row_at_once_without_blaming_the_channel(db, smtp):
    smtp()
    notifications.notify(
        key="bad",
        reason="subscriber_update",
        destinations=[(Channel.EMAIL, "not an address")],
        subject="s",
    )
    assert notifications.dispatch_due()["failed"] == 1
    row = Notification.objects.get()
    assert row.status == FAILED and row.attempts == 1
    assert row.last_error.startswith("Permanent: ")
    assert not ChannelCircuit.objects.filter(consecutive_failures__gt=0).exists()


class Webhooks:
    """Local HTTP endpoints standing in for Slack webhooks: one alive, one dead."""

    def __init__(self):
        self.received: list[str] = []
        hooks = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                hooks.received.append(self.path)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.alive = f"http://127.0.0.1:{self.server.server_port}/hooks/alive"
        self.dead = f"http://127.0.0.1:{free_port()}/hooks/dead"  # nothing listens

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def post_webhook(notification) -> None:
    request = urllib.request.Request(notification.destination, data=b"{}", method="POST")
    urllib.request.urlopen(request, timeout=2).close()


def test_one_dead_webhook_does_not_short_circuit_the_others(db, restore_senders):
    hooks = Webhooks()
    register_sender(Channel.SLACK, post_webhook, provider=lambda n: n.destination, timeout=2)
    now = timezone.now()
    try:
        for i in range(notifications.BREAK_AFTER + 1):
            notifications.notify(
                key=f"k{i}",
                reason="escalation",
                destinations=[(Channel.SLACK, hooks.dead), (Channel.SLACK, hooks.alive)],
                subject=f"update {i}",
                now=now,
            )
        counts = notifications.dispatch_due(now)
    finally:
        hooks.close()
    dead = ChannelCircuit.objects.get(provider=hooks.dead)
    assert dead.is_open(now) and dead.consecutive_failures == notifications.BREAK_AFTER
    assert not ChannelCircuit.objects.filter(provider=hooks.alive, open_until__isnull=False)
    assert len(hooks.received) == notifications.BREAK_AFTER + 1  # every live one went out
    assert counts["sent"] == notifications.BREAK_AFTER + 1
    assert counts["retry"] == notifications.BREAK_AFTER and counts["deferred"] == 1


def test_a_burst_of_bulk_mail_never_delays_a_page(db, restore_senders):
    order: list[str] = []

    def record(notification):
        order.append(notification.reason)

    register_sender(Channel.EMAIL, record, timeout=1)
    now = timezone.now()
    for i in range(150):
        notifications.notify(
            key=f"bulk{i}",
            reason="subscriber_update",
            destinations=[(Channel.EMAIL, f"r{i}@example.org")],
            subject="s",
            now=now - timedelta(minutes=5),
        )
    notifications.notify(
        key="notice", reason="escalation",
        destinations=[(Channel.EMAIL, "m@example.org")], subject="s", now=now,
    )  # fmt: skip
    notifications.notify(
        key="page", reason="page", destinations=[(Channel.EMAIL, "oncall@example.org")],
        subject="P1", now=now,
    )  # fmt: skip
    order.clear()  # delivered eagerly on commit in unit tests; dispatch from the table
    Notification.objects.update(status=PENDING, attempts=0)
    notifications.dispatch_due(now)
    assert order[:2] == ["page", "escalation"]
    assert notifications.lane_queue(Lane.PAGE) == "pages"
    assert notifications.lane_queue(Lane.BULK) == "bulk"


def test_the_dispatch_stops_at_its_time_budget(db, restore_senders):
    register_sender(Channel.EMAIL, lambda n: time.sleep(0.05), timeout=1)
    now = timezone.now()
    for i in range(30):
        Notification.objects.create(
            idempotency_key=f"k{i}", reason="subscriber_update", channel=Channel.EMAIL,
            destination=f"r{i}@example.org", subject="s", next_attempt_at=now,
        )  # fmt: skip
    counts = notifications.dispatch_due(now, budget=0.2)
    assert 2 <= counts["sent"] <= 8
    assert Notification.objects.filter(status=PENDING).count() == 30 - counts["sent"]


def test_a_soft_time_limit_gives_the_row_back_uncounted(db, restore_senders):
    def too_slow(notification):
        raise SoftTimeLimitExceeded()

    register_sender(Channel.EMAIL, too_slow, timeout=1)
    row = Notification.objects.create(
        idempotency_key="k", reason="escalation", channel=Channel.EMAIL,
        destination="m@example.org", subject="s",
    )  # fmt: skip
    with pytest.raises(SoftTimeLimitExceeded):
        notifications.deliver(row.pk)
    row.refresh_from_db()
    assert row.status == PENDING and row.attempts == 0 and row.claimed_at is None
    assert not ChannelCircuit.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_failure_counts_are_atomic(restore_senders):
    barrier = threading.Barrier(2)

    def failing(notification):
        barrier.wait(timeout=5)  # both attempts fail at the same moment
        raise ConnectionRefusedError("relay down")

    register_sender(Channel.EMAIL, failing, provider=lambda n: "relay", timeout=1)
    rows = [
        Notification.objects.create(
            idempotency_key=f"k{i}", reason="escalation", channel=Channel.EMAIL,
            destination="m@example.org", subject="s",
        )
        for i in range(2)
    ]  # fmt: skip
    now = timezone.now()
    outcomes = race(*(lambda pk=r.pk: notifications.deliver(pk, now) for r in rows))
    assert outcomes == ["retry", "retry"]
    assert ChannelCircuit.objects.get(provider="relay").consecutive_failures == 2


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_slow_mail_server_and_two_dispatchers_send_nothing_twice(
    smtp, restore_senders, monkeypatch
):
    # Each message stalls the server 0.3 s; the lease (1 s) is shorter than a batch of eight
    # (2.4 s) but longer than any one send: claims must be stamped when taken.
    inbox = smtp(stall=0.3)
    sender = sender_for(Channel.EMAIL)
    register_sender(Channel.EMAIL, sender.send, provider=sender.provider, timeout=0.5)
    monkeypatch.setattr(notifications, "MIN_LEASE", timedelta(seconds=1))
    now = timezone.now()
    for i in range(8):
        Notification.objects.create(
            idempotency_key=f"slow{i}", reason="escalation", channel=Channel.EMAIL,
            destination=f"r{i}@example.org", subject=f"s{i}", next_attempt_at=now,
        )  # fmt: skip

    def late_dispatch():
        time.sleep(1.2)  # the second beat's dispatch starts while the first is mid-batch
        return notifications.dispatch_due()

    results = race(lambda: notifications.dispatch_due(), late_dispatch)
    assert all(isinstance(r, dict) for r in results), results
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 8 and len(set(ids)) == 8, sorted(ids)
    assert set(Notification.objects.values_list("status", flat=True)) == {SENT}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_retry_after_a_crash_carries_the_same_message_id(smtp):
    inbox = smtp()
    notifications.notify(
        key="crash", reason="subscriber_update",
        destinations=[(Channel.EMAIL, "reader@example.org")], subject="s",
    )  # fmt: skip
    notifications.dispatch_due()
    row = Notification.objects.get()
    assert row.status == SENT and len(inbox.messages) == 1
    # The worker died after the server accepted it, before marking it sent: the row is left
    # claimed; after the lease the dispatch sends it again.
    claimed = timezone.now() - notifications.lease() - timedelta(seconds=1)
    Notification.objects.filter(pk=row.pk).update(status="sending", claimed_at=claimed)
    assert notifications.dispatch_due()["sent"] == 1
    first, second = inbox.messages
    assert (
        first["Message-ID"] == second["Message-ID"] == email_channel.message_id(row.idempotency_key)
    )


def test_sms_skipped_reason_names_who_has_no_phone(db, make_user):
    person = make_user("nophone", "Responder")
    notifications.notify(
        key="p", reason="page", recipients=[person], channels=[Channel.SMS], subject="s"
    )
    row = Notification.objects.get()
    assert row.status == SKIPPED and "has no verified number for SMS" in row.last_error


def test_permanent_error_class_is_what_senders_raise(db, restore_senders):
    def refuse(notification):
        raise PermanentError("no such number")

    register_sender(Channel.SMS, refuse, timeout=1)
    row = Notification.objects.create(
        idempotency_key="k", reason="page", channel=Channel.SMS, destination="+100", subject="s",
        lane=Lane.PAGE,
    )  # fmt: skip
    assert notifications.deliver(row.pk) == "failed"
    row.refresh_from_db()
    assert row.status == FAILED and "no such number" in row.last_error


def test_the_admin_lists_rows_to_people_and_to_bare_destinations(db, client, admin_user, make_user):
    person = make_user("pat", "Responder")
    notifications.notify(
        key="a", reason="escalation", recipients=[person], channels=[Channel.PORTAL], subject="s1"
    )
    Notification.objects.create(
        idempotency_key="b", reason="subscriber_update", channel=Channel.EMAIL,
        destination="reader@example.org", subject="s2", lane=Lane.BULK,
    )  # fmt: skip
    client.force_login(admin_user)
    page = client.get("/admin/portal/notification/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "reader@example.org" in html and "Pat" in html


def test_a_worker_sends_many_emails_over_one_connection_and_replaces_a_closed_one(db, smtp):
    """A fan-out's thousands of emails do not each open a connection to the relay; a
    connection the relay closed meanwhile is replaced at once, and nothing is lost."""
    inbox = smtp()
    sessions = []
    original = smtplib.SMTP.connect

    def counting_connect(self, *args, **kwargs):
        sessions.append(args)
        return original(self, *args, **kwargs)

    email_channel.forget_connection()
    with mock.patch.object(smtplib.SMTP, "connect", counting_connect):
        for n in range(5):
            notifications.notify(
                key=f"reuse:{n}",
                reason="subscriber_update",
                destinations=[(Channel.EMAIL, f"r{n}@example.org")],
                subject=f"Update {n}",
            )
        notifications.dispatch_due()
        assert len(inbox.messages) == 5 and len(sessions) == 1
        # The relay drops the idle connection: the next send reconnects and goes through.
        email_channel._held.connection[1].connection.sock.shutdown(socket.SHUT_RDWR)
        notifications.notify(
            key="reuse:after",
            reason="subscriber_update",
            destinations=[(Channel.EMAIL, "late@example.org")],
            subject="After the drop",
        )
        notifications.dispatch_due()
    assert len(inbox.messages) == 6 and len(sessions) == 2
    assert Notification.objects.filter(status="sent").count() == 6
    email_channel.forget_connection()
