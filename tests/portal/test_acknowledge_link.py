"""Acknowledging by the link in a page (issue 11): GET only shows a confirmation; the POST
acknowledges; an expired or tampered token is refused and changes nothing."""

import time

import pytest

from incidents.models import Source
from portal.models import Escalation, Notification
from portal.oncall import tokens
from portal.oncall.services import ack_url

from .oncall_fixtures import WORKING, on_call_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def paged(declare, make_user):
    team = on_call_team(make_user)
    incident = declare(
        actor=None, source=Source.ALERT, now=WORKING, severity="P1", severity_reason="outage"
    )
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    return team, incident, escalation


def test_the_page_carries_the_persons_link(paged):
    team, _, escalation = paged
    row = Notification.objects.get(
        idempotency_key__startswith=f"page:{escalation.pk}:", channel="email"
    )
    assert row.recipient == team.primary and row.url == ack_url(escalation, team.primary)


def test_get_shows_a_confirmation_and_acknowledges_nothing(client, paged):
    team, incident, escalation = paged
    response = client.get(ack_url(escalation, team.primary))
    assert response.status_code == 200
    body = response.content.decode()
    assert incident.title in body and ">Acknowledge</button>" in body and "Pia" in body
    assert response["Cache-Control"].startswith("max-age=0")
    escalation.refresh_from_db()
    assert escalation.state == "active"


def test_post_acknowledges_as_the_paged_person_without_logging_in(client, paged):
    team, incident, escalation = paged
    response = client.post(ack_url(escalation, team.primary))
    assert response.status_code == 200
    assert "nobody else will be paged" in response.content.decode()
    escalation.refresh_from_db()
    incident.refresh_from_db()
    assert escalation.state == "acknowledged" and escalation.acknowledged_by == team.primary
    assert incident.acknowledged_at == escalation.acknowledged_at
    again = client.post(ack_url(escalation, team.primary))
    assert again.status_code == 409 and "Already acknowledged by Pia" in again.content.decode()


def test_a_tampered_token_is_refused(client, paged):
    team, _, escalation = paged
    token = tokens.make(escalation.pk, team.primary.pk)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for method in (client.get, client.post):
        response = method(f"/oncall/ack/{forged}/")
        assert response.status_code == 400
        assert "not valid" in response.content.decode()
    # Someone else's id in a token signed for another purpose is refused too.
    from django.core import signing

    other = signing.dumps([escalation.pk, team.secondary.pk], salt="something else")
    assert client.post(f"/oncall/ack/{other}/").status_code == 400
    escalation.refresh_from_db()
    assert escalation.state == "active"


def test_an_expired_token_is_refused(client, paged, settings, monkeypatch):
    team, _, escalation = paged
    settings.PAGE_ACK_LINK_HOURS = 1
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - 3601)
    token = tokens.make(escalation.pk, team.primary.pk)
    monkeypatch.setattr(time, "time", real)
    response = client.post(f"/oncall/ack/{token}/")
    assert response.status_code == 400 and "expired" in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.state == "active"
