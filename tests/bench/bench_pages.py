"""Server-side response times of the portal's main pages on PostgreSQL with production-sized data.

Run it with `make bench`, or directly:

    .venv/bin/python tests/bench/bench_pages.py [--requests N] [--reseed]

It uses DATABASE_URL if set, else postgres://postgres@127.0.0.1:5432/portal_bench, creates the
database if missing, migrates it and seeds 10,000 incidents plus one incident with 1,000
timeline events (bulk inserts shaped like what the services write; about half a minute). A
second run reuses the data; --reseed wipes and recreates it. The database's name must contain
"bench" (the seed truncates the incident tables) unless --any-database is given.

Each page is requested through django.test.Client as a logged-in Responder: a few warm-up
requests, one request under CaptureQueriesContext for the query count, then N timed requests.
The figures are server time only (no network, no static files, no browser). Run it on a quiet
machine: a test suite running next to it skews every number.
"""

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench"

N_INCIDENTS = 10_000
N_HEAVY_EVENTS = 1_000
TARGET_P95_MS = 100.0
BENCH_USER = "bench"
SEED = 20260101

# (username, display name, time zone); the first is the one the benchmark logs in as.
PEOPLE = (
    (BENCH_USER, "Bench Responder", "Europe/Berlin"),
    ("alice", "Alice Okafor", "Europe/Berlin"),
    ("bob", "Bob Lindqvist", "America/New_York"),
    ("dana", "Dana Reyes", "America/Los_Angeles"),
    ("emeka", "Emeka Adeyemi", "Africa/Lagos"),
    ("fumiko", "Fumiko Sato", "Asia/Tokyo"),
    ("gustavo", "Gustavo Pereira", "America/Sao_Paulo"),
    ("hanna", "Hanna Virtanen", "Europe/Helsinki"),
)

