"""The public status page under an outage's traffic, through gunicorn with production settings.

    .venv/bin/python tests/bench/bench_status.py [--seconds 30] [--connections 64]

Needs wrk (Debian package `wrk`), PostgreSQL (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/portal_bench_status: dropped and created afresh, migrated
and seeded with the demo data on every run) and, if set, Redis (REDIS_URL: the snapshot's
shared cache). gunicorn
runs as in production: DEBUG=0, a random SECRET_KEY, static files collected into a temporary
STATIC_ROOT and served by whitenoise, behind a TLS-terminating proxy (X-Forwarded-Proto: https
on every request). Requests ask for gzip, as browsers do.

1. Saturation: --seconds with --connections connections for each of a static file of similar
   transferred size served by the same server (whitenoise), /status/ and
   /api/v2/summary.json, back to back in one run (each URL gets the whole machine: three wrk
   processes at once measure how the CPU is shared out between them more than what each
   URL costs). Throughout, a staff process posts a public status update every second
   (through the service, as the war room does), so the snapshot is rebuilt about once a
   second. Target: each public URL at least 70% of the static file's requests/s, no errors.
2. Latency at a fixed rate of half the saturated /status/ rate: wrk with a per-connection
   delay (paced closed loop; Debian has no wrk2), p50/p99 of /status/. Target: p99 < 50 ms.
3. Staleness: during run 1 a reader fetches /api/v2/status.json every 50 ms; for each update
   posted, the time from just before the post until a response's X-Snapshot-Generated-At is
   at least that moment. Target: at most 2 s.
4. Weight and time to content: the bytes /status/ and its assets transfer (gzip), and
   Chromium's first contentful paint with JavaScript off (if /usr/bin/chromium exists).
"""

import argparse
import gzip
import http.client
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/portal_bench_status"
HEADERS = {"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"}
TARGET_RATIO = 0.70
TARGET_P99_MS = 50.0
TARGET_STALE_S = 2.0
TARGET_WEIGHT_KB = 60.0

PUBLISHER = """
import sys, time
import django
django.setup()
from django.contrib.auth import get_user_model
from incidents import services
from incidents.models import Incident
actor = get_user_model().objects.get(username="bob")
incident = Incident.objects.filter(is_public=True, status="investigating").first()
end = time.time() + float(sys.argv[1])
n = 0
while time.time() < end:
    n += 1
    before = time.time()
    services.status_update_post(
        actor=actor, incident=incident, impact="bench", actions="bench", audience="public",
        public_body=f"Bench update {n}: still investigating.",
    )
    after = time.time()
    print(f"{before:.6f} {after:.6f}", flush=True)
    time.sleep(max(0.0, 1.0 - (time.time() - before)))
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn --workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn --threads")
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    return parser.parse_args()


def run(cmd, env, **kw):
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, **kw)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_database(env) -> None:
    import psycopg

    url = env["DATABASE_URL"]
    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    # A new database each run: the updates a run posts would make the next run's page longer.
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    run([sys.executable, "manage.py", "migrate", "-v", "0"], env, timeout=600)
    run([sys.executable, "manage.py", "seed_demo", "--force"], env, timeout=600)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, headers=HEADERS):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response, body


def wrk(port, path, connections, seconds, script=None, latency=False):
    cmd = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:.0f}s"]
    for k, v in HEADERS.items():
        cmd += ["-H", f"{k}: {v}"]
    if script:
        cmd += ["-s", script]
    if latency:
        cmd.append("--latency")
    cmd.append(f"http://127.0.0.1:{port}{path}")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse_wrk(text: str) -> dict:
    out = {"text": text}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(g) for g in m.groups()) if m else 0
    for label in ("50%", "99%"):
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if m:
            value = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            out[label] = value
    return out


def pick_static(static_root: Path, target: int) -> str:
    """The collected static file whose gzip form is nearest `target` bytes."""
    best, best_diff = "", None
    for gz in static_root.rglob("*.gz"):
        original = gz.with_suffix("")
        if not original.exists() or "." not in original.stem:  # hashed names only
            continue
        diff = abs(gz.stat().st_size - target)
        if best_diff is None or diff < best_diff:
            best, best_diff = "/static/" + str(original.relative_to(static_root)), diff
    return best


class Reader(threading.Thread):
    """Polls /api/v2/status.json and records (time, generated_at) pairs."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.samples = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                response, _ = get(self.port, "/api/v2/status.json")
                stamp = response.getheader("X-Snapshot-Generated-At")
                if stamp:
                    self.samples.append((time.time(), datetime.fromisoformat(stamp).timestamp()))
            except OSError:
                pass
            time.sleep(0.05)


