"""Runbooks: render of a 50 KB runbook, diff of two 50 KB versions, search over 2,000
runbooks (issue 13). Target: median and p95 each under 100 ms.

    .venv/bin/python tests/bench/bench_runbooks.py [--runs 100] [--reseed]

It uses DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/portal_bench_runbooks
(created if missing). The database's name must contain "bench": seeding wipes its runbooks.
Seeding (bulk inserts, a few seconds) makes 2,000 published runbooks of 3-8 KB each whose text
mixes a shared vocabulary with words of their own, plus one 50 KB runbook with two versions
that differ in about 5% of their lines, some lines changed word by word.

Measured, each N times after a few warm-ups (server time in this process, no network):
  render  the 50 KB text through the runbook renderer (safe Markdown, placeholders marked);
  page    the version page of the 50 KB runbook through django.test.Client (a responder);
  diff    runbooks.diff.compare of the two 50 KB versions;
  compare the compare page of those versions, side by side;
  search  the library's search (PostgreSQL full-text, the first page and its count) for a
          rotating set of one-, two- and three-word queries that every runbook matches
          (hundreds to all 2,000 match and are ranked: the worst case);
  narrow  the same for a word only two runbooks have.
"""

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "bench"))
import bench_metrics  # noqa: E402  (its database set-up, shared)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_runbooks"
N_RUNBOOKS = 2_000
TARGET_MS = 100.0
SEED = 20261130
USER = "bench-rita"
BIG_SLUG = "bench-big-runbook"

WORDS = [
    "database",
    "replica",
    "failover",
    "restore",
    "backup",
    "queue",
    "worker",
    "latency",
    "timeout",
    "cache",
    "redis",
    "gateway",
    "certificate",
    "rotation",
    "deploy",
    "rollback",
    "canary",
    "kubernetes",
    "pod",
    "node",
    "disk",
    "memory",
    "cpu",
    "throttle",
    "circuit",
    "breaker",
    "provider",
    "quota",
    "dns",
    "cdn",
    "tls",
    "login",
    "session",
    "token",
    "index",
    "vacuum",
    "lock",
    "connection",
    "pool",
    "migration",
    "schema",
    "snapshot",
    "region",
    "zone",
    "load",
    "balancer",
    "alert",
    "dashboard",
    "trace",
]
QUERIES = [
    "failover",
    "restore backup",
    "circuit breaker provider",
    "certificate rotation",
    "replica latency",
    "connection pool",
    "dns",
    "rollback deploy canary",
    "quota",
    "vacuum lock",
]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="timed runs of each measure")
    parser.add_argument("--reseed", action="store_true", help="wipe and recreate the data")
    args = parser.parse_args(argv)
    if args.runs < 5:
        parser.error("--runs must be at least 5")
    return args


def check_database(url: str) -> None:
    """The search figure is PostgreSQL's; the rest as bench_metrics checks it (a database
    named for benchmarks, created if missing)."""
    if not urlsplit(url).scheme.startswith("postgres"):
        sys.exit("The search figure is PostgreSQL's: set a postgres:// DATABASE_URL.")
    bench_metrics.check_database(url)


# --- text ----------------------------------------------------------------------------------


