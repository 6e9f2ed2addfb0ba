"""Server-side response times of the readiness metrics page and its CSV over 10,000 incidents.

    .venv/bin/python tests/bench/bench_metrics.py [--requests 50] [--reseed]

It uses DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/portal_bench_metrics
(created if missing); a SQLite URL (sqlite:////tmp/portal_bench_metrics.sqlite3) works too.
The database's name must contain "bench": seeding wipes its incidents and post-mortems. It is
migrated, then seeded with 10,000 incidents spread over the last 12 months (in TIME_ZONE) and
the severities, with acknowledgement and resolution times around each severity's response
time, about 3% false alarms and a few still open; P1/P2 incidents get a post-mortem with 1-4
action items (bulk inserts; a few seconds). A second run reuses the data; --reseed recreates it.

The pages are requested through django.test.Client as a Manager: a few warm-up requests, one
under CaptureQueriesContext for the query count, then N timed requests each, for the 12-month
period ending this month. The figures are server time only (no network, no browser): run it
on a quiet machine. Target: p95 under 200 ms.
"""

import argparse
import gc
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_metrics"
N_INCIDENTS = 10_000
MONTHS = 12
TARGET_P95_MS = 200.0
MANAGER = "bench-manager"
OWNERS = ("bench-alice", "bench-bob", "bench-dana", "bench-emeka")
SEED = 20260301


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=50, help="timed requests per URL")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per URL first")
    parser.add_argument("--reseed", action="store_true", help="wipe and recreate the data")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup at least 0")
    return args


# --- database and Django set-up -------------------------------------------------------------


