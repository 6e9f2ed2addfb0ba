"""Page query counts must not grow with rows (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services


def queries_for(client, url, **params):
    client.get(url, params)  # warm the session (time zone, timeline order)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture
def rc(client, responder):
    client.force_login(responder)
    return client


def make_incidents(declare, components, n):
    for i in range(n):
        declare(
            title=f"Incident {i}",
            components=components[: 1 + i % 3],
            start_in_triage=i % 2 == 0,
        )


@pytest.mark.parametrize(
    "url_params",
    [
        ("dashboard", {}),
        ("incidents:list", {}),
        ("incidents:list", {"severity": "P2", "q": "Incident", "sort": "severity"}),
    ],
)
def test_list_pages_do_not_grow_with_rows(rc, declare, components, url_params):
    name, params = url_params
    make_incidents(declare, components, 5)
    few = queries_for(rc, reverse(name), **params)
    make_incidents(declare, components, 45)
    many = queries_for(rc, reverse(name), **params)
    assert many == few, (few, many)


def test_incident_page_does_not_grow_with_events(rc, declare, responder, components):
    incident = declare(components=components)
    url = incident.get_absolute_url()

    def add_events(n):
        for i in range(n):
            incident.refresh_from_db()
            services.incident_update(
                actor=responder,
                incident=incident,
                expected_version=incident.version,
                title=f"Title {incident.version}-{i}",
                severity="P1" if incident.severity == "P2" else "P2",
                severity_reason="flip",
            )

    add_events(4)  # declared + escalation (several components) + 4 changes = 6 events
    assert incident.events.count() == 6
    few = queries_for(rc, url)
    add_events(44)  # 50 events
    assert incident.events.count() == 50
    many = queries_for(rc, url)
    assert many == few, (few, many)
    assert few <= 22


def test_dashboard_query_budget(rc, declare, components):
    make_incidents(declare, components, 10)
    assert queries_for(rc, reverse("dashboard")) <= 10
