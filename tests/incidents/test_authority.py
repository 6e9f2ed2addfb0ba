"""The commander's authority (one table), re-opening, unconfirmed information, the impact
fields declared once, and the system's own actions."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import authority, services
from incidents.models import (
    IncidentChecklistItem,
    Source,
)
from portal import roles
from portal.errors import ApplicationError
from tests.incidents.test_lifecycle import move
from tests.incidents.workflow_helpers import HX, S, to_monitoring, written

# --- the commander's authority ------------------------------------------------------------------


def test_the_authority_table():
    C, M, H, R, SYS = (
        authority.Party.COMMANDER,
        authority.Party.MANAGER,
        authority.Party.ROLE_HOLDER,
        authority.Party.RESPONDER,
        authority.Party.SYSTEM,
    )
    rules = {action: allowed for action, (_, allowed) in authority.AUTHORITY.items()}
    assert rules["resolve"] == rules["close"] == rules["hand_over_command"] == {C, M}
    assert rules["take_command"] == {R, SYS}
    assert rules["release_role"] == {C, M, H}
    assert rules["record_response_breach"] == {SYS}
    assert rules["declare"] == {R, SYS}


@pytest.mark.parametrize(
    ("to", "what"), [(S.RESOLVED, "resolve this incident"), (S.CLOSED, "close this incident")]
)
def test_only_the_commander_or_a_manager_resolves_and_closes(
    declare, responder, make_user, manager, to, what
):
    bea = make_user("bea", roles.RESPONDER)
    incident = to_monitoring(declare(), responder)
    if to == S.CLOSED:
        move(incident, responder, S.RESOLVED)
    before = written()
    with pytest.raises(ApplicationError) as refused:
        move(incident, bea, to, followup="postmortem")
    assert refused.value.message == f"Only the Incident Commander (Rita) or a Manager can {what}."
    incident.refresh_from_db()
    assert incident.status != to and written() == before
    move(incident, manager, to, followup="postmortem")
    incident.refresh_from_db()
    assert incident.status == to


def test_a_non_commander_cannot_hand_over_command_but_the_commander_can(
    declare, responder, make_user
):
    bea = make_user("bea", roles.RESPONDER)
    incident = declare()
    before = written()
    with pytest.raises(
        ApplicationError, match=r"Only the Incident Commander \(Rita\) or a Manager"
    ):
        services.role_assign(actor=bea, incident=incident, role="commander", user=bea)
    assert written() == before
    services.role_assign(actor=responder, incident=incident, role="commander", user=bea)
    assert authority.commander_of(incident) == bea


def test_an_incident_without_a_commander_is_taken_by_any_responder(declare, make_user):
    bea = make_user("bea", roles.RESPONDER)
    alerted = declare(actor=None, source=Source.ALERT)
    assert authority.commander_of(alerted) is None
    services.role_assign(actor=bea, incident=alerted, role="commander", user=bea)
    assert authority.commander_of(alerted) == bea
    assert alerted.events.latest("id").kind == "role_assigned"


def test_a_role_is_released_by_its_holder_the_commander_or_a_manager(declare, responder, make_user):
    bea, cal = make_user("bea", roles.RESPONDER), make_user("cal", roles.RESPONDER)
    incident = declare()
    services.role_assign(actor=responder, incident=incident, role="scribe", user=bea)
    with pytest.raises(ApplicationError, match=r"the holder of that role \(Bea\)"):
        services.role_release(actor=cal, incident=incident, role="scribe")
    services.role_release(actor=bea, incident=incident, role="scribe")


def test_the_refusal_reaches_the_page_and_the_option_says_who_may(
    client, declare, responder, make_user
):
    bea = make_user("bea", roles.RESPONDER)
    incident = to_monitoring(declare(), responder)
    client.force_login(bea)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Resolved: only the Incident Commander (Rita) or a Manager." in page
    assert 'data-draft="status-resolved"' not in page  # no resolve form for Bea
    url = reverse("incidents:change_status", args=[incident.reference])
    data = {
        "from_status": S.MONITORING, "to": S.RESOLVED, "note": "Stable",
        "confirmed": "on", "explanation": "A bad deploy.",
    }  # fmt: skip
    before = written()
    refused = client.post(url, data, headers=HX)
    assert refused.status_code == 422
    assert "Only the Incident Commander (Rita) or a Manager can resolve" in refused.content.decode()
    assert written() == before
    plain = client.post(url, data, follow=True)
    assert "Only the Incident Commander (Rita) or a Manager can resolve" in plain.content.decode()


def test_take_command_button_for_an_incident_without_a_commander(client, declare, make_user):
    bea = make_user("bea", roles.RESPONDER)
    alerted = declare(actor=None, source=Source.ALERT)
    client.force_login(bea)
    page = client.get(alerted.get_absolute_url()).content.decode()
    assert "Nobody is in command." in page and "Take command" in page
    url = reverse("incidents:assign_role", args=[alerted.reference])
    assert client.post(url, {"role": "commander", "user": bea.pk}).status_code == 302
    assert authority.commander_of(alerted) == bea
    assert "Nobody is in command." not in client.get(alerted.get_absolute_url()).content.decode()


# --- re-opening ---------------------------------------------------------------------------------


def test_reopening_clears_the_verification_ticks_and_waivers(declare, responder):
    incident = to_monitoring(declare(), responder)
    items = IncidentChecklistItem.objects.filter(
        checklist__incident=incident, is_verification=True
    ).order_by("position")
    first, second = items
    services.checklist_item_set(actor=responder, item=first, done=False)
    services.checklist_item_waive(actor=responder, item=first, reason="No dashboard for it")
    move(incident, responder, S.RESOLVED)
    incident.refresh_from_db()
    others = IncidentChecklistItem.objects.filter(checklist__incident=incident).exclude(
        is_verification=True
    )
    ticked_before = set(others.exclude(done_at=None).values_list("pk", flat=True))
    assert ticked_before  # the portal ticked some itself (acknowledged, roles, resolution...)
    move(incident, responder, S.INVESTIGATING, note="Errors are back")
    assert list(items.values_list("done_at", "done_by", "waived_reason")) == [
        (None, None, ""),
        (None, None, ""),
    ]
    reopened = incident.events.filter(kind="status_changed").latest("id")
    assert reopened.params["cleared"] == [first.text, second.text]
    assert f"To verify again: {first.text}; {second.text}." in reopened.text
    # Every other item keeps its tick.
    assert set(others.exclude(done_at=None).values_list("pk", flat=True)) == ticked_before


# --- unconfirmed information ---------------------------------------------------------------------


def test_an_update_marks_its_impact_or_cause_unconfirmed_wherever_shown(client, declare, responder):
    incident = declare()
    update = services.status_update_post(
        actor=responder, incident=incident, impact="Checkout may be slow in the EU",
        impact_unconfirmed=True, cause="A failing payment provider", cause_unconfirmed=True,
        actions="Checking with the provider",
    )  # fmt: skip
    assert (update.impact_unconfirmed, update.cause_unconfirmed) == (True, True)
    event = incident.events.latest("id")
    assert "Impact (unconfirmed): Checkout may be slow" in event.text
    assert "Cause (unconfirmed): A failing payment provider" in event.text
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert page.count('class="badge text-bg-warning unconfirmed">unconfirmed') == 2
    confirmed = services.status_update_post(
        actor=responder, incident=incident, impact="Checkout slow in the EU",
        cause="Provider outage", actions="Failing over",
    )  # fmt: skip
    assert "unconfirmed" not in incident.events.latest("id").text
    assert not confirmed.impact_unconfirmed


def test_an_unconfirmed_cause_needs_a_cause(client, declare, responder):
    incident = declare()
    before = written()
    with pytest.raises(ApplicationError, match="Write the suspected cause"):
        services.status_update_post(
            actor=responder, incident=incident, impact="i", actions="a", cause_unconfirmed=True
        )
    client.force_login(responder)
    url = reverse("incidents:post_update", args=[incident.reference])
    data = {"impact": "i", "actions": "a", "audience": "internal", "cause_unconfirmed": "on"}
    refused = client.post(url, data, headers=HX)
    assert refused.status_code == 422 and "Write the suspected cause" in refused.content.decode()
    assert written() == before


# --- one place per rule: the impact fields ----------------------------------------------------


def test_the_impact_fields_are_declared_once_and_derived_everywhere(declare):
    from incidents.forms import DeclareForm, EditForm
    from incidents.impact import IMPACT_FIELDS, IMPACT_GROUPS, Assessment
    from incidents.models.impact import ImpactAssessment

    declared = tuple(f.name for f in ImpactAssessment._meta.fields)
    assert declared == IMPACT_FIELDS and len(declared) == 11
    assert tuple(name for _, names in IMPACT_GROUPS for name in names) == declared
    assert [label for label, _ in IMPACT_GROUPS] == [
        "User impact",
        "Business impact",
        "Technical impact",
    ]
    incident = declare()
    for form in (DeclareForm(), EditForm(incident=incident)):
        assert sorted(f.name for _, fields in form.impact_groups for f in fields) == sorted(
            declared
        )
    assert set(declared) <= set(services.EDITABLE_FIELDS)
    assessment = Assessment.of(incident)
    assert list(assessment.values()) == list(declared)
    assert [getattr(assessment, name) for name in declared] == [
        getattr(incident, name) for name in declared
    ]
    assert assessment.users_affected_percent == 15 and assessment.symptom == "degraded"
    # The model's ranges reach the form.
    form = DeclareForm({"users_affected_percent": "100.5", "users_affected": "2000000001"})
    form.is_valid()
    assert "users_affected_percent" in form.errors and "users_affected" in form.errors


def test_system_actions_are_the_systems_alone(declare, responder):
    from incidents.services import escalation_triggers, update_reminders

    waiting = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    verified = declare(type="security", subtype="")
    before = written()
    refused = (
        (services.incident_record_response_breach, {"incident_id": waiting.pk}),
        (
            escalation_triggers.escalation_fire_on_time,
            {"incident_id": verified.pk, "kind": "unresolved_30m"},
        ),
        (update_reminders.update_reminder_send, {"incident_id": verified.pk, "overdue": True}),
    )
    for service, kwargs in refused:
        with pytest.raises(ApplicationError, match="^Only the system can"):
            service(actor=responder, now=timezone.now() + timedelta(hours=2), **kwargs)
    assert written() == before


def test_with_nobody_in_command_resolving_says_take_command_first(declare, responder, manager):
    incident = to_monitoring(declare(), responder)
    incident.role_assignments.update(released_at=timezone.now())
    with pytest.raises(ApplicationError) as refused:
        move(incident, responder, S.RESOLVED)
    assert refused.value.message == (
        "Only the Incident Commander or a Manager can resolve this incident. "
        "Nobody is in command yet: take command first."
    )
    services.role_assign(actor=responder, incident=incident, role="commander", user=responder)
    move(incident, responder, S.RESOLVED)


def test_naming_someone_else_commander_when_nobody_commands_is_a_managers(
    declare, make_user, manager
):
    bea, cal = make_user("bea", roles.RESPONDER), make_user("cal", roles.RESPONDER)
    alerted = declare(actor=None, source=Source.ALERT)
    before = written()
    with pytest.raises(
        ApplicationError, match="^Only a Manager can name someone else Incident Commander.$"
    ):
        services.role_assign(actor=bea, incident=alerted, role="commander", user=cal)
    assert written() == before
    services.role_assign(actor=manager, incident=alerted, role="commander", user=cal)
    assert authority.commander_of(alerted) == cal
