"""Post-mortem PDF reports: render time and memory, the cached download, and the size limit.

    .venv/bin/python tests/bench/bench_postmortem_pdf.py [--runs 7] [--time-limit 20]

Runs on its own database (BENCH_DATABASE_URL, default SQLite in a temporary directory; a
PostgreSQL URL is dropped and created afresh) and a temporary file storage. Builds a published
post-mortem with 200 timeline entries and 30 action items, then:

1. Render time p50/p95 and peak memory of the report through the portal's renderer (a forked
   child with time and memory limits and the restricted URL fetcher), beside WeasyPrint
   rendering the same HTML string directly in this process, alternating, in one run.
   Target: overhead at most 15%.
2. Cached download: p95 of GET of the rendered PDF through Django (storage read, download
   recorded). Target: under 50 ms.
3. A post-mortem far past the size limit (20,000 timeline entries): it stops at the time
   limit with a clear message.
"""

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def setup(tmp: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    os.environ["PORTAL_VAR_DIR"] = tmp
    url = os.environ.get("BENCH_DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0)


def build(entries: int, items: int):
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from incidents import services
    from incidents.models import IncidentChecklistItem
    from postmortems import services as pm
    from postmortems.models import PostMortem, TimelineEntry
    from postmortems.sections import SECTION_NAMES

    users = {u.username: u for u in get_user_model().objects.all()}
    alice, carol = users["alice"], users["carol"]
    now = timezone.now()
    incident = services.incident_declare(
        actor=alice, title=f"Bench outage with {entries} entries", summary="Bench.",
        type="availability", subtype="availability.partial_degradation", severity="P1",
        severity_reason="bench", detected_at=now - timedelta(hours=3), symptom="degraded",
        users_affected_percent=40, now=now - timedelta(hours=2, minutes=55),
    )  # fmt: skip
    for to in ("identified", "monitoring"):
        services.incident_change_status(actor=alice, incident=incident, to=to, note="bench")
    for item in IncidentChecklistItem.objects.filter(
        checklist__incident=incident, is_verification=True
    ):
        services.checklist_item_set(actor=alice, item=item, done=True)
    services.incident_change_status(
        actor=alice, incident=incident, to="resolved", note="bench",
        resolution=services.ResolutionNotice(True, "Rolled back."),
    )  # fmt: skip
    postmortem = PostMortem.objects.get(incident=incident)
    paragraph = (
        "The gateway rejected requests because a configuration push removed a route; "
        "the deploy pipeline had no check for it, and the alert paged only after three "
        "minutes above the threshold. "
    ) * 3
    pm.postmortem_update(
        actor=alice, postmortem=postmortem,
        draft=pm.Draft(
            sections=dict.fromkeys(SECTION_NAMES, paragraph * 2),
            five_whys=[f"Because step {n} of the chain failed" for n in range(5)],
            fishbone={"process": ["No review"] * 4, "technology": ["No schema"] * 4},
        ),
        expected_version=postmortem.version,
    )  # fmt: skip
    TimelineEntry.objects.filter(postmortem=postmortem).delete()
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            postmortem=postmortem,
            at=incident.detected_at + timedelta(seconds=20 * n),
            text=f"Entry {n}: error rate {n % 40}%, responders checked the gateway logs again.",
        )
        for n in range(entries)
    )
    for n in range(items):
        pm.action_item_create(
            actor=alice, postmortem=postmortem,
            data=pm.ItemInput(
                title=f"Improvement {n}: validate route configuration in CI",
                owner_id=alice.pk, due_on=timezone.localdate() + timedelta(days=10 + n),
                category=("detection", "response", "recovery", "prevention")[n % 4],
                impact=("high", "low")[n % 2], effort=("low", "high")[(n // 2) % 2],
                done_when="The pipeline refuses a push without the route.",
            ),
        )  # fmt: skip
    postmortem.refresh_from_db()
    pm.postmortem_submit(actor=alice, postmortem=postmortem)
    revision = pm.postmortem_publish(actor=carol, postmortem=postmortem)
    return postmortem, revision, carol


def child_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def direct_in_child(html: str) -> tuple[float, float]:
    """WeasyPrint directly (no limits, its default fetcher), timed in the parent like the
    portal's renderer, in a fork so that its peak memory is measured the same way."""
    from postmortems import pdf

    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        pdf.render_direct(html)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    return time.perf_counter() - started, child_peak_mb()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--time-limit", type=float, default=20.0)
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-pdf-")
    setup(tmp)
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": f"{tmp}/media"},
        },
    }
    settings.ALLOWED_HOSTS = ["*"]
    from postmortems import documents, pdf
    from postmortems.models import PdfReport
    from postmortems.services import reports

    postmortem, revision, carol = build(200, 30)
    html = documents.postmortem_html(revision, "a4")
    import weasyprint  # noqa: F401  (loaded once, as a worker has it)

    print(f"Post-mortem: 200 timeline entries, 30 action items; HTML {len(html) / 1024:.0f} KB")
    direct_times, portal_times = [], []
    direct_peak = portal_peak = 0.0
    pages = 0
    # Warm both paths once (fonts, caches), then alternate.
    pdf.render_direct(html)
    pdf.render(html)
    for _ in range(args.runs):
        elapsed, peak = direct_in_child(html)
        direct_times.append(elapsed)
        direct_peak = max(direct_peak, peak)
        started = time.perf_counter()
        data, pages = pdf.render(html)
        portal_times.append(time.perf_counter() - started)
        portal_peak = max(portal_peak, child_peak_mb())
    d50, d95 = statistics.median(direct_times), pct(direct_times, 95)
    p50, p95 = statistics.median(portal_times), pct(portal_times, 95)
    print(f"1. Render ({args.runs} runs each, {pages} pages, {len(data) / 1024:.0f} KB):")
    print(f"   WeasyPrint directly : p50 {d50 * 1000:.0f} ms  p95 {d95 * 1000:.0f} ms")
    print(f"   portal renderer     : p50 {p50 * 1000:.0f} ms  p95 {p95 * 1000:.0f} ms")
    print(f"   overhead            : p50 {100 * (p50 / d50 - 1):+.1f}%  (target <= 15%)")
    print(f"   peak memory (RSS, children high-water): {portal_peak:.0f} MB")
    full = PdfReport.objects.get(postmortem=postmortem, paper="a4")
    started = time.perf_counter()
    reports.render_report(full.pk)
    print(
        f"   whole task (HTML + render + storage): {(time.perf_counter() - started) * 1000:.0f} ms"
    )

    from django.test import Client
    from django.urls import reverse

    client = Client()
    client.force_login(carol)
    url = reverse("postmortems:download", args=[postmortem.incident.reference, 1, "a4"])
    renders_before = pdf.RENDERS
    times = []
    for _ in range(60):
        started = time.perf_counter()
        response = client.get(url)
        b"".join(response.streaming_content)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200
    assert pdf.RENDERS - renders_before == 0
    times = times[10:]
    print(
        f"2. Cached download ({len(times)} GETs): p50 {statistics.median(times) * 1000:.1f} ms"
        f"  p95 {pct(times, 95) * 1000:.1f} ms  (target < 50 ms); renders during: 0"
    )

    big, big_revision, _ = build(20_000, 30)
    html = documents.postmortem_html(big_revision, "a4")
    started = time.perf_counter()
    try:
        pdf.render(html, time_limit=args.time_limit)
        print("3. The oversized post-mortem rendered within the limit (raise the size).")
    except pdf.RenderError as error:
        print(
            f"3. Oversized post-mortem (20,000 entries, HTML {len(html) / 1024 / 1024:.1f} MB): "
            f"stopped after {time.perf_counter() - started:.1f} s "
            f"(limit {args.time_limit:g} s): {error}"
        )


if __name__ == "__main__":
    main()
