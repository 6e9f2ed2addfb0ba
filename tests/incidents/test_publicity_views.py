"""The incident page's *Public status page* panel and the public part of the update form:
bad input answered with a message, what was typed kept, nothing written."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, StatusUpdate, TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(declare):
    return declare(severity="P3", severity_reason="small")


def _url(name, incident):
    return reverse(f"incidents:{name}", args=[incident.reference])


def test_a_past_estimate_is_refused_and_the_typed_title_kept(client, responder, incident):
    client.force_login(responder)
    past = timezone.localtime(timezone.now() - timedelta(hours=1))
    events = TimelineEvent.objects.count()
    response = client.post(
        _url("set_publicity", incident),
        {
            "is_public": "on",
            "public_title": "Slow exports",
            "estimated_resolution_at_0": past.date().isoformat(),
            "estimated_resolution_at_1": past.strftime("%H:%M"),
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "The estimated resolution time must be in the future." in page
    assert 'value="Slow exports"' in page
    fresh = Incident.objects.get(pk=incident.pk)
    assert (fresh.is_public, fresh.public_title) == (False, "")
    assert TimelineEvent.objects.count() == events


def test_publishing_from_the_panel(client, responder, incident):
    client.force_login(responder)
    response = client.post(
        _url("set_publicity", incident), {"is_public": "on", "public_title": "Slow exports"}
    )
    assert response.status_code == 302
    fresh = Incident.objects.get(pk=incident.pk)
    assert (fresh.is_public, fresh.public_title, fresh.public_impact) == (
        True, "Slow exports", "minor",
    )  # fmt: skip
    page = client.get(fresh.get_absolute_url()).content.decode()
    assert "as “Slow exports” · Minor impact" in page
    assert fresh.events.latest("id").text.startswith("Rita published the incident")


def test_a_public_update_without_its_message_is_refused(client, responder, incident):
    client.force_login(responder)
    response = client.post(
        _url("post_update", incident),
        {"impact": "Exports are slow", "actions": "Profiling", "audience": "public"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Write the message for the status page, or make the update internal." in page
    assert "Exports are slow" in page  # what was typed is kept
    assert not StatusUpdate.objects.exists()
