"""Demo post-mortem content (make run): the demo's resolved P1 gets a written, reviewed and
published post-mortem with action items, through the services. Safe to run again."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.utils import timezone

from postmortems import services
from postmortems.models import PostMortem, Status

TITLE = "Logins failing for all users"

SECTIONS = {
    "summary": (
        "A routine key rotation replaced the key that signs login sessions, but the "
        "authentication service kept the old one. Every new login failed with HTTP 500 for "
        "55 minutes; existing sessions kept working. Rolling the rotation back restored "
        "logins."
    ),
    "impact_users": (
        "All users trying to sign in (about 18,000 attempts failed). Users already signed "
        "in were not affected. Customers were told on the status page within 12 minutes."
    ),
    "business_impact": (
        "Revenue: sign-ups stopped for the duration. Reputation: 140 support tickets. "
        "Enterprise SLA: the monthly availability target was missed for two customers."
    ),
    "supporting_material": (
        "- [Auth error-rate dashboard](https://grafana.example.com/d/auth-errors)\n"
        "- [Deploy log of the key rotation](https://ci.example.com/pipelines/8812)\n"
        "- The incident's status updates and the #inc channel export"
    ),
    "detection": (
        "The login error-rate alert fired 4 minutes after the rotation. It pages only "
        "above 20% errors for 3 minutes; a synthetic login check would have caught it in "
        "one."
    ),
    "response": (
        "The Incident Commander was named at once and the status page went up within 12 "
        "minutes. Finding the change took 15 minutes because key rotations are not in the "
        "deploy log."
    ),
    "resolution": "Rolling the key back restored logins; the rollback held for 30 minutes.",
    "went_well": "- Fast, clear public communication\n- A rollback path existed and worked",
    "could_improve": (
        "- Key rotation is a one-step change with no check that consumers picked up the new "
        "key\n- Configuration changes are invisible in the deploy log"
    ),
    "root_cause": (
        "**Primary:** the rotation job swaps the signing key in one step; the authentication "
        "service caches keys for 24 hours.\n\n**Contributing:** no pre-flight check, no "
        "synthetic login monitoring, and rotations run outside the change calendar."
    ),
    "lessons_learned": (
        "Secrets are configuration, and configuration changes need the same review, "
        "visibility and staged rollout as code."
    ),
}
WHYS = [
    "Logins failed with HTTP 500.",
    "The authentication service could not verify newly signed sessions.",
    "It still held the previous signing key in its 24-hour cache.",
    "The rotation job replaced the key in one step, without a grace period.",
    "Key rotation was designed before services cached keys, and never revisited.",
]
FISHBONE = {
    "process": ["Rotations outside the change calendar", "No review of the rotation job"],
    "technology": ["24-hour key cache", "One-step key swap"],
    "environment": ["Rotation ran at peak sign-in time"],
}
ITEMS = [
    ("Two-phase key rotation with a grace period", "prevention", "high", "high", 21),
    ("Synthetic login check every minute, paging on two failures", "detection", "high", "low", 7),
    ("Show configuration and secret changes in the deploy log", "response", "low", "low", 10),
    ("Runbook: roll back a key rotation", "recovery", "low", "high", 30),
]


class Command(BaseCommand):
    help = "Write, review and publish the demo P1's post-mortem (idempotent)."

    def handle(self, *args, **options):
        users = {u.username: u for u in get_user_model().objects.all()}
        postmortem = PostMortem.objects.filter(incident__title=TITLE).first()
        if (
            postmortem is None
            or postmortem.status != Status.DRAFT
            or postmortem.summary == SECTIONS["summary"]
        ):
            self.stdout.write("Demo post-mortem: nothing to do.")
            return
        alice, carol = users["alice"], users["carol"]
        participants = [
            u.pk for name, u in users.items() if name in ("alice", "bob", "dana", "carol")
        ]
        services.postmortem_update(
            actor=alice,
            postmortem=postmortem,
            draft=services.Draft(
                sections=SECTIONS,
                five_whys=WHYS,
                fishbone=FISHBONE,
                meeting_at=postmortem.incident.resolved_at + timedelta(days=1),
                participant_ids=participants,
                owner_id=alice.pk,
            ),
            expected_version=postmortem.version,
        )
        owners = [users.get(n, alice) for n in ("alice", "bob", "dana", "bob")]
        today = timezone.localdate()
        for (title, category, impact, effort, days), owner in zip(ITEMS, owners, strict=True):
            services.action_item_create(
                actor=alice,
                postmortem=postmortem,
                data=services.ItemInput(
                    title=title,
                    owner_id=owner.pk,
                    due_on=today + timedelta(days=days),
                    category=category,
                    impact=impact,
                    effort=effort,
                ),
            )
        services.comment_add(
            actor=carol,
            postmortem=postmortem,
            body="Clear and blameless. Please add the ticket for the synthetic check.",
        )
        services.postmortem_submit(actor=alice, postmortem=postmortem)
        services.postmortem_publish(
            actor=carol, postmortem=postmortem, note="Reviewed in the weekly meeting"
        )
        self.stdout.write("Demo post-mortem published.")
