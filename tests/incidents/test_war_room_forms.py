"""The war room's forms: one per transition with the spec's criterion as its label, the
close form alone asks for the follow-up, the resolve form alone carries the final update; the
offer to post the update after a status change; role changes that need confirmation; and
24-hour date and time fields in the viewer's zone."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import RoleAssignment, StatusUpdate
from portal import roles
from portal.errors import ConflictError
from tests.incidents.test_lifecycle import move
from tests.incidents.workflow_helpers import HX, S, to_monitoring


@pytest.fixture
def rc(client, responder):
    client.force_login(responder)
    return client


def forms_on(page: str) -> list[str]:
    import re

    return re.findall(r'data-draft="status-([a-z_]+)"', page)


def test_one_form_per_transition_labelled_with_its_criterion(rc, declare, responder):
    incident = declare()
    page = rc.get(incident.get_absolute_url()).content.decode()
    assert forms_on(page) == ["identified", "monitoring"]
    assert (
        '<label class="form-label fw-semibold" for="id_note_identified">Root cause</label>' in page
    )
    assert "Move on when: root cause determined." in page
    assert (
        '<label class="form-label fw-semibold" for="id_note_monitoring">Mitigation applied' in page
    )
    assert 'name="followup"' not in page and 'name="explanation"' not in page
    to_monitoring(incident, responder)
    page = rc.get(incident.get_absolute_url()).content.decode()
    assert forms_on(page) == ["resolved", "investigating"]
    assert "Move on when: normal operation confirmed for adequate period." in page
    assert page.count('name="explanation"') == 1 and 'name="followup"' not in page
    move(incident, responder, S.RESOLVED)
    page = rc.get(incident.get_absolute_url()).content.decode()
    assert forms_on(page) == ["closed", "investigating"]
    assert page.count('name="followup"') == 1 and 'name="explanation"' not in page
    assert "Reason for re-opening" in page


def test_after_a_status_change_the_page_offers_the_update(rc, declare, responder):
    incident = declare()
    services.status_update_post(actor=responder, incident=incident, impact="i", actions="a")
    page = rc.get(incident.get_absolute_url()).content.decode()
    assert 'data-testid="update-offer"' not in page
    move(incident, responder, S.IDENTIFIED, note="Bad config")
    page = rc.get(incident.get_absolute_url()).content.decode()
    assert "The status is now <strong>Identified</strong>: post the status update for it." in page
    assert "Update #2 · Status: Identified" in page


def test_a_held_role_needs_confirmation_and_a_changed_holder_is_named(
    rc, declare, responder, make_user
):
    bea, cal = make_user("bea", roles.RESPONDER), make_user("cal", roles.RESPONDER)
    incident = declare()
    services.role_assign(actor=responder, incident=incident, role="scribe", user=bea)
    url = reverse("incidents:assign_role", args=[incident.reference])
    rows = RoleAssignment.objects.count()
    # Not confirmed (no holder sent): refused, naming Bea; without JavaScript the page comes
    # back with Bea as the holder to confirm.
    plain = rc.post(url, {"role": "scribe", "user": cal.pk})
    html = plain.content.decode()
    assert plain.status_code == 422
    assert "Bea is Scribe. Confirm that you want to replace them, then assign again." in html
    assert f'<input type="hidden" name="holder" value="{bea.pk}">' in html
    assert RoleAssignment.objects.count() == rows
    # Confirmed against Bea, but Cal took it meanwhile: refused, naming Cal, and restamped.
    services.role_assign(
        actor=responder, incident=incident, role="scribe", user=cal, expected_holder=bea.pk
    )
    refused = rc.post(url, {"role": "scribe", "user": responder.pk, "holder": bea.pk}, headers=HX)
    assert refused.status_code == 422
    assert "The Scribe role changed hands meanwhile: Cal is Scribe now." in refused.content.decode()
    assert f'"holder": {cal.pk}' in refused["HX-Trigger"]
    ok = rc.post(url, {"role": "scribe", "user": responder.pk, "holder": cal.pk}, headers=HX)
    assert ok.status_code == 200
    holder = RoleAssignment.objects.get(incident=incident, role="scribe", released_at=None)
    assert holder.user == responder


def test_command_changed_hands_is_refused_naming_the_new_commander(declare, responder, make_user):
    bea = make_user("bea", roles.RESPONDER)
    incident = declare()
    services.role_assign(actor=responder, incident=incident, role="commander", user=bea)
    with pytest.raises(ConflictError, match="Command changed hands meanwhile: Bea is Incident"):
        services.role_assign(
            actor=bea, incident=incident, role="commander", user=bea, expected_holder=responder.pk
        )


def test_an_update_written_before_another_is_refused_once_then_posted(rc, declare, responder):
    incident = declare()
    url = reverse("incidents:post_update", args=[incident.reference])
    data = {"impact": "Mine", "actions": "a", "audience": "internal", "for_number": 1}
    services.status_update_post(actor=responder, incident=incident, impact="Theirs", actions="b")
    refused = rc.post(url, data | {"for_status": "investigating"}, headers=HX)
    assert refused.status_code == 422
    assert "Update #1 was posted meanwhile by Rita (“Theirs”)" in refused.content.decode()
    assert '"for_number": 2' in refused["HX-Trigger"]
    assert StatusUpdate.objects.count() == 1
    assert rc.post(url, data | {"for_number": 2}, headers=HX).status_code == 200
    assert StatusUpdate.objects.count() == 2


def test_times_are_a_date_and_a_24_hour_time_in_the_viewers_zone(rc, declare, responder):
    responder.profile.time_zone = "Europe/Berlin"
    responder.profile.save()
    page = rc.get(reverse("incidents:declare")).content.decode()
    assert 'name="detected_at_0"' in page and 'type="date"' in page
    assert 'name="detected_at_1"' in page and 'placeholder="HH:MM"' in page
    assert "Your time zone: Europe/Berlin." in page
    incident = declare()
    url = reverse("incidents:post_update", args=[incident.reference])
    when = timezone.localtime(
        timezone.now() + timedelta(minutes=20), timezone.get_fixed_timezone(60)
    )
    data = {
        "impact": "i", "actions": "a", "audience": "internal",
        "next_update_at_0": when.strftime("%Y-%m-%d"), "next_update_at_1": when.strftime("%H:%M"),
    }  # fmt: skip
    assert rc.post(url, data).status_code == 302
    update = StatusUpdate.objects.get()
    expected = when.replace(second=0, microsecond=0)
    assert update.next_update_at == expected


def test_fresh_events_say_just_now_and_flashes_float_and_fade(rc, declare):
    incident = declare()
    page = rc.get(incident.get_absolute_url()).content.decode()
    assert "just now</span> ·" in page and "0 minutes" not in page
    assert 'data-ago="' in page  # the page ages it while open (live.js)
    url = reverse("incidents:add_note", args=[incident.reference])
    live = rc.post(url, {"text": "Seen it", "tag": ""}, headers=HX).content.decode()
    assert 'id="flash" class="flash-region"' in live
    assert 'role="status" data-fade>Note added.<button type="button" class="btn-close"' in live
