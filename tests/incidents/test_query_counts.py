"""Page query counts must not grow with rows (no N+1)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Incident, Source, Status
from portal import roles


def queries_for(client, url, **params):
    client.get(url, params)  # warm the session (time zone, timeline order)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.fixture(autouse=True)
def _banner_read_once(settings):
    """The staff banner reads the sweep's state once per sweep interval; a measurement that
    happened to straddle the interval's end would count that read. Not what is measured."""
    settings.TIMER_SWEEP_SECONDS = 3600


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
    # +1: whether the status moved on since the last update (the offer); +4: paging (the
    # escalations, their pages, the teams and schedules "page someone" offers); +2: alerts
    # and related open incidents; +2: the runbooks it follows and those suggested; +2: what
    # the status page's subscribers were told (the notices, and their delivery counts).
    assert few <= 33


def test_dashboard_query_budget(rc, declare, components):
    make_incidents(declare, components, 10)
    # Session, user, permissions (2), notifications, profile; the incidents, their components,
    # escalations and commanders; the viewer's roles; the recently resolved (none here).
    assert queries_for(rc, reverse("dashboard")) <= 14  # +2: the late-page auditor


def make_commanded_and_resolved(declare, components, make_user, n, start=0):
    """Active incidents under different commanders and under none, and as many resolved in
    the last day (the dashboard's "Recently resolved"), each with its own commander."""
    now = timezone.now()
    for i in range(start, start + n):
        ic = make_user(f"ic{i}", roles.RESPONDER)
        declare(title=f"Commanded {i}", commander=ic, components=components[: 1 + i % 3])
        declare(title=f"Alerted {i}", actor=None, source=Source.ALERT)
        done = declare(title=f"Resolved {i}", commander=ic, components=components[:1])
        Incident.objects.filter(pk=done.pk).update(
            status=Status.RESOLVED if i % 2 else Status.CLOSED,
            mitigated_at=now - timedelta(hours=2),
            resolved_at=now - timedelta(hours=1, minutes=i),
        )


def test_dashboard_commanders_and_recently_resolved_do_not_grow(
    client, manager, declare, components, make_user
):
    client.force_login(manager)
    make_commanded_and_resolved(declare, components, make_user, 3)
    few = queries_for(client, reverse("dashboard"))
    make_commanded_and_resolved(declare, components, make_user, 22, start=3)  # past the cap
    many = queries_for(client, reverse("dashboard"))
    assert many == few, (few, many)
    assert few <= 15  # the budget above, and the commanders of the recently resolved


def export_queries(client) -> tuple[int, int]:
    """Queries and CSV lines of an export (after a warm-up request)."""
    b"".join(client.get(reverse("incidents:export")).streaming_content)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("incidents:export"))
        rows = b"".join(response.streaming_content).decode().splitlines()
    assert response.status_code == 200
    return len(ctx.captured_queries), len(rows)


def test_export_does_not_grow_with_rows(client, manager, declare, components, make_user):
    client.force_login(manager)
    make_commanded_and_resolved(declare, components, make_user, 2)
    few, few_rows = export_queries(client)
    make_commanded_and_resolved(declare, components, make_user, 20, start=2)
    many, many_rows = export_queries(client)
    assert (few_rows, many_rows) == (1 + 6, 1 + 66)
    assert many == few, (few, many)