def staleness(posts, samples) -> list[float]:
    delays = []
    for before, _after in posts:
        seen = next((t for t, generated in samples if generated >= before), None)
        if seen is not None:
            delays.append(seen - before)
    return delays


def first_paint(port) -> float | None:
    if not Path("/usr/bin/chromium").exists():
        return None
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]  # fmt: skip
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        context = browser.new_context(
            java_script_enabled=False, extra_http_headers={"X-Forwarded-Proto": "https"}
        )
        page = context.new_page()
        times = []
        for _ in range(5):
            page.goto(f"http://127.0.0.1:{port}/status/")
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
            nav = metrics.get("NavigationStart", 0)
            # Chromium reports FirstMeaningfulPaint when it has one; else the DOM being
            # ready (with no script, the page paints right after).
            done = metrics.get("FirstMeaningfulPaint") or metrics.get("DomContentLoaded")
            if done and nav:
                times.append((done - nav) * 1000)
        browser.close()
    return statistics.median(times) if times else None


def main() -> int:
    args = parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install wrk")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="bench_status_"))
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "portal.settings",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "DEBUG": "0",
        "USE_X_FORWARDED_PROTO": "1",
        "STATIC_ROOT": str(tmp / "static"),
        "MEDIA_ROOT": str(tmp / "media"),
        "LOG_LEVEL": "WARNING",
    }
    print(f"database {env['DATABASE_URL']}; Redis {env.get('REDIS_URL') or 'none (locmem)'}")
    # Static files first: the seed's changes build the snapshot, whose pages link them.
    run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], env, timeout=600)
    prepare_database(env)
    # A snapshot left in Redis by an earlier run (another database) must not be served.
    run([sys.executable, "manage.py", "rebuild_status_page"], env, timeout=600)
    port = free_port()
    gunicorn = [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
                "--workers", str(args.workers), "--threads", str(args.threads),
                "--error-logfile", str(tmp / "error.log")]  # fmt: skip
    server = subprocess.Popen(gunicorn, cwd=ROOT, env=env, start_new_session=True)
    try:
        for _ in range(100):
            try:
                get(port, "/healthz")
                break
            except OSError:
                time.sleep(0.2)
        for _ in range(3):  # every worker loads its snapshot
            get(port, "/status/")
        response, body = get(port, "/status/")
        page_gz = len(body)
        page = gzip.decompress(body) if response.getheader("Content-Encoding") == "gzip" else body
        static = pick_static(tmp / "static", page_gz)
        static_response, static_body = get(port, static)
        print(f"gunicorn: {' '.join(gunicorn[1:])} (DEBUG=0, whitenoise)")
        print(f"snapshot at the start: {response.getheader('X-Snapshot-Generated-At')}")
        print(
            f"/status/: {len(page)} bytes, {page_gz} gzipped; static file beside it: {static} "
            f"({len(static_body)} bytes as sent, {static_response.getheader('Content-Encoding')})"
        )

        # 1 + 3: saturation while a public update is posted every second; staleness.
        # The static file first and last: the page grows as updates are posted, so the
        # public URLs are compared with the mean of the two static runs around them.
        summary = "/api/v2/summary.json"
        runs = (
            ("static, first", static),
            ("/status/", "/status/"),
            (summary, summary),
            ("static, last", static),
        )
        publisher = subprocess.Popen(
            [sys.executable, "-c", PUBLISHER, str(args.seconds * len(runs) + 2)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        reader = Reader(port)
        reader.start()
        results = {}
        for label, path in runs:  # one after the other: each gets the whole machine
            proc = wrk(port, path, args.connections, args.seconds)
            results[label] = parse_wrk(proc.communicate()[0])
            results[label]["bytes"] = len(get(port, path)[1])
        out, err = publisher.communicate(timeout=60)
        reader.stop.set()
        reader.join()
        posts = [tuple(map(float, line.split())) for line in out.strip().splitlines()]
        if publisher.returncode != 0:
            print("publisher failed:", err[-2000:])
        base = (results["static, first"]["rps"] + results["static, last"]["rps"]) / 2
        print(
            f"\n1. saturation, {args.seconds:.0f} s with {args.connections} connections per run, "
            f"back to back in one run; {len(posts)} public updates posted meanwhile (one a "
            f"second); static file {static}, {base:.0f} req/s on average"
        )
        ok = True
        for label, r in results.items():
            ratio = r["rps"] / base if base else 0.0
            errors = r["non2xx"] + r["socket_errors"]
            good = label.startswith("static") or (ratio >= TARGET_RATIO and errors == 0)
            ok &= good and errors == 0
            print(
                f"   {label:<22} {r['rps']:>7.0f} req/s {r['requests']:>7} requests "
                f"{r['bytes']:>6} B sent  errors {errors}  {ratio:5.0%} of static  "
                f"{'OK' if good else 'MISS'}"
            )
        delays = staleness(posts, reader.samples)
        print(
            f"\n3. staleness: {len(delays)} changes seen by the reader "
            f"({len(reader.samples)} reads)"
        )
        if delays:
            delays.sort()
            print(
                f"   change -> visible: median {statistics.median(delays):.2f} s, max "
                f"{delays[-1]:.2f} s (target <= {TARGET_STALE_S:.0f} s: "
                f"{'OK' if delays[-1] <= TARGET_STALE_S else 'MISS'})"
            )
            build = statistics.median(after - before for before, after in posts) * 1000
            print(f"   staff request incl. commit + rebuild: median {build:.0f} ms")

        # 2: latency at half the saturated rate.
        rate = results["/status/"]["rps"] / 2
        connections = 16
        delay_ms = max(1.0, 1000.0 * connections / rate)
        script = tmp / "pace.lua"
        script.write_text(f"function delay() return {delay_ms:.3f} end\n")
        proc = wrk(port, "/status/", connections, args.latency_seconds, str(script), latency=True)
        paced = parse_wrk(proc.communicate()[0])
        p99 = paced.get("99%", float("nan"))
        print(
            f"\n2. latency at ~{rate:.0f} req/s (half of saturation; {connections} connections, "
            f"{delay_ms:.1f} ms apart): achieved {paced['rps']:.0f} req/s, p50 "
            f"{paced.get('50%', float('nan')):.2f} ms, p99 {p99:.2f} ms "
            f"(target < {TARGET_P99_MS:.0f} ms: {'OK' if p99 < TARGET_P99_MS else 'MISS'}), "
            f"errors {paced['non2xx'] + paced['socket_errors']}"
        )

        # 4: weight and first paint.
        assets = re.findall(rb'(?:href|src)="(/static/[^"]+)"', page)
        weight = page_gz + sum(len(get(port, a.decode())[1]) for a in assets)
        print(
            f"\n4. weight: /status/ {page_gz} B gzipped + {len(assets)} assets = "
            f"{weight / 1024:.1f} KB (target < {TARGET_WEIGHT_KB:.0f} KB: "
            f"{'OK' if weight / 1024 < TARGET_WEIGHT_KB else 'MISS'})"
        )
        paint = first_paint(port)
        if paint is not None:
            print(f"   time to content without JavaScript (Chromium): median {paint:.0f} ms of 5")
        return 0 if ok else 1
    finally:
        server.terminate()
        server.wait(timeout=15)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