# Title patterns per incident type; {c} is an affected component.
TITLES = {
    "availability": (
        "{c} unavailable for all users",
        "Elevated 5xx errors from {c}",
        "{c} returning errors for some users",
        "Partial outage of {c} in eu-west",
        "{c} health checks failing after deploy",
    ),
    "performance": (
        "Slow responses from {c}",
        "{c} p95 latency above SLO",
        "Database connection pool exhausted on {c}",
        "High CPU on {c} hosts",
        "Slow database queries behind {c}",
    ),
    "data": (
        "Failed writes to {c}",
        "Nightly backup of {c} failed",
        "Replication lag between {c} replicas",
        "Inconsistent records in {c} after migration",
    ),
    "security": (
        "Suspicious login attempts against {c}",
        "Unexpected admin access to {c}",
        "Prompt injection attempts through {c}",
        "Leaked API token with access to {c}",
    ),
    "external": (
        "Upstream provider errors affecting {c}",
        "CDN edge errors in front of {c}",
        "Third-party SSO outage blocks {c}",
        "Cloud region degradation affecting {c}",
    ),
}
SUMMARY_SENTENCES = (
    "Error rates on {c} rose to {n}% within a few minutes.",
    "Customers report timeouts when saving documents.",
    "The on-call engineer was paged by the latency alert.",
    "The database primary shows lock contention on the documents table.",
    "Support opened {n} tickets in the first hour.",
    "The last deploy to {c} went out shortly before the first alert.",
    "Dashboards show the queue depth growing steadily.",
    "Only requests routed through the eu-west load balancer are affected.",
    "A retry storm from the mobile clients amplifies the load.",
    "The provider's status page confirms a partial outage.",
)
NOTES = {
    "identified": (
        "A config change to {c} lowered the connection limit; requests queue up.",
        "The release of {c} contains a regression in the retry logic.",
        "The database query planner picked a sequential scan after the statistics reset.",
        "The upstream provider throttles our API key after the traffic spike.",
    ),
    "monitoring": (
        "Rolled back {c} to the previous release; error rate back to normal.",
        "Raised the connection limit and restarted the pool.",
        "Failed over to the standby; latency recovered.",
        "Switched traffic to the secondary provider.",
    ),
    "resolved": (
        "Stable for an hour after the mitigation. Follow-up tickets filed.",
        "No recurrence for 30 minutes; root cause fixed in the next release.",
        "Provider confirmed the fix; our error rates are at baseline.",
    ),
    "closed": (
        "Post-mortem not required; follow-ups tracked in the backlog.",
        "Post-mortem held; action items assigned.",
    ),
    "investigating": (
        "The error rate climbed again after the mitigation.",
        "The suspected root cause does not explain the second region.",
    ),
}
SEVERITY_REASONS = (
    "Customer-facing during peak hours; treat as higher until verified.",
    "Impact smaller than the assessment suggests; only internal users.",
    "Contractual SLA with our largest customer is at risk.",
)
FALSE_ALARM_NOTES = (
    "The nightly analytics job runs on the replica; raise the CPU alert threshold to 90%.",
    "Synthetic check hit a maintenance window; exclude the window from the alert.",
    "Disk alert fired on a volume that is being decommissioned; remove the check.",
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=10, help="untimed requests per page first")
    parser.add_argument("--reseed", action="store_true", help="wipe and recreate the bench data")
    parser.add_argument(
        "--show-sql",
        action="store_true",
        help="print each page's slowest SQL statements (from the query-count request)",
    )
    parser.add_argument(
        "--any-database",
        action="store_true",
        help='allow a database whose name does not contain "bench" (its incidents get wiped)',
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be at least 1 and --warmup at least 0")
    return args


# --- database and Django set-up -------------------------------------------------------------


def ensure_database(url: str, any_database: bool) -> str:
    """Create the database named in a PostgreSQL URL if it does not exist; returns its name."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        sys.exit(f"The benchmark needs PostgreSQL; DATABASE_URL is {parts.scheme}://...")
    name = unquote(parts.path.lstrip("/"))
    if not name:
        sys.exit("DATABASE_URL names no database.")
    if "bench" not in name and not any_database:
        sys.exit(
            f"Refusing to seed database {name!r}: the benchmark wipes its incidents. Use a "
            'database whose name contains "bench", or pass --any-database.'
        )
    admin = make_conninfo(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        dbname="postgres",
    )
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"Created database {name}.")
    return name


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "portal.settings"
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    # DEBUG stays at its default: DEBUG=0 needs a SECRET_KEY and redirects plain HTTP to
    # HTTPS. Instead DEBUG is switched off after set-up, before the first request or template,
    # so that queries are not recorded and templates compile without debug information.
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False

    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# --- seeding ---------------------------------------------------------------------------------


def seed(reseed: bool) -> tuple[str, float | None]:
    """Make sure the bench data is there; returns the heavy incident's reference and the
    seconds seeding took (None when existing data was reused)."""
    from django.contrib.auth import get_user_model

    from incidents.models import Incident, TimelineEvent

    heavy = existing_heavy_incident()
    complete = (
        heavy is not None
        and Incident.objects.count() == N_INCIDENTS
        and get_user_model().objects.filter(username=BENCH_USER, profile__isnull=False).exists()
    )
    if complete and not reseed:
        print(f"Reusing existing data ({N_INCIDENTS:,} incidents; --reseed to recreate).")
        return heavy, None
    started = time.perf_counter()
    from django.db import transaction

    with transaction.atomic():
        wipe()
        users = ensure_users()
        components = ensure_components()
        heavy = create_incidents(users, components)
    analyze()
    elapsed = time.perf_counter() - started
    print(
        f"Seeded {Incident.objects.count():,} incidents, "
        f"{TimelineEvent.objects.count():,} timeline events in {elapsed:.1f} s."
    )
    return heavy, elapsed


def existing_heavy_incident() -> str | None:
    from django.db.models import Count

    from incidents.models import Incident, IncidentChecklist

    reference = (
        Incident.objects.annotate(n=Count("events"))
        .filter(n=N_HEAVY_EVENTS)
        .values_list("reference", flat=True)
        .first()
    )
    if reference and IncidentChecklist.objects.filter(incident__reference=reference).exists():
        return reference
    return None


def wipe() -> None:
    from django.db import connection

    from incidents.models import (
        Component,
        ComponentGroup,
        Incident,
        IncidentChecklist,
        IncidentChecklistItem,
        IncidentCounter,
        TimelineEvent,
    )

    models = (
        TimelineEvent,
        IncidentChecklistItem,
        IncidentChecklist,
        Incident.components.through,
        Incident,
        IncidentCounter,
        Component,
        ComponentGroup,
    )
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in models)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def analyze() -> None:
    """Fresh statistics, as autovacuum would have them on a database that grew over time."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def ensure_users() -> list:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from portal import roles
    from portal.models import Profile

    User = get_user_model()
    responder = Group.objects.get(name=roles.RESPONDER)
    users = []
    for username, display, tz in PEOPLE:
        user, created = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@example.org"}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        user.groups.add(responder)
        Profile.objects.update_or_create(
            user=user, defaults={"display_name": display, "time_zone": tz}
        )
        users.append(user)
    return users


def ensure_components() -> list:
    from incidents.management.commands.seed_demo import COMPONENTS
    from incidents.models import Component, ComponentGroup

    components = []
    for gpos, (group_name, names) in enumerate(COMPONENTS):
        group, _ = ComponentGroup.objects.get_or_create(
            name=group_name, defaults={"position": gpos}
        )
        for pos, name in enumerate(names):
            component, _ = Component.objects.get_or_create(
                name=name, defaults={"group": group, "position": pos}
            )
            components.append(component)
    return components


class Plan:
    """One incident's fields and timeline, built the way the services would have built them."""

    def __init__(self, incident, components: list):
        self.incident = incident
        self.components = components
        self.events: list[dict] = []
        self.version = 1

    def event(self, kind, actor, at, params=None, *, bump=True, visibility="internal"):
        if bump and self.events:
            self.version += 1
        self.events.append(
            {
                "kind": kind,
                "actor": actor,
                "occurred_at": at,
                "params": {**(params or {}), "v": self.version},
                "visibility": visibility,
            }
        )


def _assessment(rng: random.Random, type_: str, severity: str) -> dict:
    from incidents.impact import RecoveryComplexity, Scope, Symptom

    high = severity in {"P1", "P2"}
    symptom = {
        "P1": (Symptom.COMPLETE_OUTAGE, Symptom.DEGRADED),
        "P2": (Symptom.DEGRADED, Symptom.FEATURE_UNAVAILABLE, Symptom.COMPLETE_OUTAGE),
        "P3": (Symptom.INTERMITTENT, Symptom.DEGRADED, Symptom.UNKNOWN),
        "P4": (Symptom.COSMETIC, Symptom.UNKNOWN, Symptom.INTERMITTENT),
    }[severity]
    return {
        "users_affected": rng.choice([None, rng.randint(5, 20_000 if high else 900)]),
        "users_affected_percent": rng.choice([None, rng.randint(1, 100 if high else 9)]),
        "symptom": rng.choice(symptom),
        "impact_revenue": high and rng.random() < 0.5,
        "impact_reputation": high and rng.random() < 0.4,
        "impact_compliance": type_ in {"security", "data"} and rng.random() < 0.3,
        "impact_sla": high and rng.random() < 0.3,
        "technical_scope": rng.choice(
            (Scope.PLATFORM, Scope.MULTIPLE) if severity == "P1" else tuple(Scope.values)
        ),
        "data_risk": type_ == "data" and rng.random() < 0.5,
        "security_implications": type_ == "security",
        "recovery_complexity": rng.choice(RecoveryComplexity.values),
    }


def _final_statuses(rng: random.Random) -> list[str]:
    """40 active incidents (the heavy one is the 41st), ~3% false alarms, the rest resolved or
    closed (decided later, by age); one status per generated incident."""
    from incidents.models import Status

    active = (
        [Status.TRIAGE] * 6
        + [Status.INVESTIGATING] * 14
        + [Status.IDENTIFIED] * 10
        + [Status.MONITORING] * 10
    )
    n_false = N_INCIDENTS * 3 // 100
    rest = N_INCIDENTS - 1 - len(active) - n_false
    statuses = active + [Status.FALSE_ALARM] * n_false + ["done"] * rest
    rng.shuffle(statuses)
    return statuses


def create_incidents(users: list, components: list) -> str:
    from django.conf import settings
    from django.utils import timezone

    from incidents.impact import Assessment, suggest_severity
    from incidents.models import (
        ACTIVE_STATUSES,
        Incident,
        IncidentCounter,
        Source,
        Status,
        TimelineEvent,
    )
    from incidents.severity import SEVERITIES
    from incidents.taxonomy import TYPES
    from incidents.transitions import TRANSITIONS

    rng = random.Random(SEED)
    now = timezone.now().replace(microsecond=0)
    severities = rng.choices(["P1", "P2", "P3", "P4"], weights=[5, 15, 40, 40], k=N_INCIDENTS)
    statuses = _final_statuses(rng)
    plans: list[Plan] = []

    def note(status: str, comp: str) -> str:
        return rng.choice(NOTES[status]).format(c=comp)

    for i in range(N_INCIDENTS - 1):
        severity, final = severities[i], statuses[i]
        active = final in ACTIVE_STATUSES
        if active:
            declared_at = now - timedelta(minutes=rng.randint(5, 3 * 24 * 60))
        else:
            declared_at = now - timedelta(seconds=rng.randint(3 * 86400, 730 * 86400))
        if final == "done":
            recent = now - declared_at < timedelta(days=45)
            final = Status.RESOLVED if rng.random() < (0.7 if recent else 0.15) else Status.CLOSED
        type_ = rng.choice(list(TYPES))
        subtypes = TYPES[type_][1]
        subtype = f"{type_}.{rng.choice(subtypes)[0]}" if rng.random() < 0.85 else ""
        comps = rng.sample(components, rng.choice((1, 1, 2, 2, 3)))
        comp = comps[0].name
        # Alerts start in Triage; so do the false alarms and the incidents still in triage.
        triage = final in {Status.TRIAGE, Status.FALSE_ALARM} or rng.random() < 0.25
        source = Source.ALERT if triage and rng.random() < 0.7 else Source.MANUAL
        actor = None if source == Source.ALERT else rng.choice(users)
        impact = _assessment(rng, type_, severity)
        suggested = suggest_severity(Assessment.of(impact)).severity
        reason = "" if suggested == severity else rng.choice(SEVERITY_REASONS)
        summary = " ".join(
            s.format(c=comp, n=rng.randint(2, 60))
            for s in rng.sample(SUMMARY_SENTENCES, rng.randint(1, 4))
        )
        incident = Incident(
            title=rng.choice(TITLES[type_]).format(c=comp),
            summary=summary,
            type=type_,
            subtype=subtype,
            severity=severity,
            status=Status.TRIAGE if triage else Status.INVESTIGATING,
            source=source,
            detected_at=declared_at - timedelta(minutes=rng.randint(0, 30)),
            declared_at=declared_at,
            acknowledged_at=None if triage else declared_at,
            verified_at=None if triage else declared_at,
            declared_by=actor,
            **impact,
        )
        plan = Plan(incident, comps)
        plan.event(
            "declared",
            actor,
            declared_at,
            {
                "severity": severity,
                "status": incident.status,
                "suggested_severity": suggested,
                "override_reason": reason,
                "source": source,
            },
        )
        t = declared_at
        worker = rng.choice(users)
        level = SEVERITIES[severity]
        if triage:
            t += timedelta(minutes=rng.randint(2, 90))
            # The durable timer fires at the due time, or at the first sweep after declaring.
            breach_at = max(incident.detected_at + level.response_time, declared_at)
            breach_at += timedelta(seconds=rng.randint(1, 5))
            if breach_at < t and rng.random() < 0.5:
                plan.event(
                    "response_breached",
                    None,
                    breach_at,
                    {"severity": severity, "response_time": level.response_time_display},
                    bump=False,
                )
            if final == Status.FALSE_ALARM:
                fa_note = rng.choice(FALSE_ALARM_NOTES)
                incident.status, incident.closed_at = Status.FALSE_ALARM, t
                incident.false_alarm_note = fa_note
                plan.event("false_alarm", worker, t, {"monitoring_change": fa_note})
            elif final != Status.TRIAGE:
                incident.status = Status.INVESTIGATING
                incident.acknowledged_at = incident.verified_at = t
                plan.event("acknowledged", worker, t)
                plan.event("verified", worker, t, {"status": Status.INVESTIGATING}, bump=False)
        if rng.random() < 0.2 and incident.status in ACTIVE_STATUSES:
            t += timedelta(minutes=rng.randint(1, 30))
            old = incident.users_affected
            new = rng.randint(10, 5000)
            incident.users_affected = new
            changes = {"Users affected": ["" if old is None else str(old), str(new)]}
            plan.event("updated", worker, t, {"changes": changes})
        path = {
            Status.IDENTIFIED: [Status.IDENTIFIED],
            Status.MONITORING: [Status.IDENTIFIED, Status.MONITORING],
            Status.RESOLVED: [Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED],
            Status.CLOSED: [Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED, Status.CLOSED],
        }.get(final, [])
        if path and path[0] == Status.IDENTIFIED and rng.random() < 0.3:
            path = path[1:]  # mitigated before the root cause was known
        for to in path:
            step = timedelta(minutes=rng.randint(5, 240))
            if to == Status.CLOSED:
                step = timedelta(days=rng.randint(1, 10))
            t += step
            transition = TRANSITIONS[incident.status][to]
            if transition.stamps and getattr(incident, transition.stamps) is None:
                setattr(incident, transition.stamps, t)
            plan.event(
                "status_changed",
                worker,
                t,
                {
                    "from": incident.status,
                    "to": to,
                    "note_label": transition.note_label,
                    "note": note(to, comp),
                },
                visibility="public" if rng.random() < 0.5 else "internal",
            )
            incident.status = to
        incident.version = plan.version
        plans.append(plan)

    heavy = _heavy_plan(rng, users, components, now)
    plans.append(heavy)

    # References in declaration order, numbered per year like _allocate_reference does.
    prefix = settings.INCIDENT_REFERENCE_PREFIX
    counters: dict[int, int] = {}
    for plan in sorted(plans, key=lambda p: p.incident.declared_at):
        year = plan.incident.declared_at.year
        counters[year] = counters.get(year, 0) + 1
        plan.incident.reference = f"{prefix}-{year}-{counters[year]:04d}"
    IncidentCounter.objects.bulk_create(
        IncidentCounter(year=year, last=last) for year, last in counters.items()
    )

    Incident.objects.bulk_create((p.incident for p in plans), batch_size=2000)
    Through = Incident.components.through
    Through.objects.bulk_create(
        (
            Through(incident_id=p.incident.pk, component_id=c.pk)
            for p in plans
            for c in p.components
        ),
        batch_size=5000,
    )
    TimelineEvent.objects.bulk_create(
        (TimelineEvent(incident=p.incident, **e) for p in plans for e in p.events),
        batch_size=5000,
    )
    _copy_checklists(rng, heavy.incident, users)
    return heavy.incident.reference


def _heavy_plan(rng: random.Random, users: list, components: list, now) -> Plan:
    """A long-running P2 with 1,000 events: many edits, severity changes and status swings."""
    from incidents.impact import Assessment, suggest_severity
    from incidents.models import Incident, Source, Status
    from incidents.severity import SEVERITIES
    from incidents.transitions import TRANSITIONS

    declared_at = now - timedelta(days=20, hours=3)
    comps = [c for c in components if c.name in {"Database", "API", "Web app"}] or components[:3]
    impact = _assessment(rng, "performance", "P2")
    suggested = suggest_severity(Assessment.of(impact)).severity
    incident = Incident(
        title="Database latency spikes slow down saves across the platform",
        summary=(
            "Since the storage migration, the database primary shows latency spikes of several "
            "seconds every few minutes. Saves and API writes time out during a spike."
        ),
        type="performance",
        subtype="performance.database_performance",
        severity="P2",
        status=Status.TRIAGE,
        source=Source.ALERT,
        detected_at=declared_at - timedelta(minutes=6),
        declared_at=declared_at,
        declared_by=None,
        **impact,
    )
    plan = Plan(incident, comps)
    plan.event(
        "declared",
        None,
        declared_at,
        {
            "severity": "P2",
            "status": Status.TRIAGE,
            "suggested_severity": suggested,
            "override_reason": "" if suggested == "P2" else SEVERITY_REASONS[0],
            "source": Source.ALERT,
        },
    )
    t = declared_at + timedelta(minutes=45)
    plan.event(
        "response_breached",
        None,
        incident.detected_at + SEVERITIES["P2"].response_time,
        {"severity": "P2", "response_time": SEVERITIES["P2"].response_time_display},
        bump=False,
    )
    ack = users[1]
    incident.status = Status.INVESTIGATING
    incident.acknowledged_at = incident.verified_at = t
    plan.event("acknowledged", ack, t)
    plan.event("verified", ack, t, {"status": Status.INVESTIGATING}, bump=False)
    step = (now - timedelta(minutes=10) - t) / N_HEAVY_EVENTS
    editable = ("Users affected", "Users affected (%)", "Summary", "Symptom", "Scope")
    while len(plan.events) < N_HEAVY_EVENTS - 1:
        t += step
        actor = rng.choice(users)
        roll = rng.random()
        moves = {k: v for k, v in TRANSITIONS[incident.status].items() if k != Status.RESOLVED}
        if roll < 0.25 and moves:
            to, transition = rng.choice(list(moves.items()))
            if transition.stamps and getattr(incident, transition.stamps) is None:
                setattr(incident, transition.stamps, t)
            plan.event(
                "status_changed",
                actor,
                t,
                {
                    "from": incident.status,
                    "to": to,
                    "note_label": transition.note_label,
                    "note": rng.choice(NOTES[to]).format(c="Database"),
                },
                visibility="public" if rng.random() < 0.3 else "internal",
            )
            incident.status = to
        elif roll < 0.32:
            new = "P1" if incident.severity == "P2" else "P2"
            reason = rng.choice(SEVERITY_REASONS)
            params = {"from": incident.severity, "to": new, "reason": reason}
            plan.event("severity_changed", actor, t, params)
            incident.severity = new
        else:
            fields = rng.sample(editable, rng.randint(1, 3))
            changes = {f: [str(rng.randint(1, 900)), str(rng.randint(1, 900))] for f in fields}
            plan.event("updated", actor, t, {"changes": changes})
    # The last event leaves it in Monitoring: an active incident close to resolution.
    t += step
    if incident.status == Status.MONITORING:
        changes = {"Users affected (%)": [str(rng.randint(10, 40)), "0"]}
        plan.event("updated", users[1], t, {"changes": changes})
    else:
        transition = TRANSITIONS[incident.status][Status.MONITORING]
        plan.event(
            "status_changed",
            users[1],
            t,
            {
                "from": incident.status,
                "to": Status.MONITORING,
                "note_label": transition.note_label,
                "note": rng.choice(NOTES["monitoring"]).format(c="Database"),
            },
        )
        if incident.mitigated_at is None:
            incident.mitigated_at = t
        incident.status = Status.MONITORING
    incident.version = plan.version
    return plan


def _copy_checklists(rng: random.Random, incident, users: list) -> None:
    """As services._copy_checklists, with part of the items ticked off."""
    from incidents.models import ChecklistTemplate, IncidentChecklist, IncidentChecklistItem

    for template in ChecklistTemplate.objects.prefetch_related("items"):
        checklist = IncidentChecklist.objects.create(
            incident=incident, kind=template.kind, title=template.title, position=template.position
        )
        done = template.kind != "resolution"
        start = incident.declared_at + timedelta(minutes=10)
        IncidentChecklistItem.objects.bulk_create(
            IncidentChecklistItem(
                checklist=checklist,
                position=item.position,
                text=item.text,
                done_at=start + timedelta(minutes=item.position) if done else None,
                done_by=rng.choice(users) if done else None,
            )
            for item in template.items.all()
        )


# --- measuring -------------------------------------------------------------------------------


def pages(heavy: str) -> list[tuple[str, str, dict]]:
    htmx = {"HX-Request": "true"}
    return [
        ("Dashboard", "/", {}),
        ("List", "/incidents/", {}),
        ("List filtered", "/incidents/?severity=P2&status=resolved&q=database", {}),
        ("List type+sort p3", "/incidents/?type=performance&sort=severity&page=3", {}),
        ("List htmx fragment", "/incidents/?q=database", htmx),
        ("Incident 1k events", f"/incidents/{heavy}/", {}),
        ("Incident newest 1st", f"/incidents/{heavy}/?order=newest", {}),
    ]


def measure(client, url: str, headers: dict, requests: int, warmup: int, show_sql: bool):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(warmup):
        check(client.get(url, headers=headers), url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    check(response, url)
    size = len(response.content)
    # Read them now: every request starts by clearing the connection's query log.
    queries = list(ctx.captured_queries)
    if show_sql:
        slowest = sorted(queries, key=lambda q: float(q["time"]), reverse=True)
        print(f"\n  {url}: {len(queries)} queries, slowest:")
        for query in slowest[:3]:
            print(f"    {float(query['time']) * 1000:7.2f} ms  {query['sql'][:300]}")
    times = []
    gc.collect()
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        check(response, url)
    return len(queries), size, times


def check(response, url: str) -> None:
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"


def p95(times: list[float]) -> float:
    if len(times) == 1:
        return times[0]
    return statistics.quantiles(times, n=100, method="inclusive")[94]


def machine_info() -> list[str]:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        db_version = cursor.fetchone()[0]
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"Machine:  {platform.node()} {platform.machine()}, nproc {cpus}, load average {load}",
        f"Python:   {platform.python_version()} ({platform.python_implementation()}), "
        f"Django {django.get_version()}",
        f"Database: {db_version}",
        f"          {connection.settings_dict['NAME']} at "
        f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}",
    ]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    ensure_database(url, args.any_database)
    setup_django(url)

    from django.contrib.auth import get_user_model
    from django.test import Client

    heavy, _ = seed(args.reseed)
    user = get_user_model().objects.get(username=BENCH_USER)
    client = Client()
    client.force_login(user)

    print()
    for line in machine_info():
        print(line)
    print(f"Requests: {args.warmup} warm-up + {args.requests} timed per page, as {user.username}")
    rows = []
    for name, path, headers in pages(heavy):
        queries, size, times = measure(
            client, path, headers, args.requests, args.warmup, args.show_sql
        )
        rows.append((name, path, queries, size, times))

    print(f"\nTarget: p95 < {TARGET_P95_MS:.0f} ms\n")
    header = f"{'Page':<20} {'SQL':>4} {'KB':>6} {'median':>8} {'p95':>8} {'max':>8}  {'':4}  URL"
    print(header)
    print("-" * (len(header) + 40))
    failed = 0
    for name, path, queries, size, times in rows:
        p = p95(times)
        verdict = "PASS" if p < TARGET_P95_MS else "FAIL"
        failed += verdict == "FAIL"
        print(
            f"{name:<20} {queries:>4} {size / 1024:>6.1f} {statistics.median(times):>8.1f} "
            f"{p:>8.1f} {max(times):>8.1f}  {verdict}  {path}"
        )
    print("(times in ms, server side through django.test.Client; SQL = queries per request)")
    print(f"\n{len(rows) - failed} of {len(rows)} pages meet the target.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
