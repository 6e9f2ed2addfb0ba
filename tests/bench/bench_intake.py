"""Alert intake throughput (issue 12): Alertmanager webhooks through gunicorn on PostgreSQL.

    .venv/bin/python tests/bench/bench_intake.py [--groups 100] [--clients 16] [--seconds 60]

It uses BENCH_DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/portal_bench_intake
(created if missing; its name must contain "bench": the run wipes incidents and alerts).
REDIS_URL, if set, is passed on. gunicorn runs with DEBUG=0, 2 workers x 4 threads.

100 alert groups of 10 alerts each are posted as Alertmanager sends them (the whole group
each time): the group's first request (a new group: declares an incident in Triage and
pages), then one request per further alert (new alert), then repeats of the whole group (as
Alertmanager re-sends) until the time is up, at least 10 per group. Requests per second are
reported per kind and overall (target at least 300/s overall), and the rows counted: 100
groups, 1,000 alerts, 100 incidents, each alert's count equal to the requests that carried
it (zero lost).
"""

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/portal_bench_intake"
TARGET = 300.0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=100)
    parser.add_argument("--alerts", type=int, default=10, help="alerts per group")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    if not (1 <= args.groups <= 1000 and 1 <= args.alerts <= 100 and 1 <= args.clients <= 64):
        parser.error("--groups 1-1000, --alerts 1-100, --clients 1-64")
    return args


def check_database(url: str) -> None:
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if "bench" not in name:
        sys.exit(f"Refusing to use {name!r}: its name must contain 'bench' (the run wipes it).")
    import psycopg
    from psycopg import sql

    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def manage(env, *args) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(done.stdout + done.stderr)
    return done.stdout


PREPARE = """
import django; django.setup()
from django.db import connection
from incidents.models import Incident, Integration
from portal.models import Escalation, Notification, Timer
with connection.cursor() as c:
    c.execute("TRUNCATE incidents_incident, incidents_integration RESTART IDENTITY CASCADE")
Escalation.objects.all().delete(); Notification.objects.all().delete(); Timer.objects.all().delete()
from incidents.intake import services
integration, token = services.integration_create(actor=None, name="bench", kind="alertmanager")
Integration.objects.filter(pk=integration.pk).update(storm_limit=1000)
print(token)
"""

COUNT = """
import django, json; django.setup()
from django.db.models import Sum
from incidents.models import Alert, AlertGroup, Incident
print(json.dumps({"groups": AlertGroup.objects.count(), "alerts": Alert.objects.count(),
    "incidents": Incident.objects.count(),
    "received": Alert.objects.aggregate(n=Sum("count"))["n"] or 0}))
"""


def python(env, code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(done.stdout + done.stderr)
    return done.stdout.strip().splitlines()[-1]


def payload(group: int, alerts: int) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "groupKey": f'{{}}:{{alertname="Bench{group}"}}',
            "status": "firing",
            "receiver": "portal",
            "groupLabels": {"alertname": f"Bench{group}"},
            "commonLabels": {"alertname": f"Bench{group}", "severity": "warning"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "truncatedAlerts": 0,
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": f"Bench{group}",
                        "instance": f"host-{n}",
                        "severity": "warning",
                    },
                    "annotations": {"summary": f"Bench group {group} host {n}"},
                    "startsAt": "2026-11-30T05:00:00.000000000Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/graph",
                    "fingerprint": f"g{group:04d}a{n:03d}",
                }
                for n in range(alerts)
            ],
        }
    ).encode()


def run_phase(url: str, bodies: list[bytes], clients: int) -> tuple[float, list[float], int]:
    """Post every body (concurrently); (seconds, latencies, failures)."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()

    def send(body: bytes):
        nonlocal failures
        started = time.perf_counter()
        request = urllib.request.Request(
            url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                ok = response.status == 202
        except Exception:
            ok = False
        with lock:
            latencies.append(time.perf_counter() - started)
            failures += not ok

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, bodies))
    return time.perf_counter() - started, latencies, failures


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    check_database(url)
    tmp = Path(tempfile.mkdtemp(prefix="bench_intake_"))
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "SECURE_SSL_REDIRECT": "0",
        "STATIC_ROOT": str(tmp / "static"),
        "MEDIA_ROOT": str(tmp / "media"),
        "LOG_LEVEL": "WARNING",
    }
    manage(env, "migrate", "-v", "0")
    token = python(env, PREPARE)
    port = 18000 + secrets.randbelow(2000)
    gunicorn = [
        sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
        "--workers", "2", "--threads", "4", "--error-logfile", str(tmp / "error.log"),
    ]  # fmt: skip
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, start_new_session=True)
    target = f"http://127.0.0.1:{port}/integrations/{token}/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        print(f"gunicorn {' '.join(gunicorn[3:])}; database {urlsplit(url).path[1:]}; "
              f"Redis {env.get('REDIS_URL') or 'none'}; {args.clients} clients")  # fmt: skip
        sent: dict[str, tuple[int, float, list[float], int]] = {}
        carried = 0
        groups = range(args.groups)
        bodies = [payload(g, 1) for g in groups]
        seconds, lat, fail = run_phase(target, bodies, args.clients)
        sent["new group"] = (len(bodies), seconds, lat, fail)
        carried += len(bodies)
        bodies = [payload(g, k) for k in range(2, args.alerts + 1) for g in groups]
        seconds, lat, fail = run_phase(target, bodies, args.clients)
        sent["new alert"] = (len(bodies), seconds, lat, fail)
        carried += sum(k for k in range(2, args.alerts + 1)) * args.groups
        elapsed = sum(v[1] for v in sent.values())
        repeats, rounds, rep_seconds, rep_lat, rep_fail = 0, 0, 0.0, [], 0
        while rounds < 10 or elapsed + rep_seconds < args.seconds:
            bodies = [payload(g, args.alerts) for g in groups]
            seconds, lat, fail = run_phase(target, bodies, args.clients)
            repeats += len(bodies)
            rep_seconds += seconds
            rep_lat += lat
            rep_fail += fail
            carried += len(bodies) * args.alerts
            rounds += 1
        sent["repeat"] = (repeats, rep_seconds, rep_lat, rep_fail)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    total = sum(v[0] for v in sent.values())
    total_seconds = sum(v[1] for v in sent.values())
    for kind, (n, seconds, lat, fail) in sent.items():
        lat = sorted(lat)
        print(
            f"{kind:>9}: {n:5d} requests in {seconds:5.1f} s = {n / seconds:6.0f}/s; "
            f"p50 {statistics.median(lat) * 1000:.0f} ms, "
            f"p99 {lat[int(len(lat) * 0.99) - 1] * 1000:.0f} ms; failed {fail}"
        )
    rate = total / total_seconds
    print(
        f"overall: {total} requests in {total_seconds:.1f} s = {rate:.0f}/s (target {TARGET:.0f})"
    )
    counted = json.loads(python(env, COUNT))
    print(
        f"rows: {counted['groups']} groups, {counted['alerts']} alerts, "
        f"{counted['incidents']} incidents; alert receipts {counted['received']} of "
        f"{carried} carried"
    )
    lost = carried - counted["received"]
    ok = (
        rate >= TARGET
        and lost == 0
        and counted["groups"] == args.groups
        and counted["alerts"] == args.groups * args.alerts
        and counted["incidents"] == args.groups
        and all(v[3] == 0 for v in sent.values())
    )
    print(f"lost: {lost}. " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
