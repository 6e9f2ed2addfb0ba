"""A P3 marked significant by its Incident Commander or a Manager needs a post-mortem (spec
"after all P1/P2 incidents and significant P3 incidents"); the mark and its reason are on the
timeline; anything else is refused with a message and writes nothing."""

import pytest
from django.urls import reverse

from incidents import authority, services
from incidents.models import Incident, TimelineEvent
from portal import roles
from portal.errors import ApplicationError
from postmortems.rules import requires_postmortem

pytestmark = pytest.mark.django_db


@pytest.fixture
def p3(declare, responder):
    incident = declare(severity="P3", severity_reason="small")  # Rita declares and commands
    assert authority.commander_of(incident) == responder
    return Incident.objects.get(pk=incident.pk)


def test_the_commander_marks_a_p3_significant_and_takes_it_back(p3, responder):
    services.incident_set_significant(
        actor=responder, incident=p3, significant=True, reason="Customer data export failed"
    )
    p3.refresh_from_db()
    assert (p3.significant, p3.significant_reason) == (True, "Customer data export failed")
    assert requires_postmortem(p3.severity, significant=p3.significant)
    event = p3.events.latest("id")
    assert (event.kind, event.text) == (
        "significant", "Rita marked the incident significant: Customer data export failed"
    )  # fmt: skip
    services.incident_set_significant(
        actor=responder, incident=p3, significant=False, reason="Only internal users"
    )
    p3.refresh_from_db()
    assert (p3.significant, p3.significant_reason) == (False, "")
    assert not requires_postmortem(p3.severity, significant=p3.significant)


def test_a_manager_may_and_another_responder_may_not(p3, make_user):
    boss = make_user("bossy", roles.MANAGER)
    other = make_user("otto", roles.RESPONDER)
    with pytest.raises(ApplicationError, match="Only .* can mark this incident significant"):
        services.incident_set_significant(actor=other, incident=p3, significant=True, reason="x")
    services.incident_set_significant(actor=boss, incident=p3, significant=True, reason="x")
    assert Incident.objects.get(pk=p3.pk).significant


@pytest.mark.parametrize(
    ("severity", "reason", "message"),
    [
        ("P3", "", "Say why."),
        ("P2", "big", "a P2 always needs a post-mortem"),
        ("P4", "small", "a P4 never needs a post-mortem"),
    ],
)
def test_refusals_write_nothing(declare, responder, severity, reason, message):
    incident = declare(severity=severity, severity_reason="as stated")
    events = TimelineEvent.objects.count()
    with pytest.raises(ApplicationError, match=message):
        services.incident_set_significant(
            actor=responder, incident=incident, significant=True, reason=reason
        )
    assert TimelineEvent.objects.count() == events
    assert not Incident.objects.get(pk=incident.pk).significant


def test_the_incident_page_shows_the_need_and_the_form(client, p3, responder):
    client.force_login(responder)
    page = client.get(p3.get_absolute_url()).content.decode()
    assert "Not required unless marked significant" in page and "Mark significant" in page
    url = reverse("incidents:set_significant", args=[p3.reference])
    refused = client.post(url, {"significant": "on", "reason": ""})
    assert refused.status_code == 422 and "This field is required" in refused.content.decode()
    assert not Incident.objects.get(pk=p3.pk).significant
    assert client.post(url, {"significant": "on", "reason": "Data export"}).status_code == 302
    page = client.get(p3.get_absolute_url()).content.decode()
    assert "Required: marked significant (Data export)" in page
