"""Paging on the incident page (issue 11): the escalation shown with its gaps, acknowledging
it there, and "page someone" by hand (a person, a team, a schedule)."""

import pytest

from incidents.models import Source
from portal import roles
from portal.models import Escalation, MatrixEntry, Notification, Team
from tests.portal.oncall_fixtures import WORKING, on_call_team, schedule_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(make_user):
    return on_call_team(make_user)


def test_the_incident_page_shows_the_escalation_and_acknowledges_it(client, declare, team):
    incident = declare(
        actor=None, source=Source.ALERT, now=WORKING, severity="P1", severity_reason="outage"
    )
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    client.force_login(team.secondary)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "P1 escalation" in page and "step 1: Primary On-call (Primary)" in page
    assert ">Acknowledge page</button>" in page
    response = client.post(f"{incident.get_absolute_url()}page/{escalation.pk}/acknowledge/")
    assert response.status_code == 302
    escalation.refresh_from_db()
    assert escalation.state == "acknowledged" and escalation.acknowledged_by == team.secondary
    assert incident.events.filter(kind="page", params__action="acknowledged").count() == 1
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Sam acknowledged the page; the escalation stopped." in page
    assert ">Acknowledge page</button>" not in page


def test_a_page_of_another_incident_is_refused(client, declare, team):
    first = declare(now=WORKING)
    second = declare(now=WORKING)
    other = Escalation.objects.get(topic=f"incident:{second.pk}")
    client.force_login(team.secondary)
    response = client.post(f"{first.get_absolute_url()}page/{other.pk}/acknowledge/", follow=True)
    assert "does not belong to this incident" in response.content.decode()
    other.refresh_from_db()
    assert other.state == "active"


def test_page_a_person_by_hand(client, declare, team, responder):
    incident = declare(now=WORKING)
    client.force_login(responder)
    response = client.post(
        f"{incident.get_absolute_url()}page/",
        {"target": f"user:{team.secondary.pk}", "note": "Need the DB expert"},
    )
    assert response.status_code == 302
    manual = Escalation.objects.get(topic=f"incident:{incident.pk}", manual=True)
    assert [p.user for p in manual.pages.all()] == [team.secondary]
    rows = Notification.objects.filter(idempotency_key__startswith=f"page:{manual.pk}:")
    # P2: SMS (no verified number: skipped, shown), email, and the inbox.
    assert set(rows.values_list("channel", flat=True)) == {"portal", "sms", "email"}
    event = incident.events.get(kind="page")
    assert event.params["target"] == "Sam" and event.params["note"] == "Need the DB expert"
    assert (
        "paged Sam: Need the DB expert" in client.get(incident.get_absolute_url()).content.decode()
    )


def test_page_a_team_reaches_its_first_responder_on_call(client, declare, responder, make_user):
    bea = make_user("bea", roles.RESPONDER)
    backend = Team.objects.create(name="Backend", slug="backend")
    MatrixEntry.objects.create(
        label="Backend API", team=backend, first=schedule_with("Backend developer", bea)
    )
    incident = declare(now=WORKING)
    client.force_login(responder)
    client.post(f"{incident.get_absolute_url()}page/", {"target": f"team:{backend.pk}"})
    manual = Escalation.objects.get(topic=f"incident:{incident.pk}", manual=True)
    assert [(p.target, p.user) for p in manual.pages.all()] == [("Backend: Backend developer", bea)]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "Choose whom to page."),
        ("user:999999", "no longer exists"),
        ("team:abc", "Choose whom to page."),
        ("bogus:1", "Choose whom to page."),
    ],
)
def test_bad_page_targets_are_refused_and_write_nothing(
    client, declare, responder, target, message
):
    incident = declare(now=WORKING)
    before = Escalation.objects.count(), Notification.objects.count()
    client.force_login(responder)
    response = client.post(f"{incident.get_absolute_url()}page/", {"target": target}, follow=True)
    assert message in response.content.decode()
    assert (Escalation.objects.count(), Notification.objects.count()) == before


def test_an_empty_schedule_cannot_be_paged_by_hand(client, declare, responder):
    empty = schedule_with("Nobody here")
    incident = declare(now=WORKING)
    client.force_login(responder)
    response = client.post(
        f"{incident.get_absolute_url()}page/", {"target": f"schedule:{empty.pk}"}, follow=True
    )
    assert "Nobody is on call on Nobody here" in response.content.decode()
    assert not Escalation.objects.filter(manual=True).exists()


def test_a_viewer_without_the_responder_role_cannot_page(client, declare, norole, team):
    incident = declare(now=WORKING)
    client.force_login(norole)
    response = client.post(
        f"{incident.get_absolute_url()}page/", {"target": f"user:{team.primary.pk}"}
    )
    assert response.status_code == 403


def test_page_a_team_without_a_matrix_row_reaches_its_own_schedule(
    client, declare, responder, make_user, team
):
    ops = make_user("ops", roles.RESPONDER)
    storage = Team.objects.create(name="Storage", slug="storage")
    schedule = schedule_with("Storage on call", ops)
    schedule.team = storage
    schedule.save()
    incident = declare(now=WORKING)
    client.force_login(responder)
    client.post(f"{incident.get_absolute_url()}page/", {"target": f"team:{storage.pk}"})
    manual = Escalation.objects.get(topic=f"incident:{incident.pk}", manual=True)
    # Its own on-call, not the organisation's Primary On-call (Pia).
    assert [(p.target, p.user) for p in manual.pages.all()] == [("Storage: Storage on call", ops)]
