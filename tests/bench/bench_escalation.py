"""Escalation timeliness (issue 11): 200 concurrent P1s, three steps each with 10 s waits, a
1 s sweep, real Celery worker and beat processes, SMS to a local HTTP provider.

    .venv/bin/python tests/bench/bench_escalation.py [--incidents 200] [--concurrency 2]

It uses DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/portal_bench_escalation
(created if missing); its name must contain "bench" (the run wipes incidents, escalations and
the outbox). REDIS_URL, if set, is the broker (else the filesystem broker under var/).

Each incident's component is owned by its own team, whose escalation-matrix row names three
one-person schedules (600 people with verified numbers), so the per-contact limit of one SMS a
minute never holds a page back: the figures measure the engine, not the throttle. The default
policy is replaced by three steps (first, second and third responder) of 5 policy minutes,
with ESCALATION_SECONDS_PER_MINUTE=2: 10 s waits. The worker serves the timers, pages and
notices queues; beat sweeps every second.

Printed: for every SMS, its lateness from its step's due time to its arrival at the provider
(p50, p99, max; target p99 at most 5 s), and the outbox rows and provider requests per
(incident, step, target, channel), which must be exactly 1.
"""

import argparse
import http.server
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_escalation"
TARGET_P99 = 5.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--incidents", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait")
    args = parser.parse_args(argv)
    if not 1 <= args.incidents <= 2000 or not 1 <= args.concurrency <= 16:
        parser.error("--incidents 1-2000, --concurrency 1-16")
    return args


