"""Sharing a published post-mortem (spec "Documentation and Sharing"): its summary and link,
emailed through the outbox to the members of the teams chosen."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal import notifications
from portal.errors import ApplicationError
from portal.models import Team

from .. import authority
from ..models import PostMortem

SUMMARY_MAX = 1500
NOTE_MAX = 2000


@transaction.atomic
def postmortem_share(*, actor, postmortem: PostMortem, team_ids: list[int], note: str = "",
                     now=None) -> int:  # fmt: skip
    """Returns how many people it was sent to."""
    now = now or timezone.now()
    postmortem = PostMortem.objects.select_related("incident").get(pk=postmortem.pk)
    authority.require("share", actor, postmortem)
    if postmortem.published_revision == 0:
        raise ApplicationError("Share it once a revision is published.")
    teams = list(Team.objects.filter(pk__in=team_ids).prefetch_related("members"))
    if not teams or len(teams) != len(set(team_ids)):
        raise ApplicationError("Choose at least one team from the list.", field="teams")
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ApplicationError(f"At most {NOTE_MAX} characters.", field="note")
    people = {u.pk: u for t in teams for u in t.members.all() if u.is_active and u.email}
    if not people:
        raise ApplicationError(
            "Nobody in those teams has an email address: choose other teams.", field="teams"
        )
    revision = postmortem.revisions.get(number=postmortem.published_revision)
    summary = revision.content["sections"].get("summary", "")
    if len(summary) > SUMMARY_MAX:
        summary = summary[:SUMMARY_MAX].rsplit(" ", 1)[0] + " …"
    incident = postmortem.incident
    url = settings.SITE_URL.rstrip("/") + postmortem.get_absolute_url()
    body = "\n\n".join(
        part
        for part in (
            note and f"{actor.get_full_name() or actor.get_username()} writes: {note}",
            f"Post-mortem of {incident.reference} {incident.title} "
            f"(revision {revision.number}, published {revision.published_at:%Y-%m-%d}).",
            summary,
            f"Read it in full: {url}",
        )
        if part
    )
    # One sharing per team set and minute: a double-click sends nothing twice.
    stamp = now.strftime("%Y%m%dT%H%M")
    teams_key = ",".join(str(pk) for pk in sorted(set(team_ids)))
    notifications.notify(
        key=f"postmortem-share:{postmortem.pk}:r{revision.number}:{teams_key}:{stamp}",
        reason="postmortem_shared",
        recipients=list(people.values()),
        subject=f"Post-mortem: {incident.reference} {incident.title}",
        body=body,
        url=postmortem.get_absolute_url(),  # a path: the email sender makes it absolute
        topic=f"postmortem:{postmortem.pk}",
        now=now,
    )
    return len(people)
