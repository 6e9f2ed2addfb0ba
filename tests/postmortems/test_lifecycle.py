"""A post-mortem's life: started by the "incident resolved" hook for incidents that need one,
kept across a re-opening, asked for by hand otherwise; review, publication as frozen
revisions, new revisions; and the close guard with a Manager's waiver."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Incident, TimelineEvent
from incidents.statuspage import rules as status_rules
from portal import business_days, timers
from portal.errors import ApplicationError, ConflictError
from portal.models import Timer
from postmortems import services as pm
from postmortems.models import PostMortem, Revision, Status, TimelineEntry

from .conftest import published, resolve, write

pytestmark = pytest.mark.django_db


def written():
    return (
        PostMortem.objects.count(),
        Revision.objects.count(),
        TimelineEntry.objects.count(),
        TimelineEvent.objects.count(),
        list(PostMortem.objects.values_list("status", "version", "revision")),
    )


def test_resolving_a_p1_starts_its_draft_owned_by_the_commander(resolved_p1, responder):
    postmortem = PostMortem.objects.get(incident=resolved_p1)
    assert (postmortem.status, postmortem.owner, postmortem.revision) == ("draft", responder, 1)
    assert postmortem.due_at == business_days.end_of_business_days(resolved_p1.resolved_at, 5)
    # Prefilled from the incident: its summary, root cause, resolution and impact.
    assert postmortem.summary == "Error rate above 20%."
    assert postmortem.root_cause == "A bad configuration push"
    assert "Rolled back" in postmortem.resolution
    assert postmortem.impact_users.startswith("Symptom: Degraded performance")
    # The reminders are durable timers.
    pending = set(
        Timer.objects.filter(
            object_id=postmortem.pk, state="pending", kind__startswith="postmortem"
        ).values_list("kind", "due_at")
    )
    assert pending == {
        ("postmortem_due_soon", postmortem.due_at - timedelta(days=1)),
        ("postmortem_overdue", postmortem.due_at),
    }
    assert resolved_p1.events.filter(kind="postmortem", params__action="started").count() == 1


def test_the_timeline_is_imported_from_key_events_and_milestones_linked_to_them(p1, responder):
    note = services.incident_add_note(actor=responder, incident=p1, text="Gateway pods crashed")
    note_event = p1.events.get(kind="note")
    services.event_mark_key(actor=responder, event=note_event)
    unkeyed = services.incident_add_note(actor=responder, incident=p1, text="Coffee")
    assert note and unkeyed
    incident = resolve(Incident.objects.get(pk=p1.pk), responder)
    postmortem = incident.postmortem
    linked = dict(postmortem.entries.values_list("event__kind", "event_id").distinct())
    texts = list(postmortem.entries.values_list("text", flat=True))
    assert any("Gateway pods crashed" in t for t in texts)
    assert not any("Coffee" in t for t in texts)
    assert {"declared", "status_changed", "note"} <= set(linked)
    assert postmortem.entries.get(event=note_event).at == note_event.occurred_at
    # Importing again adds only what is new.
    later = p1.events.filter(kind="checklist_item").first()
    services.event_mark_key(actor=responder, event=later)
    assert pm.postmortem_import_timeline(actor=responder, postmortem=postmortem) == 1
    assert pm.postmortem_import_timeline(actor=responder, postmortem=postmortem) == 0


def test_resolving_again_after_a_reopening_keeps_the_same_postmortem(resolved_p1, responder):
    first = PostMortem.objects.get(incident=resolved_p1)
    services.incident_change_status(
        actor=responder, incident=resolved_p1, to="investigating", note="It came back"
    )
    again = resolve(Incident.objects.get(pk=resolved_p1.pk), responder)
    assert list(PostMortem.objects.filter(incident=again)) == [first]
    assert first.due_at == PostMortem.objects.get(pk=first.pk).due_at


@pytest.mark.parametrize(
    ("severity", "significant", "expected"),
    [("P2", False, True), ("P3", True, True), ("P3", False, False), ("P4", False, False)],
)
def test_which_resolved_incidents_get_a_postmortem(
    declare, responder, severity, significant, expected
):
    incident = declare(severity=severity, severity_reason="as assessed")
    if significant:
        services.incident_set_significant(
            actor=responder, incident=incident, significant=True, reason="Data export failed"
        )
    resolve(Incident.objects.get(pk=incident.pk), responder)
    assert PostMortem.objects.filter(incident=incident).exists() is expected


def test_a_postmortem_for_an_incident_that_needs_none_needs_someone_to_ask(declare, responder):
    incident = resolve(declare(severity="P4", severity_reason="cosmetic"), responder)
    before = written()
    with pytest.raises(ApplicationError, match="A P4 incident needs no post-mortem: say why"):
        pm.postmortem_start(actor=responder, incident=incident)
    assert written() == before
    postmortem = pm.postmortem_start(
        actor=responder, incident=incident, reason="Third time this month"
    )
    assert (postmortem.requested, postmortem.request_reason) == (True, "Third time this month")
    with pytest.raises(ApplicationError, match="already has a post-mortem"):
        pm.postmortem_start(actor=responder, incident=incident, reason="again")


def test_an_active_incident_gets_no_postmortem_yet(declare, responder):
    incident = declare()
    with pytest.raises(ApplicationError, match="starts once the incident is resolved"):
        pm.postmortem_start(actor=responder, incident=incident, reason="early")
    assert not PostMortem.objects.exists()


def test_closing_waits_for_review_or_a_managers_waiver(resolved_p1, responder, manager):
    postmortem = resolved_p1.postmortem
    before = written()
    with pytest.raises(ApplicationError, match="closes once its post-mortem is in review"):
        services.incident_change_status(
            actor=responder, incident=resolved_p1, to="closed", note="done", followup="postmortem"
        )
    assert Incident.objects.get(pk=resolved_p1.pk).status == "resolved"
    assert written() == before
    with pytest.raises(ApplicationError, match="Only a Manager can waive"):
        pm.postmortem_waive(actor=responder, postmortem=postmortem, reason="Holiday")
    with pytest.raises(ApplicationError, match="Say why"):
        pm.postmortem_waive(actor=manager, postmortem=postmortem, reason="  ")
    assert written() == before
    pm.postmortem_waive(actor=manager, postmortem=postmortem, reason="Team at the offsite")
    services.incident_change_status(
        actor=responder, incident=resolved_p1, to="closed", note="done", followup="postmortem"
    )
    assert Incident.objects.get(pk=resolved_p1.pk).status == "closed"


def test_closing_after_the_postmortem_is_in_review(resolved_p1, responder):
    postmortem = write(resolved_p1.postmortem, responder)
    pm.postmortem_submit(actor=responder, postmortem=postmortem)
    services.incident_change_status(
        actor=responder, incident=resolved_p1, to="closed", note="done", followup="postmortem"
    )
    assert Incident.objects.get(pk=resolved_p1.pk).status == "closed"


def test_choosing_a_postmortem_when_closing_a_p4_asks_for_one(declare, responder):
    incident = resolve(declare(severity="P4", severity_reason="cosmetic"), responder)
    services.incident_change_status(
        actor=responder, incident=incident, to="closed", note="done", followup="postmortem"
    )
    postmortem = PostMortem.objects.get(incident=incident)
    assert (postmortem.requested, postmortem.status) == (True, "draft")


def test_review_needs_the_summary_and_root_causes(postmortem, responder):
    write(postmortem, responder, summary="", root_cause="")
    before = written()
    with pytest.raises(ApplicationError, match="Write the summary and the root causes"):
        pm.postmortem_submit(actor=responder, postmortem=postmortem)
    assert written() == before


def test_publishing_freezes_a_revision_and_only_a_new_revision_changes_it(
    postmortem, responder, manager
):
    revision = published(postmortem, responder, manager)
    assert (revision.number, revision.published_by) == (1, manager)
    assert revision.content["sections"]["summary"] == "What happened."
    assert postmortem.status == Status.PUBLISHED
    before = written()
    with pytest.raises(ApplicationError, match="Revision 1 is published .* start revision 2"):
        pm.postmortem_update(
            actor=responder,
            postmortem=postmortem,
            draft=pm.Draft(sections={"summary": "Rewritten"}),
            expected_version=postmortem.version,
        )
    assert written() == before
    pm.postmortem_revise(actor=responder, postmortem=postmortem)
    postmortem.refresh_from_db()
    assert (postmortem.status, postmortem.revision, postmortem.published_revision) == (
        "draft", 2, 1
    )  # fmt: skip
    write(postmortem, responder, summary="What really happened.")
    pm.postmortem_submit(actor=responder, postmortem=postmortem)
    second = pm.postmortem_publish(actor=manager, postmortem=postmortem, note="New findings")
    assert second.number == 2 and second.note == "New findings"
    assert Revision.objects.get(pk=revision.pk).content["sections"]["summary"] == "What happened."
    assert second.content["sections"]["summary"] == "What really happened."


def test_only_the_owner_or_a_manager_publishes(postmortem, responder, make_user):
    from portal import roles

    bea = make_user("bea", roles.RESPONDER)
    write(postmortem, bea)  # anyone responding may write
    pm.postmortem_submit(actor=responder, postmortem=postmortem)
    with pytest.raises(ApplicationError, match="Only the post-mortem's owner or a Manager"):
        pm.postmortem_publish(actor=bea, postmortem=postmortem)
    assert not Revision.objects.exists()


def test_a_stale_edit_is_refused_and_the_other_persons_text_stays(postmortem, responder, manager):
    opened = postmortem.version
    pm.postmortem_update(
        actor=manager,
        postmortem=postmortem,
        draft=pm.Draft(sections={"summary": "Manny's account"}),
        expected_version=opened,
    )
    with pytest.raises(ConflictError):
        pm.postmortem_update(
            actor=responder,
            postmortem=postmortem,
            draft=pm.Draft(sections={"summary": "Rita's account"}),
            expected_version=opened,
        )
    assert PostMortem.objects.get(pk=postmortem.pk).summary == "Manny's account"


def test_publishing_shows_postmortem_on_the_status_page(postmortem, responder, manager):
    incident = postmortem.incident
    services.incident_set_publicity(actor=responder, incident=incident, is_public=True)
    incident = Incident.objects.get(pk=incident.pk)
    assert status_rules.public_status(incident) == "resolved"
    published(postmortem, responder, manager)
    incident = Incident.objects.get(pk=incident.pk)
    assert incident.postmortem_published_at is not None
    assert status_rules.public_status(incident) == "postmortem"
    from incidents.statuspage import public

    (record,) = [i for i in public.state().incidents if i.id == incident.public_id]
    assert record.status == "postmortem" and not record.is_open


def test_due_reminders_fire_once_each(postmortem):
    from portal.models import Notification

    timers.sweep(postmortem.due_at - timedelta(hours=23))
    timers.sweep(postmortem.due_at - timedelta(hours=22))
    soon = Notification.objects.filter(reason="postmortem_due_soon")
    assert soon.count() == 2  # the owner, in the portal and by email
    assert set(soon.values_list("recipient", flat=True)) == {postmortem.owner_id}
    timers.sweep(postmortem.due_at + timedelta(minutes=1))
    timers.sweep(postmortem.due_at + timedelta(hours=5))
    assert Notification.objects.filter(reason="postmortem_overdue").count() == 2
    assert soon.count() == 2


def test_no_reminder_once_the_meeting_is_recorded(postmortem, responder):
    from portal.models import Notification

    pm.postmortem_update(
        actor=responder,
        postmortem=postmortem,
        draft=pm.Draft(meeting_at=timezone.now() + timedelta(days=1)),
        expected_version=postmortem.version,
    )
    timers.sweep(postmortem.due_at + timedelta(minutes=1))
    assert not Notification.objects.filter(reason__startswith="postmortem").exists()


def test_a_meeting_time_far_from_the_incident_is_refused(postmortem, responder):
    before = written()
    with pytest.raises(ApplicationError, match="within 366 days of the incident's detection"):
        pm.postmortem_update(
            actor=responder,
            postmortem=postmortem,
            draft=pm.Draft(meeting_at=timezone.now() + timedelta(days=400)),
            expected_version=postmortem.version,
        )
    assert written() == before


def test_an_inactive_participant_is_refused(postmortem, responder, make_user):
    gone = make_user("gone")
    gone.is_active = False
    gone.save()
    with pytest.raises(ApplicationError, match="only active people"):
        pm.postmortem_update(
            actor=responder,
            postmortem=postmortem,
            draft=pm.Draft(participant_ids=[gone.pk]),
            expected_version=postmortem.version,
        )
    assert not postmortem.participants.exists()


def test_sharing_emails_the_chosen_teams_through_the_outbox(
    postmortem, responder, manager, make_user
):
    from portal.models import Notification, Team

    team = Team.objects.create(name="Payments", slug="payments")
    member = make_user("pat")
    member.email = "pat@example.com"
    member.save()
    team.members.add(member)
    with pytest.raises(ApplicationError, match="once a revision is published"):
        pm.postmortem_share(actor=responder, postmortem=postmortem, team_ids=[team.pk])
    assert not Notification.objects.exists()
    published(postmortem, responder, manager)
    sent = pm.postmortem_share(
        actor=responder, postmortem=postmortem, team_ids=[team.pk], note="Worth a read"
    )
    assert sent == 1
    (mail,) = Notification.objects.filter(reason="postmortem_shared")
    assert (mail.recipient, mail.channel) == (member, "email")
    assert "What happened." in mail.body and mail.url == postmortem.get_absolute_url()


def test_the_close_guard_counts_a_p3_marked_significant(declare, responder):
    incident = declare(severity="P3", severity_reason="small")
    services.incident_set_significant(
        actor=responder, incident=incident, significant=True, reason="Customer data"
    )
    incident = resolve(Incident.objects.get(pk=incident.pk), responder)
    with pytest.raises(ApplicationError, match="closes once its post-mortem is in review"):
        services.incident_change_status(
            actor=responder, incident=incident, to="closed", note="done", followup="postmortem"
        )


def test_closing_is_allowed_while_the_next_revision_is_a_draft(postmortem, responder, manager):
    published(postmortem, responder, manager)
    pm.postmortem_revise(actor=manager, postmortem=postmortem)
    services.incident_change_status(
        actor=responder,
        incident=postmortem.incident,
        to="closed",
        note="done",
        followup="postmortem",
    )
    assert Incident.objects.get(pk=postmortem.incident_id).status == "closed"


def test_reopening_takes_the_postmortem_status_off_the_public_incident(
    postmortem, responder, manager
):
    published(postmortem, responder, manager)
    incident = Incident.objects.get(pk=postmortem.incident_id)
    assert incident.postmortem_published_at is not None
    services.incident_change_status(
        actor=responder, incident=incident, to="investigating", note="It came back"
    )
    incident = resolve(Incident.objects.get(pk=incident.pk), responder)
    assert incident.postmortem_published_at is None
    assert status_rules.public_status(incident) == "resolved"


def test_a_postmortem_started_late_is_due_from_its_start(declare, responder):
    incident = declare(severity="P3", severity_reason="small")
    incident = resolve(Incident.objects.get(pk=incident.pk), responder)
    Incident.objects.filter(pk=incident.pk).update(resolved_at=timezone.now() - timedelta(days=20))
    services.incident_set_significant(
        actor=responder, incident=incident, significant=True, reason="Data export failed"
    )
    now = timezone.now()
    postmortem = pm.postmortem_start(actor=responder, incident=incident, now=now)
    assert not postmortem.requested
    assert postmortem.due_at == business_days.end_of_business_days(now, 5)


def test_reminders_for_an_owner_who_left_reach_the_managers(postmortem, manager):
    from portal.models import Notification

    owner = postmortem.owner
    owner.is_active = False
    owner.save()
    timers.sweep(postmortem.due_at + timedelta(minutes=1))
    overdue = Notification.objects.filter(reason="postmortem_overdue")
    assert set(overdue.values_list("recipient", flat=True)) == {manager.pk}


def test_a_participant_who_left_stays_on_the_record(postmortem, responder, make_user):
    pat = make_user("pat")
    pm.postmortem_update(
        actor=responder,
        postmortem=postmortem,
        draft=pm.Draft(participant_ids=[pat.pk]),
        expected_version=postmortem.version,
    )
    pat.is_active = False
    pat.save()
    postmortem.refresh_from_db()
    pm.postmortem_update(
        actor=responder,
        postmortem=postmortem,
        draft=pm.Draft(sections={"summary": "Still saved"}, participant_ids=[pat.pk]),
        expected_version=postmortem.version,
    )
    assert list(postmortem.participants.all()) == [pat]


def test_sharing_twice_in_a_row_sends_once(postmortem, responder, manager, make_user):
    from portal.models import Notification, Team

    team = Team.objects.create(name="Payments", slug="payments")
    member = make_user("pat")
    member.email = "pat@example.com"
    member.save()
    team.members.add(member)
    published(postmortem, responder, manager)
    now = timezone.now().replace(second=10)
    for _ in range(2):
        pm.postmortem_share(actor=responder, postmortem=postmortem, team_ids=[team.pk], now=now)
    assert Notification.objects.filter(reason="postmortem_shared").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_starts_at_once_give_one_postmortem_and_a_message(declare, responder, make_user):
    from tests.conftest import race

    incident = resolve(declare(severity="P4", severity_reason="cosmetic"), responder)
    other = make_user("otto", "Responder")

    def start(actor):
        return lambda: pm.postmortem_start(actor=actor, incident=incident, reason="Recurring")

    results = race(start(responder), start(other))
    refused = [r for r in results if isinstance(r, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], ApplicationError)
    assert "already has a post-mortem" in refused[0].message
    assert PostMortem.objects.filter(incident=incident).count() == 1
