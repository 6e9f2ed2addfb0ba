"""The internal status page (/status/internal/, staff only): every component with its status,
set from here without an incident; every active incident; recent status changes."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services
from incidents.models import ComponentStatusChange

URL = "/status/internal/"


def test_staff_only(client, norole):
    assert client.get(URL).status_code == 302  # to the log-in page
    client.force_login(norole)
    assert client.get(URL).status_code == 403


def test_components_incidents_and_changes(client, responder, declare, components):
    api = components[1]
    p1 = declare(severity="P1", severity_reason="checkout", title="Checkout down", components=[api])
    services.component_set_status(
        actor=responder, component=api, status="major_outage", incident=p1
    )
    client.force_login(responder)
    page = client.get(URL).content.decode()
    assert f'data-component="{api.public_id}"' in page and "Major outage" in page
    assert "Checkout down" in page and p1.get_absolute_url() in page and "IC: Rita" in page
    assert "Operational → Major outage" in page and p1.reference in page


def test_set_a_status_without_an_incident(client, responder, components):
    web = components[0]
    client.force_login(responder)
    url = reverse("status_set_component", args=[web.public_id])
    assert client.post(url, {"status": "under_maintenance"}).status_code == 302
    web.refresh_from_db()
    assert web.status == "under_maintenance"
    change = ComponentStatusChange.objects.get()
    assert (change.incident, change.changed_by) == (None, responder)
    refused = client.post(url, {"status": "under_maintenance"})
    assert refused.status_code == 422 and "already under maintenance" in refused.content.decode()
    bad = client.post(url, {"status": "melted"})
    assert bad.status_code == 422 and "Select a valid choice" in bad.content.decode()
    assert ComponentStatusChange.objects.count() == 1
    assert (
        client.post(reverse("status_set_component", args=["nope"]), {"status": "x"}).status_code
        == 404
    )


def test_query_count_does_not_grow(client, responder, declare, components):
    client.force_login(responder)
    client.get(URL)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(URL).status_code == 200
        return len(ctx.captured_queries)

    statuses = ["degraded_performance", "partial_outage", "major_outage", "operational"]
    first = declare(title="Incident first", components=components[:2])
    services.component_set_status(
        actor=responder, component=components[1], status="partial_outage", incident=first
    )
    few = count()  # with one of each (an empty list skips its prefetch)
    for i in range(6):
        incident = declare(title=f"Incident {i}", components=components[:2])
        services.component_set_status(
            actor=responder, component=components[0], status=statuses[i % 4], incident=incident
        )
    assert ComponentStatusChange.objects.count() == 7
    assert count() == few