def paragraph(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def section_text(rng: random.Random, size: int, own: list[str]) -> str:
    """Markdown of about `size` characters: paragraphs, a numbered list, a code block, a
    table, with some of the runbook's own words."""
    parts, length, n = [], 0, 1
    while length < size:
        kind = rng.random()
        if kind < 0.45:
            text = f"{n}. {paragraph(rng, rng.randint(8, 20))} {rng.choice(own)}"
            n += 1
        elif kind < 0.75:
            text = paragraph(rng, rng.randint(20, 40)) + f" See `{rng.choice(own)}`."
        elif kind < 0.88:
            text = f"```bash\n./infrastructure/scripts/{rng.choice(WORDS)}.sh -e prod -n {n}\n```"
        else:
            text = "| Check | Expected |\n|---|---|\n" + "\n".join(
                f"| {rng.choice(WORDS)} | {rng.choice(WORDS)} under {rng.randint(1, 99)} |"
                for _ in range(3)
            )
        parts.append(text)
        length += len(text) + 2
    return "\n\n".join(parts)


def sections_of(rng: random.Random, total: int, own: list[str]) -> dict[str, str]:
    from runbooks.models import SECTION_KEYS

    sizes = [0.08, 0.16, 0.16, 0.25, 0.15, 0.05, 0.15]
    return {
        key: section_text(rng, int(total * f), own)
        for key, f in zip(SECTION_KEYS, sizes, strict=True)
    }


def changed(rng: random.Random, sections: dict[str, str], share: float) -> dict[str, str]:
    """About `share` of the lines changed: half reworded (a few words), a quarter removed, a
    quarter with a new line after them."""
    out = {}
    for key, text in sections.items():
        lines = []
        for line in text.split("\n"):
            roll = rng.random()
            if roll < share / 2 and line.strip():
                words = line.split(" ")
                for _ in range(2):
                    words[rng.randrange(len(words))] = rng.choice(WORDS)
                lines.append(" ".join(words))
            elif roll < share * 0.75:
                continue
            elif roll < share:
                lines += [line, paragraph(rng, 12)]
            else:
                lines.append(line)
        out[key] = "\n".join(lines)
    return out


# --- seeding -------------------------------------------------------------------------------


def seed(reseed: bool) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection, transaction

    from portal import roles
    from portal.models import Profile, Team
    from runbooks import content
    from runbooks.models import Review, ReviewState, Runbook, Version

    bench = Runbook.objects.filter(slug__startswith="bench-")
    if not reseed and bench.count() == N_RUNBOOKS + 1:
        print(f"Reusing {N_RUNBOOKS + 1} runbooks.")
        return
    started = time.monotonic()
    with connection.cursor() as cursor:  # versions are frozen: the trigger refuses DELETE
        cursor.execute("ALTER TABLE runbooks_version DISABLE TRIGGER runbooks_version_frozen")
    try:
        with transaction.atomic():
            Runbook.objects.filter(slug__startswith="bench-").update(current=None)
            Review.objects.filter(version__runbook__slug__startswith="bench-").delete()
            Version.objects.filter(runbook__slug__startswith="bench-").delete()
            Runbook.objects.filter(slug__startswith="bench-").delete()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE runbooks_version ENABLE TRIGGER runbooks_version_frozen")
    user, created = get_user_model().objects.get_or_create(username=USER)
    if created:
        user.set_password("bench")
        user.save()
        user.groups.add(Group.objects.get(name=roles.RESPONDER))
        Profile.objects.create(user=user, display_name="Bench Rita")
    team, _ = Team.objects.get_or_create(slug="bench-team", defaults={"name": "Bench team"})
    rng = random.Random(SEED)
    with transaction.atomic():
        runbooks = Runbook.objects.bulk_create(
            Runbook(
                title=f"Bench runbook {n:04d}: {rng.choice(WORDS)} {rng.choice(WORDS)}",
                slug=f"bench-{n:04d}",
                team=team,
            )  # fmt: skip
            for n in range(N_RUNBOOKS)
        )
        big = Runbook.objects.create(title="Bench big runbook", slug=BIG_SLUG, team=team)
        texts = {}
        versions = []
        for runbook in runbooks:
            own = [f"svc{runbook.pk % 1000:03d}", f"{rng.choice(WORDS)}{rng.randint(1, 9999)}"]
            texts[runbook.pk] = sections_of(rng, rng.randint(3_000, 8_000), own)
            versions.append(
                Version(
                    runbook=runbook,
                    number=1,
                    title=runbook.title,
                    sections=texts[runbook.pk],
                    change_note="bench",
                    author=user,
                )  # fmt: skip
            )
        old = sections_of(rng, 50_000, ["bigword"])
        new = changed(rng, old, 0.05)
        versions += [
            Version(runbook=big, number=1, title=big.title, sections=old, change_note="v1",
                    author=user),
            Version(runbook=big, number=2, title=big.title, sections=new, change_note="v2",
                    author=user),
        ]  # fmt: skip
        Version.objects.bulk_create(versions)
        Review.objects.bulk_create(Review(version=v, state=ReviewState.PUBLISHED) for v in versions)
        current = {v.runbook_id: v for v in versions}  # the last one of each runbook
        for runbook in [*runbooks, big]:
            version = current[runbook.pk]
            runbook.current = version
            runbook.search_text = content.search_text(runbook.title, version.sections)
        Runbook.objects.bulk_update([*runbooks, big], ["current", "search_text"], batch_size=200)
    size = sum(len(t) for t in old.values())
    print(
        f"Seeded {N_RUNBOOKS} runbooks and one of {size / 1000:.0f} KB in two versions "
        f"({time.monotonic() - started:.1f} s)."
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE runbooks_runbook")


# --- measuring -----------------------------------------------------------------------------


def timed(fn, runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        fn(0)
    out = []
    for i in range(runs):
        started = time.perf_counter()
        fn(i)
        out.append((time.perf_counter() - started) * 1000)
    return out


def report(name: str, samples: list[float]) -> bool:
    samples = sorted(samples)
    median = statistics.median(samples)
    p95 = samples[max(0, int(round(0.95 * len(samples))) - 1)]
    ok = median < TARGET_MS and p95 < TARGET_MS
    print(f"{name:8} median {median:7.1f} ms   p95 {p95:7.1f} ms   max {samples[-1]:7.1f} ms"
          f"   {'ok' if ok else 'OVER'}")  # fmt: skip
    return ok


def main(argv=None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    check_database(url)
    bench_metrics.setup_django(url)
    seed(args.reseed)

    from django.contrib.auth import get_user_model
    from django.test import Client

    from runbooks import diff, selectors
    from runbooks.models import SECTIONS, Runbook
    from runbooks.templatetags.runbook_tags import runbook_markdown

    big = Runbook.objects.get(slug=BIG_SLUG)
    old, new = big.versions.get(number=1), big.versions.get(number=2)
    client = Client()
    client.force_login(get_user_model().objects.get(username=USER))

    def render(_):
        for key, _title in SECTIONS:
            runbook_markdown(new.sections[key])

    def page(_):
        response = client.get(f"/runbooks/{BIG_SLUG}/v2/")
        assert response.status_code == 200 and b"bigword" in response.content

    def compare_sections(_):
        diff.compare(old.sections, new.sections)

    def compare_page(_):
        response = client.get(f"/runbooks/{BIG_SLUG}/compare/?from=1&to=2")
        assert response.status_code == 200 and b"<ins>" in response.content

    def search(i):  # words every runbook has: all 2,000 match and are ranked
        results = selectors.library(selectors.Filters(q=QUERIES[i % len(QUERIES)]))
        assert len(list(results[:50])) == 50 and results.count() >= 50

    def search_narrow(i):  # a word a couple of runbooks have
        results = selectors.library(selectors.Filters(q=f"svc{i % 1000:03d}"))
        assert 0 < len(list(results[:50])) < 10 and results.count() < 10

    found = {q: selectors.library(selectors.Filters(q=q)).count() for q in QUERIES}
    print(f"Search hits: {found}")
    print(f"Each measure {args.runs} times (target median and p95 under {TARGET_MS:.0f} ms):")
    results = [
        report("render", timed(render, args.runs)),
        report("page", timed(page, args.runs)),
        report("diff", timed(compare_sections, args.runs)),
        report("compare", timed(compare_page, args.runs)),
        report("search", timed(search, args.runs)),
        report("narrow", timed(search_narrow, args.runs)),
    ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
