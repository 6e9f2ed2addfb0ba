"""Status transitions (spec "Status Transition Criteria"), their requirements and milestones."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services, transitions
from incidents.models import Followup, IncidentChecklistItem, Status
from portal.errors import ApplicationError
from portal.models import Timer
from tests.conftest import race

S = Status
ALL = list(Status.values)


RESOLUTION = services.ResolutionNotice(confirmed=True, explanation="A bad deploy; rolled back.")


def move(incident, actor, to, note="because", **kw):
    if to == S.RESOLVED:
        kw.setdefault("resolution", RESOLUTION)
    moved = services.incident_change_status(actor=actor, incident=incident, to=to, note=note, **kw)
    if to == S.RESOLVED:
        # Resolving starts the post-mortem (P1/P2); these tests are about the incident, so it
        # goes straight to review, which is what closing the incident later waits for.
        postmortem_to_review(moved, actor)
    return moved


def tick_verification(incident, actor):
    for item in IncidentChecklistItem.objects.filter(
        checklist__incident=incident, is_verification=True
    ):
        services.checklist_item_set(actor=actor, item=item, done=True)


def postmortem_to_review(incident, actor):
    """Send the incident's draft post-mortem, if it has one, to review: its summary and root
    causes written, by its owner (or a Manager)."""
    from postmortems import services as pm_services
    from postmortems.forms import PostMortemForm
    from postmortems.models import PostMortem

    postmortem = PostMortem.objects.filter(incident=incident, status="draft").first()
    if postmortem is None:
        return
    data = PostMortemForm.initial_from(postmortem)
    draft = pm_services.Draft(
        sections={"summary": "What happened.", "root_cause": "Why it happened."},
        participant_ids=data["participants"],
    )
    pm_services.postmortem_update(
        actor=actor, postmortem=postmortem, draft=draft, expected_version=postmortem.version
    )
    owner = postmortem.owner if postmortem.owner.is_active else actor
    pm_services.postmortem_submit(actor=owner, postmortem=postmortem)


def bring_to(incident, actor, status):
    path = {
        S.INVESTIGATING: [],
        S.IDENTIFIED: [S.IDENTIFIED],
        S.MONITORING: [S.IDENTIFIED, S.MONITORING],
        S.RESOLVED: [S.IDENTIFIED, S.MONITORING, S.RESOLVED],
        S.CLOSED: [S.IDENTIFIED, S.MONITORING, S.RESOLVED, S.CLOSED],
    }[status]
    for step in path:
        if step == S.RESOLVED:
            tick_verification(incident, actor)
        move(incident, actor, step, followup=Followup.POSTMORTEM if step == S.CLOSED else "")
        incident.refresh_from_db()
    return incident


ALLOWED = {
    (S.INVESTIGATING, S.IDENTIFIED),
    (S.INVESTIGATING, S.MONITORING),
    (S.IDENTIFIED, S.MONITORING),
    (S.IDENTIFIED, S.INVESTIGATING),
    (S.MONITORING, S.RESOLVED),
    (S.MONITORING, S.INVESTIGATING),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.INVESTIGATING),
}
FROM = [S.INVESTIGATING, S.IDENTIFIED, S.MONITORING, S.RESOLVED, S.CLOSED]


def test_the_table_is_the_spec():
    table = {(a, b) for a, targets in transitions.TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


@pytest.mark.parametrize("start", FROM)
@pytest.mark.parametrize("target", ALL)
def test_every_transition_allowed_or_refused(declare, responder, start, target):
    incident = bring_to(declare(), responder, start)
    if start == S.MONITORING and target == S.RESOLVED:
        tick_verification(incident, responder)
    events = incident.events.count()
    kwargs = {"followup": Followup.POSTMORTEM} if target == S.CLOSED else {}
    if (start, target) in ALLOWED:
        move(incident, responder, target, **kwargs)
        incident.refresh_from_db()
        assert incident.status == target
        changed = incident.events.filter(kind="status_changed").latest("id")
        assert changed.params["to"] == target
        # Resolving also posts the final update, after the status change, and starts the
        # post-mortem (which the helper sends to review).
        after = incident.events.filter(id__gt=changed.id).values_list("kind", flat=True)
        assert list(after) == (
            ["status_update", "postmortem", "postmortem"] if target == S.RESOLVED else []
        )
    else:
        with pytest.raises(ApplicationError, match="cannot move to"):
            move(incident, responder, target, **kwargs)
        incident.refresh_from_db()
        assert incident.status == start
        assert incident.events.count() == events


def test_triage_and_false_alarm_have_no_generic_transitions(declare, responder):
    triage = declare(start_in_triage=True)
    with pytest.raises(ApplicationError, match="cannot move to"):
        move(triage, responder, S.IDENTIFIED)


@pytest.mark.parametrize(
    ("target", "field", "label"),
    [
        (S.IDENTIFIED, "root_cause", "Root cause"),
        (S.MONITORING, "mitigation", "Mitigation applied"),
    ],
)
def test_each_transition_records_its_note(declare, responder, target, field, label):
    incident = declare()
    with pytest.raises(ApplicationError, match=f"{label} is required"):
        move(incident, responder, target, note="  ")
    move(incident, responder, target, note="The thing")
    incident.refresh_from_db()
    assert getattr(incident, field) == "The thing"


def test_resolved_needs_summary_and_verification_items(declare, responder):
    incident = bring_to(declare(), responder, S.MONITORING)
    with pytest.raises(ApplicationError, match="Resolution summary is required"):
        move(incident, responder, S.RESOLVED, note="")
    with pytest.raises(ApplicationError) as err:
        move(incident, responder, S.RESOLVED, note="All good")
    assert "Verify all affected systems are stable" in err.value.message
    incident.refresh_from_db()
    assert incident.status == S.MONITORING and incident.resolved_at is None

    stable, impact = IncidentChecklistItem.objects.filter(
        checklist__incident=incident, is_verification=True
    ).order_by("position")
    services.checklist_item_set(actor=responder, item=stable, done=True)
    with pytest.raises(ApplicationError, match="Confirm user impact is resolved"):
        move(incident, responder, S.RESOLVED, note="All good")
    services.checklist_item_waive(actor=responder, item=impact, reason="Internal tool, no users")
    move(incident, responder, S.RESOLVED, note="All good")
    incident.refresh_from_db()
    assert incident.status == S.RESOLVED
    assert incident.resolution_summary == "All good" and incident.resolved_at is not None


def test_waiving_needs_a_reason_and_a_verification_item(declare, responder):
    incident = declare()
    items = IncidentChecklistItem.objects.filter(checklist__incident=incident)
    with pytest.raises(ApplicationError, match="Say why"):
        services.checklist_item_waive(
            actor=responder, item=items.filter(is_verification=True).first(), reason=" "
        )
    with pytest.raises(ApplicationError, match="Only verification items"):
        services.checklist_item_waive(
            actor=responder, item=items.filter(is_verification=False).first(), reason="x"
        )
    assert not items.exclude(waived_reason="").exists()


def test_closing_needs_the_follow_up_decided(declare, responder):
    p2 = bring_to(declare(), responder, S.RESOLVED)
    with pytest.raises(ApplicationError, match="Decide the follow-up"):
        move(p2, responder, S.CLOSED, note="done")
    with pytest.raises(ApplicationError, match="post-mortem is required after every P2"):
        move(p2, responder, S.CLOSED, note="done", followup=Followup.NONE)
    move(p2, responder, S.CLOSED, note="PM on Tuesday", followup=Followup.POSTMORTEM)
    p2.refresh_from_db()
    assert p2.followup == Followup.POSTMORTEM and p2.followup_note == "PM on Tuesday"
    assert p2.closed_at is not None

    p4 = declare(severity="P4", symptom="cosmetic", users_affected_percent=None)
    p4 = bring_to(p4, responder, S.RESOLVED)
    move(p4, responder, S.CLOSED, note="Cosmetic; fixed in the next release", followup="none")
    p4.refresh_from_db()
    assert p4.status == S.CLOSED and p4.followup == Followup.NONE


def test_reopen_and_milestones_stamped_once(declare, responder):
    incident = declare()
    t0 = timezone.now()
    move(incident, responder, S.IDENTIFIED, now=t0)
    incident.refresh_from_db()
    move(incident, responder, S.INVESTIGATING, note="Not that after all", now=t0 + timedelta(1))
    move(incident, responder, S.IDENTIFIED, note="Really this", now=t0 + timedelta(2))
    incident.refresh_from_db()
    assert incident.identified_at == t0  # the first identification counts
    assert incident.root_cause == "Really this"

    move(incident, responder, S.MONITORING, note="Rolled back")
    tick_verification(incident, responder)
    move(incident, responder, S.RESOLVED, note="Stable")
    incident.refresh_from_db()
    first_resolution = incident.resolved_at
    assert incident.next_update_due_at is None
    # (The post-mortem's own timers are about the post-mortem, not the incident; the
    # runbooks' review timers are about runbooks.)
    assert not Timer.objects.filter(
        object_id=incident.pk, state="pending", kind__startswith="incidents."
    ).exists()
    assert first_resolution is not None
    move(incident, responder, S.INVESTIGATING, note="It came back")
    incident.refresh_from_db()
    assert incident.status == S.INVESTIGATING
    assert incident.resolved_at == first_resolution  # stamped once, kept
    assert incident.next_update_due_at is not None  # P2 cadence again
    assert Timer.objects.filter(
        object_id=incident.pk, state="pending", kind="incidents.update_overdue"
    ).exists()
    reopened = incident.events.latest("id")
    assert reopened.params["note_label"] == "Reason for re-opening"
    move(incident, responder, S.MONITORING, note="Patched")
    # The first resolution's verification ticks were cleared: checked again before resolving.
    with pytest.raises(ApplicationError, match="Verify all affected systems are stable"):
        move(incident, responder, S.RESOLVED, note="Stable again")
    tick_verification(incident, responder)
    move(incident, responder, S.RESOLVED, note="Stable again")
    incident.refresh_from_db()
    assert incident.resolved_at == first_resolution
    assert incident.resolution_summary == "Stable again"


def test_milestone_durations(declare, responder):
    t0 = timezone.now()
    incident = declare(now=t0, detected_at=t0 - timedelta(minutes=5))
    move(incident, responder, S.IDENTIFIED, now=t0 + timedelta(minutes=10))
    move(incident, responder, S.MONITORING, now=t0 + timedelta(minutes=20))
    tick_verification(incident, responder)
    move(incident, responder, S.RESOLVED, now=t0 + timedelta(minutes=50))
    incident.refresh_from_db()
    assert incident.time_to_acknowledge == timedelta(minutes=5)
    assert incident.time_to_mitigate == timedelta(minutes=25)
    assert incident.time_to_resolve == timedelta(minutes=55)


@pytest.mark.django_db(transaction=True)
def test_two_status_changes_at_once_one_wins(declare, responder, make_user):

    incident = declare()
    other = make_user("otto", "Responder")

    def change(actor, to):
        # What the status form sends: the status the person saw when deciding.
        return lambda: services.incident_change_status(
            actor=actor, incident=incident, to=to, note="x", expected_status=S.INVESTIGATING
        )

    results = race(change(responder, S.IDENTIFIED), change(other, S.MONITORING))
    outcomes = [type(r).__name__ if isinstance(r, Exception) else "ok" for r in results]
    assert sorted(outcomes) == ["ConflictError", "ok"]
    assert incident.events.filter(kind="status_changed").count() == 1
