"""Checklist items the portal knows are done tick themselves, by stable key (not wording),
naming the event that did it; items repeated across the spec's lists share a key and tick
together."""

import pytest
from django.urls import reverse

from incidents import services
from incidents.checklists import AUTO_TICKS, DEFAULT_TEMPLATES
from incidents.models import ChecklistTemplateItem, IncidentChecklistItem
from portal import roles
from tests.incidents.test_lifecycle import bring_to, move, tick_verification
from tests.incidents.workflow_helpers import S


def ticked(incident):
    """key -> the kind of event that ticked it (None: ticked by hand), for ticked items."""
    return dict(
        IncidentChecklistItem.objects.filter(checklist__incident=incident)
        .exclude(done_at=None)
        .values_list("key", "done_event__kind")
    )


def test_every_default_item_has_a_stable_key_and_twins_share_theirs():
    keys = [(kind, item.key) for kind, _, items in DEFAULT_TEMPLATES for item in items]
    assert all(key for _, key in keys)
    per_list = {}
    for kind, key in keys:
        per_list.setdefault(key, []).append(kind)
    twins = {key: kinds for key, kinds in per_list.items() if len(kinds) > 1}
    assert twins == {
        "classify_severity": ["triage", "initial_response"],
        "communication_channels": ["initial_response", "establish_command"],
        "begin_documentation": ["initial_response", "establish_command"],
        "assign_roles": ["initial_response", "establish_command"],
    }
    assert set(AUTO_TICKS) == {
        "declared", "acknowledged", "verified", "role_assigned", "status_update", "status_changed",
    }  # fmt: skip


def test_the_portal_ticks_what_it_knows_is_done_naming_the_event(declare, responder, make_user):
    suspected = declare(start_in_triage=True)
    assert ticked(suspected) == {
        "classify_severity": "declared",
        "begin_documentation": "declared",
        "document_classification": "declared",
    }
    services.incident_verify(actor=responder, incident=suspected)
    bea = make_user("bea", roles.RESPONDER)
    services.role_assign(actor=responder, incident=suspected, role="scribe", user=bea)
    services.status_update_post(actor=responder, incident=suspected, impact="i", actions="a")
    services.status_update_post(actor=responder, incident=suspected, impact="i", actions="b")
    assert ticked(suspected) == {
        "classify_severity": "declared",
        "begin_documentation": "declared",
        "document_classification": "declared",
        "acknowledge_alert": "verified",
        "verify_real": "verified",
        "assign_roles": "role_assigned",
        "communicate_initial_status": "status_update",
    }
    done = IncidentChecklistItem.objects.get(
        checklist__incident=suspected, key="communicate_initial_status"
    )
    assert done.done_by == responder and done.done_event.params["number"] == 1
    incident = bring_to(suspected, responder, S.MONITORING)
    tick_verification(incident, responder)
    move(incident, responder, S.RESOLVED)
    assert ticked(incident)["document_resolution"] == "status_changed"


def test_a_manual_declaration_ticks_acknowledged_and_verified(declare):
    incident = declare()
    keys = set(ticked(incident))
    assert {"acknowledge_alert", "verify_real", "classify_severity"} <= keys


def test_ticking_an_item_ticks_its_twins_and_unticking_unticks_them(declare, responder):
    incident = declare()
    items = IncidentChecklistItem.objects.filter(
        checklist__incident=incident, key="communication_channels"
    )
    assert items.count() == 2 and not items.exclude(done_at=None).exists()
    services.checklist_item_set(actor=responder, item=items.first(), done=True)
    assert items.filter(done_at__isnull=False, done_by=responder).count() == 2
    assert incident.events.filter(kind="checklist_item").count() == 1
    services.checklist_item_set(actor=responder, item=items.last(), done=False)
    assert items.filter(done_at__isnull=True).count() == 2


def test_keys_not_wording_drive_auto_ticks(declare, responder):
    ChecklistTemplateItem.objects.filter(key="verify_real").update(
        text="Confirm the alert is real (our wording)"
    )
    incident = declare(start_in_triage=True)
    services.incident_verify(actor=responder, incident=incident)
    item = IncidentChecklistItem.objects.get(checklist__incident=incident, key="verify_real")
    assert item.text == "Confirm the alert is real (our wording)" and item.done_at is not None


@pytest.mark.django_db
def test_the_page_says_which_ticks_the_portal_made(client, declare, responder):
    incident = declare()
    client.force_login(responder)
    page = client.get(reverse("incidents:detail", args=[incident.reference])).content.decode()
    assert 'data-auto="declared"' in page
    assert "Rita" in page and "(ticked by the portal: declared)" in page
    assert 'data-checklist="initial_response" open' in page  # the list for now is open
    assert 'data-checklist="resolution">' in page  # the others are collapsed
