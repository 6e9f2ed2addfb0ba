"""Demo runbook content (make run): links the shipped runbooks to the demo's teams and
components (they were loaded on migrate, before those existed), records a drill of the
database runbook, and leaves an update of it waiting for review. Safe to run again."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from runbooks import services
from runbooks.models import Draft, Runbook


class Command(BaseCommand):
    help = "Link the shipped runbooks to the demo and add demo runbook activity (idempotent)."

    def handle(self, *args, **options):
        services.load_shipped()
        users = {u.username: u for u in get_user_model().objects.filter(is_active=True)}
        database = Runbook.objects.filter(slug="database-incidents").first()
        alice, carol = users.get("alice"), users.get("carol")
        if database is None or alice is None or carol is None:
            self.stdout.write("Runbooks linked (no demo users: nothing else added).")
            return
        now = timezone.now()
        if not database.tests.exists():
            services.test_record(
                actor=carol,
                runbook=database,
                tested_on=(now - timedelta(days=12)).date(),
                exercise="Quarterly restore drill on staging",
                outcome="partly",
                notes="The point-in-time restore took 38 minutes; step 5 needed the replica "
                "paused first. Proposed as an update.",
                now=now,
            )
        if database.versions.count() == 1 and not Draft.objects.filter(runbook=database).exists():
            draft = services.draft_start(actor=alice, runbook=database, now=now)
            sections = dict(draft.sections)
            sections["recovery"] = sections["recovery"].replace(
                "5. If data corruption is detected, restore",
                "5. If data corruption is detected, pause replication on the replicas first "
                "(the restore drill showed a replica racing the restore), then restore",
            )
            draft = services.draft_save(
                actor=alice, runbook=database, sections=sections, expected_version=draft.version
            )
            services.draft_submit(
                actor=alice,
                runbook=database,
                change_note="Pause replication before a point-in-time restore (restore drill).",
                expected_version=draft.version,
                now=now,
            )
        # The AI incident under investigation follows the AI runbook, one step done.
        from incidents.models import Incident
        from incidents.services import checklist_item_set

        ai = Runbook.objects.filter(slug="ai-service-incidents").first()
        bob = users.get("bob")
        p2 = Incident.objects.filter(title="AI suggestions timing out").first()
        if ai and bob and p2 and p2.is_active and not p2.runbooks.exists():
            use = services.runbook_follow(actor=bob, incident=p2, runbook=ai)
            first = use.checklist.items.order_by("position").first()
            if first is not None:
                checklist_item_set(actor=bob, item=first, done=True)
        self.stdout.write(self.style.SUCCESS("Demo runbooks ready."))
