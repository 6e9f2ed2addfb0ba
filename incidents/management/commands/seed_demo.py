"""Demo data for `make run`: people in each role, teams, the platform's components and
incidents in several states, all created through the services so their timelines are real.
Idempotent: a second run changes nothing."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from incidents import services
from incidents.models import (
    Component,
    ComponentGroup,
    Incident,
    Integration,
    Status,
    Subscriber,
    SubscriberKind,
    SubscriberState,
)
from portal import roles
from portal.models import Escalation, Profile, Team
from portal.oncall import demo as oncall_demo
from portal.oncall import services as oncall

DEMO_PASSWORD = "demo-portal-2026"

USERS = (
    # username, display name, role, teams, time zone, staff
    ("alice", "Alice Okafor", roles.RESPONDER, ("Platform",), "Europe/Berlin", False),
    ("bob", "Bob Lindqvist", roles.RESPONDER, ("AI Services",), "America/New_York", False),
    ("dana", "Dana Reyes", roles.RESPONDER, ("Security",), "America/Los_Angeles", False),
    ("carol", "Carol Nguyen", roles.MANAGER, ("Platform", "AI Services"), "Europe/London", False),
    ("admin", "Ada Admin", roles.ADMIN, ("Platform",), "UTC", True),
)

TEAMS = (
    ("Platform", "platform", "Web app, API, authentication and infrastructure."),
    ("AI Services", "ai-services", "The AI suggestion service and its providers."),
    ("Security", "security", "Security operations and incident handling."),
    ("Data", "data", "Databases, document storage and backups."),
)

COMPONENTS = (
    ("Core platform", ("Web app", "API", "Authentication", "Real-time collaboration")),
    ("AI", ("AI suggestions service", "AI provider integration")),
    ("Data", ("Database", "Document storage", "Backups")),
    ("Delivery", ("CDN", "Email notifications")),
)


# Which team owns (and is paged for) each group's components.
OWNERS = {"Core platform": "Platform", "AI": "AI Services", "Data": "Data", "Delivery": "Platform"}


class Command(BaseCommand):
    help = "Load demo users, teams, components and incidents (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG=0.")

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create demo users with a known password while DEBUG=0 "
                "(use --force on a throw-away install)."
            )
        with transaction.atomic():
            roles.sync_groups()
            users, teams = self._people()
            oncall_demo.seed(users, teams)
            self._components(teams)
            self._subscribers()
            created = self._incidents(users)
            self._answer_pages(users)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready ({created} new incident{'s' if created != 1 else ''})."
            )
        )

    def _subscribers(self) -> None:
        """A few confirmed status-page subscribers (mail goes to the console in the demo):
        one for everything, one for the AI components only."""
        now = timezone.now()
        for email, names in (
            ("reader@example.org", []),
            ("ai-watcher@example.org", ["AI suggestions service", "AI provider integration"]),
        ):
            subscriber, created = Subscriber.objects.get_or_create(
                kind=SubscriberKind.EMAIL,
                email=email,
                defaults={"state": SubscriberState.ACTIVE, "confirmed_at": now},
            )
            if created and names:
                subscriber.components.set(Component.objects.filter(name__in=names))

    def _people(self):
        User = get_user_model()
        teams = {}
        for name, slug, description in TEAMS:
            teams[name], _ = Team.objects.get_or_create(
                slug=slug, defaults={"name": name, "description": description}
            )
        users = {}
        for username, display, role, team_names, tz, staff in USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"email": f"{username}@example.org", "is_staff": staff},
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
                user.groups.add(Group.objects.get(name=role))
                for team in team_names:
                    teams[team].members.add(user)
            Profile.objects.get_or_create(
                user=user, defaults={"display_name": display, "time_zone": tz}
            )
            users[username] = user
        return users, teams

    def _components(self, teams):
        for gpos, (group_name, names) in enumerate(COMPONENTS):
            group, _ = ComponentGroup.objects.get_or_create(
                name=group_name, defaults={"position": gpos}
            )
            owner = teams[OWNERS[group_name]]
            for pos, name in enumerate(names):
                Component.objects.get_or_create(
                    name=name, defaults={"group": group, "position": pos, "owning_team": owner}
                )

    def _p1_story(self, p1, users, t0):
        """A realistic war room: roles, notes, updates, checklists and the fix."""
        alice, bob, carol = users["alice"], users["bob"], users["carol"]

        def at(minutes):
            return t0 + timedelta(minutes=minutes)

        services.role_assign(actor=alice, incident=p1, role="technical_lead", user=bob, now=at(5))
        services.role_assign(actor=alice, incident=p1, role="communications", user=carol, now=at(6))
        note = services.incident_add_note(
            actor=bob,
            incident=p1,
            tag="hypothesis",
            text="Errors started at 14:03, one minute after the auth deploy.",
            now=at(7),
        )
        services.event_mark_key(actor=alice, event=note, now=at(8))
        auth, web = p1.components.get(name="Authentication"), p1.components.get(name="Web app")
        services.component_set_status(
            actor=alice, component=auth, status="major_outage", incident=p1, now=at(8)
        )
        services.component_set_status(
            actor=alice, component=web, status="partial_outage", incident=p1, now=at(8)
        )
        services.status_update_post(
            actor=carol,
            incident=p1,
            audience="public",
            impact="Nobody can log in. People already logged in can keep working.",
            actions="We are investigating errors in our login service.",
            public_body="Signing in is failing for all users. If you are already signed in, "
            "you can keep working. We are investigating and will update within 30 minutes.",
            now=at(9),
        )
        found = services.incident_add_note(
            actor=bob,
            incident=p1,
            tag="finding",
            text="Token validation fails: the auth service still has the old signing key.",
            now=at(11),
        )
        services.event_mark_key(actor=alice, event=found, now=at(11))
        steps = (
            (
                12,
                Status.IDENTIFIED,
                "The 14:02 deploy rotated the session-signing key without updating the "
                "auth service's secret; token validation fails.",
            ),
            (
                21,
                Status.MONITORING,
                "Rolled back the auth service to the previous release; login success "
                "rate back to 99.8%.",
            ),
        )
        for minutes, status, text in steps:
            services.incident_change_status(
                actor=alice, incident=p1, to=status, note=text, now=at(minutes)
            )
        services.status_update_post(
            actor=carol,
            incident=p1,
            audience="public",
            impact="Logins work again. We are watching error rates closely.",
            actions="A fix has been rolled out; we are monitoring the results.",
            public_body="A fix has been rolled out and signing in works again. We are "
            "monitoring the results.",
            now=at(24),
        )
        for component in (auth, web):
            services.component_set_status(
                actor=alice, component=component, status="operational", incident=p1, now=at(25)
            )
        for item in p1.checklists.get(kind="resolution").items.all()[:4]:
            services.checklist_item_set(actor=alice, item=item, done=True, now=at(55))
        services.incident_change_status(
            actor=alice,
            incident=p1,
            to=Status.RESOLVED,
            note="Rollback held for 30 minutes with normal error rates. Follow-up: key "
            "rotation becomes a two-phase change.",
            resolution=services.ResolutionNotice(
                confirmed=True,
                explanation="A routine change rotated the key that signs login sessions without "
                "updating the authentication service, so logins failed for 55 minutes. No data "
                "was affected.",
                user_action="Sign in again if you were signed out.",
                prevention="Key rotation becomes a two-phase change that is checked before it "
                "goes live.",
                public_message="This incident has been resolved. A configuration change "
                "stopped sign-ins for 55 minutes; no data was affected. If you were signed "
                "out, please sign in again.",
            ),
            now=at(58),
        )

    def _maintenance(self, users, c, now):
        """A finished window last week and one announced for the weekend."""
        from portal import timers

        done = services.maintenance_schedule(
            actor=users["alice"],
            title="Database upgrade",
            description="We are upgrading our database servers. Saving documents may be "
            "slower for a few minutes.",
            components=[c["Database"], c["Document storage"]],
            starts_at=now - timedelta(hours=23),
            ends_at=now - timedelta(hours=22),
            now=now - timedelta(hours=23, minutes=30),
        )
        timers.sweep(now=now - timedelta(hours=22, minutes=30))
        timers.sweep(now=now - timedelta(hours=22))
        done.refresh_from_db()
        services.maintenance_schedule(
            actor=users["alice"],
            title="CDN provider migration",
            description="We are moving to a new CDN provider. Pages may load slowly for up to "
            "30 seconds during the switch.",
            components=[c["CDN"]],
            starts_at=now + timedelta(days=2),
            ends_at=now + timedelta(days=2, hours=2),
            now=now,
        )

    def _answer_pages(self, users) -> None:
        """The demo's incidents were declared in the past: their pages were answered then
        (else the first sweep would page every later step at once, all of them late)."""
        for escalation in Escalation.objects.filter(state__in=Escalation.OPEN_STATES):
            person = (
                escalation.pages.filter(user__isnull=False).values_list("user", flat=True).first()
            )
            who = next((u for u in users.values() if u.pk == person), users["alice"])
            oncall.escalation_acknowledge(
                user=who, escalation=escalation, now=escalation.started_at
            )

    def _incidents(self, users) -> int:
        c = {comp.name: comp for comp in Component.objects.all()}
        now = timezone.now().replace(microsecond=0)
        created = 0

        def declare(title, *, at, **kwargs):
            nonlocal created
            existing = Incident.objects.filter(title=title).first()
            if existing:
                return existing, False
            created += 1
            return services.incident_declare(title=title, now=at, **kwargs), True

        # A resolved P1 with a realistic timeline.
        t0 = now - timedelta(days=3, hours=5)
        p1, new = declare(
            "Logins failing for all users",
            at=t0 + timedelta(minutes=4),
            actor=users["alice"],
            summary="Every login attempt returns HTTP 500 from the authentication service. "
            "Existing sessions keep working.",
            type="availability",
            subtype="availability.complete_outage",
            severity="P1",
            detected_at=t0,
            components=[c["Authentication"], c["Web app"]],
            users_affected_percent=100,
            symptom="complete_outage",
            impact_revenue=True,
            impact_reputation=True,
            impact_sla=True,
            technical_scope="multiple",
            recovery_complexity="low",
        )
        if new:
            self._p1_story(p1, users, t0)
            self._maintenance(users, c, now)

        # An active P2 under investigation (public by itself: P2, verified).
        p2, new = declare(
            "AI suggestions timing out",
            at=now - timedelta(minutes=22),
            actor=users["bob"],
            summary="p95 latency of the suggestion endpoint is above 20 s; about a third of "
            "requests time out.",
            type="external",
            subtype="external.ai_provider",
            severity="P2",
            detected_at=now - timedelta(minutes=27),
            components=[c["AI suggestions service"], c["AI provider integration"]],
            users_affected_percent=35,
            symptom="degraded",
            technical_scope="multiple",
            recovery_complexity="medium",
        )
        if new:
            services.component_set_status(
                actor=users["bob"],
                component=c["AI suggestions service"],
                status="degraded_performance",
                incident=p2,
                now=now - timedelta(minutes=20),
            )
            services.incident_set_publicity(
                actor=users["bob"],
                incident=p2,
                is_public=True,
                public_title="Slow AI suggestions",
                estimated_resolution_at=now + timedelta(hours=1),
                now=now - timedelta(minutes=19),
            )
            services.status_update_post(
                actor=users["bob"],
                incident=p2,
                audience="public",
                impact="About a third of AI suggestion requests time out.",
                actions="Working with the AI provider; routing to a fallback region.",
                public_body="AI suggestions are slow or time out for some users. Everything "
                "else works. We are working with our provider and will update within an hour.",
                now=now - timedelta(minutes=18),
            )
        # A suspected problem waiting in Triage, already past its response time.
        declare(
            "Spike of failed document saves",
            at=now - timedelta(minutes=40),
            actor=users["dana"],
            summary="Alert-like report from support: some saves fail with a timeout.",
            type="data",
            subtype="data.sync_failure",
            severity="P2",
            detected_at=now - timedelta(minutes=45),
            components=[c["Document storage"]],
            users_affected=1200,
            symptom="intermittent",
            start_in_triage=True,
            severity_reason="Saves are user data; treat as high until verified.",
        )
        # A P3 being worked on, and a cosmetic P4: each has posted its first update (P3/P4
        # have no cadence after that).
        p3, new = declare(
            "Export to PDF slow for large documents",
            at=now - timedelta(hours=2),
            actor=users["alice"],
            summary="Exports of documents over 200 pages take more than a minute.",
            type="performance",
            subtype="performance.slow_api",
            severity="P3",
            detected_at=now - timedelta(hours=3),
            components=[c["API"]],
            users_affected_percent=2,
            symptom="degraded",
        )
        if new:
            services.status_update_post(
                actor=users["alice"],
                incident=p3,
                impact="Exports of very large documents are slow; smaller exports are fine.",
                cause="The PDF renderer may be loading every page's images at once.",
                cause_unconfirmed=True,
                actions="Profiling an export of a 300-page document.",
                now=now - timedelta(hours=1, minutes=45),
            )
        p4, new = declare(
            "Misaligned icons in the editor toolbar on Safari",
            at=now - timedelta(hours=20),
            actor=users["bob"],
            type="availability",
            subtype="availability.feature_unavailable",
            severity="P4",
            detected_at=now - timedelta(hours=21),
            components=[c["Web app"]],
            symptom="cosmetic",
        )
        if new:
            services.status_update_post(
                actor=users["bob"],
                incident=p4,
                impact="Toolbar icons sit a few pixels low in Safari 17; everything works.",
                actions="A CSS fix is in review.",
                now=now - timedelta(hours=19, minutes=30),
            )
        # A false alarm.
        fa, new = declare(
            "Database CPU alert on replica",
            at=now - timedelta(days=1),
            actor=users["dana"],
            type="performance",
            subtype="performance.database_performance",
            severity="P3",
            detected_at=now - timedelta(days=1, minutes=3),
            components=[c["Database"]],
            symptom="unknown",
            start_in_triage=True,
            severity_reason="Unverified alert; may affect saves.",
        )
        if new:
            services.incident_mark_false_alarm(
                actor=users["dana"],
                incident=fa,
                note="The nightly analytics job runs on the replica; raise the CPU alert "
                "threshold to 90% for 10 minutes between 02:00 and 03:00.",
                now=now - timedelta(days=1) + timedelta(minutes=9),
            )
        created += self._alerts(now)
        return created

    def _alerts(self, now) -> int:
        """A Prometheus integration and the alert group it opened: an incident in Triage
        with its alerts, runbook and dashboard links. Its URL is not shown: a demo admin
        makes a fresh integration to post to."""
        from ...intake import payloads
        from ...intake import services as intake

        if Integration.objects.filter(name="Prometheus (demo)").exists():
            return 0
        integration, _ = intake.integration_create(
            actor=None, name="Prometheus (demo)", kind="alertmanager", now=now
        )
        started = now - timedelta(minutes=9)

        def alert(instance: str, fingerprint: str) -> dict:
            return {
                "status": "firing",
                "labels": {
                    "alertname": "DatabaseReplicationLag",
                    "severity": "error",
                    "component": "Database",
                    "instance": instance,
                },
                "annotations": {
                    "summary": "Replication lag above 30 s",
                    "description": f"{instance} is more than 30 s behind the primary.",
                    "runbook_url": "https://runbooks.example.org/database/replication-lag",
                },
                "startsAt": started.isoformat().replace("+00:00", "Z"),
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "https://prometheus.example.org/graph?g0.expr=pg_replication_lag",
                "fingerprint": fingerprint,
            }

        body = {
            "version": "4",
            "groupKey": '{}:{alertname="DatabaseReplicationLag"}',
            "status": "firing",
            "receiver": "portal",
            "groupLabels": {"alertname": "DatabaseReplicationLag"},
            "commonLabels": {"alertname": "DatabaseReplicationLag", "severity": "error"},
            "commonAnnotations": {},
            "externalURL": "https://alertmanager.example.org",
            "alerts": [
                alert("db-replica-1", "5d1f0c2a9b7e4d31"),
                alert("db-replica-2", "8c2e41b07a9d3f66"),
            ],
        }
        intake.alerts_receive(
            integration=integration,
            groups=payloads.alertmanager(body),
            now=now - timedelta(minutes=8),
        )
        return 1