def check_database(url: str) -> None:
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if "bench" not in Path(name).name:
        sys.exit(f"Refusing to use {name!r}: its name must contain 'bench' (the run wipes it).")
    if parts.scheme.startswith("sqlite"):
        return
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    admin = make_conninfo(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        dbname="postgres",
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created database {name}.")


class Provider:
    """The SMS provider: records each request's arrival time and idempotency key."""

    def __init__(self):
        self.requests: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                arrived = time.time()
                with outer.lock:
                    outer.requests.append(
                        (arrived, self.headers.get("Idempotency-Key", ""), json.loads(body)["to"])
                    )
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"queued")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def setup_django(url: str, provider_url: str) -> None:
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="portal.settings",
        ESCALATION_SECONDS_PER_MINUTE="2",
        TIMER_SWEEP_SECONDS="1",
        SMS_PROVIDER_URL=provider_url,
    )
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def wipe_and_seed(n: int) -> list:
    """n teams, each with a component and three one-person schedules in the matrix; a
    policy whose P1 route pages them in turn."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction
    from django.utils import timezone

    from incidents.models import Component, Incident
    from portal import roles
    from portal.models import (
        ContactMethod,
        ContactThrottle,
        Escalation,
        EscalationPolicy,
        EscalationRoute,
        EscalationStep,
        MatrixEntry,
        Notification,
        OnCallSchedule,
        Profile,
        RotationMember,
        ScheduleRotation,
        StepTarget,
        Team,
        Timer,
    )

    User = get_user_model()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    f"TRUNCATE {connection.ops.quote_name(Incident._meta.db_table)} CASCADE"
                )
        else:
            Incident.objects.all().delete()
        for model in (Notification, Escalation, Timer, ContactThrottle, MatrixEntry, Component):
            model.objects.all().delete()
        ScheduleRotation.objects.filter(schedule__slug__startswith="bench-").delete()
        OnCallSchedule.objects.filter(slug__startswith="bench-").delete()
        Team.objects.filter(slug__startswith="bench-").delete()
        User.objects.filter(username__startswith="bench-").delete()
        EscalationPolicy.objects.all().delete()

        responder = Group.objects.get(name=roles.RESPONDER)
        people = User.objects.bulk_create(
            User(username=f"bench-{i}", email=f"bench-{i}@example.org") for i in range(3 * n)
        )
        people = list(User.objects.filter(username__startswith="bench-").order_by("id"))
        responder.user_set.add(*people)
        Profile.objects.bulk_create(Profile(user=u, display_name=u.username) for u in people)
        now = timezone.now()
        ContactMethod.objects.bulk_create(
            ContactMethod(user=u, kind="sms", address=f"+4915{u.pk:09d}", verified_at=now)
            for u in people
        )
        teams = Team.objects.bulk_create(
            Team(name=f"Bench team {i}", slug=f"bench-{i}") for i in range(n)
        )
        schedules = OnCallSchedule.objects.bulk_create(
            OnCallSchedule(name=f"Bench {i}", slug=f"bench-{i}") for i in range(3 * n)
        )
        rotations = ScheduleRotation.objects.bulk_create(
            ScheduleRotation(schedule=s, name="Weekly", start=date(2026, 1, 5)) for s in schedules
        )
        RotationMember.objects.bulk_create(
            RotationMember(rotation=r, user=u, position=0)
            for r, u in zip(rotations, people, strict=True)
        )
        MatrixEntry.objects.bulk_create(
            MatrixEntry(
                label=t.name,
                team=t,
                first=schedules[3 * i],
                second=schedules[3 * i + 1],
                third=schedules[3 * i + 2],
            )
            for i, t in enumerate(teams)
        )
        components = Component.objects.bulk_create(
            Component(name=f"Bench component {i}", owning_team=t) for i, t in enumerate(teams)
        )
        policy = EscalationPolicy.objects.create(
            name="Bench", slug="bench", is_default=True, working_start="00:00",
            working_end="23:59:59",
        )  # fmt: skip
        for window in ("working", "after_hours"):
            route = EscalationRoute.objects.create(policy=policy, severity="P1", window=window)
            for position, kind in enumerate(("responder_1", "responder_2", "responder_3")):
                step = EscalationStep.objects.create(route=route, position=position, wait_minutes=5)
                StepTarget.objects.create(step=step, kind=kind)
    return components


def celery(env: dict, tmp: Path, concurrency: int, queues: str) -> list[subprocess.Popen]:
    log = open(tmp / "celery.log", "w")  # noqa: SIM115 (closed with the processes)
    base = [sys.executable, "-m", "celery", "-A", "portal"]
    return [
        subprocess.Popen(
            [*base, "worker", f"--concurrency={concurrency}", f"--queues={queues}",
             "--loglevel=WARNING", f"--hostname=bench-{uuid.uuid4().hex[:6]}@%h"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ),
        subprocess.Popen(
            [*base, "beat", "--loglevel=WARNING", f"--schedule={tmp / 'beat-schedule'}"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        ),
    ]  # fmt: skip


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    check_database(url)
    provider = Provider()
    tag = uuid.uuid4().hex[:6]
    queues = {
        "CELERY_TIMERS_QUEUE": f"bench-timers-{tag}",
        "CELERY_PAGES_QUEUE": f"bench-pages-{tag}",
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-notices-{tag}",
    }
    os.environ.update(queues)
    setup_django(url, provider.url)
    from django.utils import timezone

    from incidents.models import Source
    from incidents.services import incident_declare
    from portal.models import Notification, Page

    components = wipe_and_seed(args.incidents)
    broker = "redis" if os.environ.get("REDIS_URL") else "filesystem"
    print(
        f"Seeded {args.incidents} teams, {3 * args.incidents} people; "
        f"database {urlsplit(url).scheme}, broker {broker}."
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench-escalation-"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    processes = celery(env, tmp, args.concurrency, ",".join(queues.values()))
    try:
        time.sleep(6)  # the worker and beat start
        started = time.time()
        barrier = threading.Barrier(4)
        errors: list = []

        def declare(chunk):
            from django.db import connection

            barrier.wait()
            try:
                for component in chunk:
                    now = timezone.now()
                    incident_declare(
                        actor=None, source=Source.ALERT, title=f"Bench outage {component.pk}",
                        type="availability", subtype="availability.partial_degradation",
                        severity="P1", severity_reason="bench", detected_at=now, now=now,
                        components=[component], symptom="degraded", users_affected_percent=15,
                    )  # fmt: skip
            except Exception as error:  # reported below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=declare, args=(components[i::4],)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            print(f"Declaring failed: {errors[0]!r}")
            return 1
        print(f"Declared {args.incidents} P1s in {time.time() - started:.1f} s.")
        expected = 3 * args.incidents
        deadline = time.time() + args.timeout
        while len(provider.requests) < expected and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # anything sent twice would arrive now
    finally:
        for proc in processes:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in processes:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    rows = {
        n.idempotency_key: n
        for n in Notification.objects.filter(channel="sms", idempotency_key__startswith="page:")
    }
    per_key: dict[str, int] = {}
    lateness = []
    for arrived, key, _ in provider.requests:
        per_key[key] = per_key.get(key, 0) + 1
        row = rows.get(key)
        if row is not None and row.due_at is not None:
            lateness.append(arrived - row.due_at.timestamp())
    pages = Page.objects.filter(user__isnull=False).count()
    targets = set(
        Page.objects.filter(user__isnull=False).values_list("escalation", "round", "step", "user")
    )
    print(
        f"Pages (incident, step, target): {pages} rows, {len(targets)} distinct "
        f"(expected {expected})."
    )
    print(
        f"SMS outbox rows: {len(rows)} for {len(targets)} (incident, step, target) -> "
        f"{len(rows) / max(1, len(targets)):.2f} per (incident, step, target, channel)."
    )
    counts = list(per_key.values()) or [0]
    print(
        f"Provider requests: {len(provider.requests)} for {len(per_key)} keys; "
        f"per key min {min(counts)}, max {max(counts)}."
    )
    if len(provider.requests) < expected:
        print(f"Only {len(provider.requests)} of {expected} SMS arrived in {args.timeout:.0f} s.")
        print((tmp / "celery.log").read_text()[-3000:])
        return 1
    p50, p99 = statistics.median(lateness), percentile(lateness, 99)
    print(
        f"Lateness from due to arrival over {len(lateness)} SMS: p50 {p50:.2f} s, "
        f"p99 {p99:.2f} s, max {max(lateness):.2f} s (target p99 <= {TARGET_P99:.0f} s)."
    )
    ok = p99 <= TARGET_P99 and max(counts) == 1 and len(rows) == len(targets) == expected
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
