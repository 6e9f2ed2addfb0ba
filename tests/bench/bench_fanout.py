"""Subscriber fan-out (issue 14): 10,000 email subscribers and one public update, real Celery
workers and beat, a local SMTP server; a P1 page raised during the fan-out.

    .venv/bin/python tests/bench/bench_fanout.py [--subscribers 10000] [--bulk-concurrency 2]

It uses DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/portal_bench_fanout
(created if missing; its name must contain "bench": the run wipes incidents, subscribers and
the outbox). REDIS_URL, if set, is the broker (else the filesystem broker under var/).

The production layout: one worker serves the bulk lane, another the timers, pages and staff
notices. Printed: the time until every outbox row is written, until every email is handed
to the SMTP server, and how long the page took from being raised to reaching the server
(target: within 5 s, however busy the bulk lane is).
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tests.bench.bench_escalation import check_database  # noqa: E402

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_fanout"
PAGE_SUBJECT = "BENCH PAGE: checkout down"


class Inbox:
    def __init__(self):
        self.arrivals: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        subject = ""
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.startswith("Subject:"):
                subject = line[8:].strip()
                break
        with self.lock:
            self.arrivals.append((time.time(), subject, envelope.rcpt_tos[0]))
        return "250 OK"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--bulk-concurrency", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--one-worker",
        action="store_true",
        help="one worker for every queue (make run's layout) instead of a bulk worker apart",
    )
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    check_database(url)
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    tag = uuid.uuid4().hex[:6]
    queues = {
        "CELERY_TIMERS_QUEUE": f"bench-timers-{tag}",
        "CELERY_PAGES_QUEUE": f"bench-pages-{tag}",
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-notices-{tag}",
        "CELERY_BULK_QUEUE": f"bench-bulk-{tag}",
    }
    os.environ.update(
        queues,
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="portal.settings",
        TIMER_SWEEP_SECONDS="1",
        EMAIL_URL=f"smtp://127.0.0.1:{port}",
    )
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from incidents.models import Incident, Subscriber, SubscriberNotice
    from incidents.services import incident_declare
    from portal import notifications, roles
    from portal.models import Channel, Notification, Timer

    call_command("migrate", interactive=False, verbosity=0)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {Incident._meta.db_table} CASCADE")
        else:
            Incident.objects.all().delete()
        for model in (SubscriberNotice, Subscriber, Notification, Timer):
            model.objects.all().delete()
        User = get_user_model()
        User.objects.filter(username__startswith="bench-").delete()
        oncall = User.objects.create(username="bench-oncall", email="oncall@example.org")
        Group.objects.get(name=roles.RESPONDER).user_set.add(oncall)
        now = timezone.now()
        Subscriber.objects.bulk_create(
            (
                Subscriber(
                    kind="email",
                    email=f"reader{n}@example.org",
                    state="active",
                    confirmed_at=now,
                    token=f"bench-{n}",
                )
                for n in range(args.subscribers)
            ),
            batch_size=2000,
        )
    tmp = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = open(tmp / "celery.log", "w")  # noqa: SIM115 (closed with the processes)
    base = [sys.executable, "-m", "celery", "-A", "portal"]
    urgent = ",".join(
        queues[k]
        for k in ("CELERY_TIMERS_QUEUE", "CELERY_PAGES_QUEUE", "CELERY_TASK_DEFAULT_QUEUE")
    )

    def worker(name: str, concurrency: int, serving: str) -> subprocess.Popen:
        return subprocess.Popen(
            [*base, "worker", f"--concurrency={concurrency}", f"--queues={serving}",
             "--loglevel=WARNING", f"--hostname={name}-{tag}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    if args.one_worker:
        workers = [worker("all", args.bulk_concurrency, ",".join(queues.values()))]
        layout = f"one worker (concurrency {args.bulk_concurrency}) for every queue"
    else:
        workers = [
            worker("bulk", args.bulk_concurrency, queues["CELERY_BULK_QUEUE"]),
            worker("urgent", 1, urgent),
        ]
        layout = (
            f"bulk worker concurrency {args.bulk_concurrency}, one worker for pages and notices"
        )
    processes = [
        *workers,
        subprocess.Popen(
            [*base, "beat", "--loglevel=WARNING", f"--schedule={tmp / 'beat-schedule'}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ),
    ]  # fmt: skip
    broker = "redis" if os.environ.get("REDIS_URL") else "filesystem"
    print(
        f"{args.subscribers} subscribers; database {urlsplit(url).scheme}, broker {broker}; "
        f"{layout}."
    )
    try:
        time.sleep(6)  # the workers and beat start
        started = time.time()
        incident = incident_declare(
            actor=oncall, title="Checkout down", summary="Bench", type="availability",
            subtype="availability.partial_degradation", severity="P1", severity_reason="bench",
            detected_at=timezone.now(), symptom="complete_outage", users_affected_percent=100,
        )  # fmt: skip
        assert Incident.objects.get(pk=incident.pk).is_public
        notice = None
        written_at = page_raised = None
        page_done = threading.Event()
        deadline = started + args.timeout
        while time.time() < deadline:
            notice = notice or SubscriberNotice.objects.filter(incident=incident).first()
            rows = Notification.objects.filter(topic=notice.topic).count() if notice else 0
            if written_at is None and rows >= args.subscribers:
                written_at = time.time()
            sent = sum(1 for _, s, _ in inbox.arrivals if s != PAGE_SUBJECT)
            if page_raised is None and sent >= min(500, args.subscribers // 4):
                page_raised = time.time()
                with transaction.atomic():
                    notifications.notify(
                        key=f"bench-page:{tag}", reason="page", recipients=[oncall],
                        channels=[Channel.EMAIL], subject=PAGE_SUBJECT,
                        body="The bench's page, raised during the fan-out.",
                    )  # fmt: skip
                backlog_at_page = args.subscribers - sent
            if any(s == PAGE_SUBJECT for _, s, _ in inbox.arrivals):
                page_done.set()
            if sent >= args.subscribers and page_done.is_set():
                break
            time.sleep(0.2)
        finished = time.time()
    finally:
        for proc in processes:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        smtp.stop()
    arrivals = [(t, s, to) for t, s, to in inbox.arrivals if s != PAGE_SUBJECT]
    recipients = {to for _, _, to in arrivals}
    page_arrival = next((t for t, s, _ in inbox.arrivals if s == PAGE_SUBJECT), None)
    print(f"Outbox rows written:      {written_at - started:6.1f} s" if written_at else
          "Outbox rows written:      not all")  # fmt: skip
    last = max((t for t, _, _ in arrivals), default=finished)
    print(
        f"All emails at the server: {last - started:6.1f} s "
        f"({len(arrivals)} emails, {len(recipients)} recipients, "
        f"{len(arrivals) / max(last - started, 0.001):.0f}/s)"
    )
    if page_raised and page_arrival:
        print(
            f"P1 page raised with {backlog_at_page} subscriber emails still to send; reached "
            f"the server {page_arrival - page_raised:.2f} s later (target 5 s)."
        )
    else:
        print("The page did not arrive.")
    print(f"Logs: {tmp / 'celery.log'}")
    return 0 if len(recipients) == args.subscribers and page_arrival else 1


if __name__ == "__main__":
    sys.exit(main())
