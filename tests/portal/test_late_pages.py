"""The late-page auditor (issue 11): pages more than 60 s late show on the dashboard and make
the health report degraded, never failing the load balancer's probe."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.models import Source
from portal import timers
from portal.models import Escalation
from portal.oncall import audit

from .oncall_fixtures import on_call_team, verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(make_user):
    return on_call_team(make_user)


@pytest.fixture(autouse=True)
def _working_hours_always(settings):
    # Real time is used here (the auditor looks at the last 24 hours): make every moment a
    # working hour so the P1 route is the same whenever the test runs.
    from portal.oncall.routing import default_policy

    policy = default_policy()
    policy.working_start, policy.working_end = "00:00", "23:59:59"
    policy.save()


def p1(declare, at):
    return declare(actor=None, source=Source.ALERT, now=at, severity="P1", severity_reason="outage")


@pytest.mark.django_db(transaction=True)
def test_pages_on_time_are_not_flagged(declare, team, client):
    p1(declare, timezone.now())
    assert audit.late_pages().total == 0
    body = client.get("/healthz").json()
    assert body["paging"] == "ok" and body["late_pages"] == 0


@pytest.mark.django_db(transaction=True)  # the health check reads on its own connection
def test_a_sweep_90_s_late_flags_the_page_on_dashboard_and_health(declare, team, client, responder):
    start = timezone.now() - timedelta(minutes=10)
    incident = p1(declare, start)
    due = start + timedelta(minutes=5)
    timers.sweep(now=due + timedelta(seconds=90))  # the inbox row is written 90 s late
    found = audit.late_pages()
    assert found.late == 1 and found.threshold == 60
    response = client.get("/healthz")
    assert response.status_code == 200  # degraded, never out of service
    body = response.json()
    assert body["paging"] == "late" and body["status"] == "degraded"
    assert client.get("/healthz/ready").status_code == 503
    client.force_login(responder)
    page = client.get("/").content.decode()
    assert 'data-testid="late-pages"' in page and "1 page reached its provider" in page
    assert Escalation.objects.get(topic=f"incident:{incident.pk}").step_index == 1


def test_an_overdue_step_and_an_unsent_page_are_flagged(declare, team):
    verified(team.primary, "sms", "+4915100000001")
    p1(declare, timezone.now() - timedelta(minutes=10))
    found = audit.late_pages()
    # Step 2 was due 5 minutes ago and no sweep ran; step 1's email and SMS still wait.
    assert found.stalled == 1 and found.waiting == 1 and found.late == 0