def check_database(url: str) -> None:
    """Refuse a database not named for benchmarks; create a missing PostgreSQL one."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if "bench" not in Path(name).name:
        sys.exit(f"Refusing to seed {name!r}: its name must contain 'bench' (the seed wipes it).")
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


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    # Off after set-up, before the first request: queries are not recorded, templates
    # compile without debug information (as bench_pages.py does).
    settings.DEBUG = False
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# --- seeding ---------------------------------------------------------------------------------


def seeded() -> bool:
    from django.contrib.auth import get_user_model

    from incidents.models import Incident

    return (
        Incident.objects.filter(reference__startswith="BENCH-").count() == N_INCIDENTS
        and get_user_model().objects.filter(username=MANAGER).exists()
    )


def wipe() -> None:
    from django.db import connection

    from incidents.models import Incident
    from postmortems.models import ActionItem, ActionItemChange, PostMortem

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(Incident._meta.db_table)
            cursor.execute(f"TRUNCATE {table} RESTART IDENTITY CASCADE")
        return
    ActionItemChange.objects.all().delete()
    ActionItem.objects.all().delete()
    PostMortem.objects.all().delete()
    from incidents.models import TimelineEvent

    TimelineEvent.objects.all().delete()
    Incident.objects.all().delete()


def ensure_users() -> tuple:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from portal import roles
    from portal.models import Profile

    User = get_user_model()
    people = []
    for username, role in ((MANAGER, roles.MANAGER), *((o, roles.RESPONDER) for o in OWNERS)):
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role))
        Profile.objects.get_or_create(
            user=user, defaults={"display_name": username.replace("bench-", "").title()}
        )
        people.append(user)
    return people[0], people[1:]


def seed() -> float:
    """10,000 incidents over the last 12 months; returns the seconds it took."""
    from django.db import transaction
    from django.utils import timezone

    from incidents.models import Incident, Status
    from incidents.severity import SEVERITIES
    from postmortems import metrics
    from postmortems.models import ActionItem, ItemStatus, PostMortem
    from postmortems.rules import PRIORITY_MATRIX, Category

    started = time.perf_counter()
    rng = random.Random(SEED)
    now = timezone.now().replace(microsecond=0)
    zone = metrics.org_zone()
    first = metrics.add_months(metrics.this_month(now), 1 - MONTHS)
    begin = metrics.month_starts_utc([first], zone)[0]
    span = (now - begin).total_seconds()
    with transaction.atomic():
        wipe()
        manager, owners = ensure_users()
        incidents = []
        for i in range(N_INCIDENTS):
            severity = rng.choices(["P1", "P2", "P3", "P4"], weights=[5, 15, 40, 40])[0]
            allowed = SEVERITIES[severity].response_time
            detected = begin + timedelta(seconds=rng.uniform(0, span - 3600))
            roll = rng.random()
            status = (
                Status.FALSE_ALARM
                if roll < 0.03
                else Status.TRIAGE
                if roll < 0.035 and now - detected < timedelta(days=3)
                else Status.CLOSED
                if roll < 0.6
                else Status.RESOLVED
            )
            ack = None
            if status != Status.TRIAGE and rng.random() < 0.98:
                ack = detected + allowed * rng.uniform(0.1, 1.5)
            resolved = None
            if status in (Status.RESOLVED, Status.CLOSED):
                resolved = (ack or detected) + timedelta(minutes=rng.randint(15, 48 * 60))
            incidents.append(
                Incident(
                    reference=f"BENCH-{i:05d}",
                    public_id=f"bench{i:06d}",
                    title=f"Benchmark incident {i}",
                    type="availability",
                    subtype="availability.partial_degradation",
                    severity=severity,
                    status=status,
                    detected_at=detected,
                    declared_at=detected + timedelta(minutes=rng.randint(0, 20)),
                    acknowledged_at=ack,
                    verified_at=ack,
                    resolved_at=resolved,
                    closed_at=resolved + timedelta(days=2)
                    if resolved and status == Status.CLOSED
                    else None,
                    changed_at=now,
                )
            )
        Incident.objects.bulk_create(incidents, batch_size=2000)

        with_pm = [i for i in incidents if i.severity in ("P1", "P2") and i.resolved_at]
        postmortems = PostMortem.objects.bulk_create(
            (
                PostMortem(incident=i, owner=rng.choice(owners), due_at=i.resolved_at)
                for i in with_pm
            ),
            batch_size=2000,
        )
        matrix = list(PRIORITY_MATRIX.items())
        today = timezone.localdate()
        items = []
        for pm in postmortems:
            for _ in range(rng.randint(1, 4)):
                (impact, effort), priority = rng.choice(matrix)
                created = pm.due_at + timedelta(days=rng.randint(1, 6))
                due_on = (created + timedelta(days=rng.randint(7, 75))).date()
                # Items past due are mostly done; items still ahead mostly open.
                weights = [1, 1, 8, 1] if due_on < today else [6, 3, 2, 0.5]
                status = rng.choices(list(ItemStatus), weights=weights)[0]
                items.append(
                    ActionItem(
                        postmortem=pm,
                        title="Benchmark improvement",
                        owner=rng.choice(owners),
                        created_by=pm.owner,
                        due_on=due_on,
                        category=rng.choice(list(Category)),
                        impact=impact,
                        effort=effort,
                        priority=priority.rank,
                        status=status,
                        created_at=created,
                        done_at=created + timedelta(days=3) if status == ItemStatus.DONE else None,
                    )
                )
        ActionItem.objects.bulk_create(items, batch_size=2000)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(
        f"Seeded {len(incidents):,} incidents, {len(postmortems):,} post-mortems and "
        f"{len(items):,} action items in {time.perf_counter() - started:.1f} s."
    )
    return time.perf_counter() - started


# --- measuring -------------------------------------------------------------------------------


def measure(client, url: str, requests: int, warmup: int):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        check(client.get(url), url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    check(response, url)
    queries, size = len(ctx.captured_queries), len(response.content)
    times = []
    gc.collect()
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        check(response, url)
    return queries, size, times


def check(response, url: str) -> None:
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"


def p95(times: list[float]) -> float:
    if len(times) == 1:
        return times[0]
    return statistics.quantiles(times, n=100, method="inclusive")[94]


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    check_database(url)
    setup_django(url)

    import django
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from incidents.models import Incident
    from postmortems import metrics
    from postmortems.models import ActionItem

    if args.reseed or not seeded():
        seed()
    else:
        print(f"Reusing existing data ({N_INCIDENTS:,} incidents; --reseed to recreate).")
    client = Client()
    client.force_login(get_user_model().objects.get(username=MANAGER))

    last = metrics.this_month()
    first = metrics.add_months(last, 1 - MONTHS)
    query = f"?start={first:%Y-%m}&end={last:%Y-%m}"
    urls = [
        ("Metrics page", reverse("postmortems:metrics") + query),
        ("Metrics CSV", reverse("postmortems:metrics_csv") + query),
        ("Monthly summary", reverse("postmortems:monthly") + f"?month={last:%Y-%m}"),
    ]
    print(
        f"\n{connection.vendor} {connection.settings_dict['NAME']}; Django {django.get_version()};"
        f" {Incident.objects.count():,} incidents, {ActionItem.objects.count():,} action items;"
        f" nproc {len(os.sched_getaffinity(0))}, load {os.getloadavg()[0]:.2f}"
    )
    print(f"{args.warmup} warm-up + {args.requests} timed requests per URL, as a Manager.\n")
    header = f"{'URL':<16} {'SQL':>4} {'KB':>6} {'p50':>8} {'p95':>8} {'max':>8}"
    print(header)
    print("-" * (len(header) + 8))
    failed = 0
    for name, path in urls:
        queries, size, times = measure(client, path, args.requests, args.warmup)
        verdict = "PASS" if p95(times) < TARGET_P95_MS else "FAIL"
        failed += verdict == "FAIL"
        print(
            f"{name:<16} {queries:>4} {size / 1024:>6.1f} {statistics.median(times):>8.1f} "
            f"{p95(times):>8.1f} {max(times):>8.1f}  {verdict}"
        )
    print(f"(ms, server side through django.test.Client; target p95 < {TARGET_P95_MS:.0f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
