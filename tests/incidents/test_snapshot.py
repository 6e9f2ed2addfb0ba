"""The public snapshot's life: marked dirty in the change's transaction, rebuilt after commit
or by the sweep when that fails, rebuilt hourly anyway, never broken by what is stored, and
answered by the middleware with the right manners (redirects, gzip only when accepted, the
rate limit by client)."""

from datetime import timedelta

import feedparser
import pytest
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.models import Component
from incidents.statuspage import serve, snapshot
from portal import timers
from portal.models import Timer

pytestmark = pytest.mark.django_db


def pending(kind=snapshot.REBUILD_TIMER):
    return Timer.objects.filter(kind=kind, state="pending").count()


def summary():
    snapshot._memory.checked = 0.0
    return Client().get("/api/v2/summary.json").json()


def test_a_component_changed_for_an_incident_nobody_public_sees_still_rebuilds(
    declare, responder, components
):
    hidden = declare(severity="P3", severity_reason="x", components=components[:1])
    assert pending() == 0
    services.component_set_status(
        actor=responder, component=components[0], status="major_outage", incident=hidden
    )
    assert pending() == 1
    timers.sweep()
    assert summary()["status"]["indicator"] == "critical"


def test_when_the_rebuild_after_commit_fails_the_sweep_rebuilds(
    responder, components, monkeypatch, django_capture_on_commit_callbacks
):
    real = snapshot.build
    monkeypatch.setattr(snapshot, "build", lambda now=None: 1 / 0)
    with django_capture_on_commit_callbacks(execute=True):
        services.component_set_status(
            actor=responder, component=components[0], status="partial_outage"
        )
    timer = Timer.objects.get(kind=snapshot.REBUILD_TIMER)
    assert (timer.state, timer.attempts) == ("pending", 1)
    assert "ZeroDivisionError" in timer.last_error
    monkeypatch.setattr(snapshot, "build", real)
    timers.sweep(now=timer.due_at + timedelta(seconds=1))
    assert pending() == 0
    assert summary()["status"]["indicator"] == "major"
    # Rebuilt hourly from now on even if nothing changes.
    hourly = Timer.objects.get(kind=snapshot.HOURLY_TIMER, state="pending")
    assert hourly.due_at.minute == 0 and hourly.due_at - timezone.now() <= timedelta(hours=1)


def test_the_sweep_moving_a_window_rebuilds_the_page(responder, components):
    now = timezone.now()
    window = services.maintenance_schedule(
        actor=responder, title="Upgrade", components=components[:1],
        starts_at=now + timedelta(minutes=5), ends_at=now + timedelta(hours=1), now=now,
    )  # fmt: skip
    timers.sweep(now=now)  # the rebuild the scheduling asked for
    assert summary()["scheduled_maintenances"][0]["status"] == "scheduled"
    timers.sweep(now=window.starts_at + timedelta(seconds=1))  # start, then its rebuild
    timers.sweep(now=window.starts_at + timedelta(seconds=2))
    document = summary()
    assert document["scheduled_maintenances"][0]["status"] == "in_progress"
    assert document["status"]["indicator"] == "maintenance"


def test_two_changes_marking_it_dirty_share_one_pending_rebuild(responder, components):
    from django.db import transaction

    with transaction.atomic():
        snapshot.mark_dirty_now()
        snapshot.mark_dirty_now()
    assert pending() == 1


def test_control_characters_never_break_the_page_or_its_feeds(declare, responder, components):
    Component.objects.filter(pk=components[0].pk).update(name="Web\x01 app\x0b")
    incident = declare(severity="P2", severity_reason="", components=components[:1])
    services.incident_set_publicity(
        actor=responder, incident=incident, is_public=True, public_title="Log\x08ins\x1f down"
    )
    services.status_update_post(
        actor=responder, incident=incident, impact="i", actions="a", audience="public",
        public_body="Line one\r\nline two\x0c with a form feed",
    )  # fmt: skip
    incident.refresh_from_db()
    assert incident.public_title == "Logins down"
    assert incident.status_updates.get().public_body == "Line one\nline two with a form feed"
    snapshot.rebuild()
    for path in ("/history.atom", "/history.rss"):
        feed = feedparser.parse(Client().get(path).content)
        assert not feed.bozo and feed.entries[0].title == "Logins down"
    assert "Web app" in Client().get("/status/").content.decode()


def test_a_node_without_a_snapshot_and_without_a_database_answers_503_and_backs_off(
    monkeypatch,
):
    calls = []

    def broken(now=None):
        calls.append(1)
        raise RuntimeError("database down")

    monkeypatch.setattr(snapshot, "build", broken)
    client = Client()
    for _ in range(5):
        snapshot._memory.checked = 0.0
        response = client.get("/status/")
        assert response.status_code == 503
        assert "briefly unavailable" in response.content.decode()
    assert len(calls) == 1  # tried once, then waits COLD_RETRY_SECONDS


def test_paths_without_the_slash_redirect_and_gzip_only_when_accepted(responder, components):
    snapshot.rebuild()
    client = Client()
    moved = client.get("/status/history?page=1")
    assert moved.status_code == 301 and moved["Location"] == "/status/history/?page=1"
    assert client.get("/status", follow=False)["Location"] == "/status/"
    refused = client.get("/status/", HTTP_ACCEPT_ENCODING="gzip;q=0, identity")
    assert "Content-Encoding" not in refused and b"<!doctype html>" in refused.content
    accepted = client.get("/status/", HTTP_ACCEPT_ENCODING="gzip;q=0.8")
    assert accepted["Content-Encoding"] == "gzip"


def test_the_rate_limit_counts_an_ipv6_client_by_its_64_and_forgets_the_oldest():
    limit = serve.RateLimit(2, max_clients=4)
    assert limit.allow("2001:db8:1:2::1") and limit.allow("2001:db8:1:2::ffff")
    assert not limit.allow("2001:db8:1:2:abcd::9")  # the same /64
    assert limit.allow("2001:db8:1:3::1")  # another /64
    for n in range(10):
        limit.allow(f"10.0.0.{n}")
    assert len(limit._buckets) <= 5
    # The newest are kept, still counted: its second request passes, its third does not.
    assert limit.allow("10.0.0.9") and not limit.allow("10.0.0.9")


@pytest.mark.django_db(transaction=True)
def test_two_public_changes_at_the_same_moment_both_commit(responder, components):
    """Two transactions mark the snapshot dirty at once (both insert the pending rebuild
    timer): neither fails, and the page ends up showing both changes."""
    from django.db import connection

    from tests.conftest import race

    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers need PostgreSQL (CI runs it)")
    web, api = components[:2]

    def setting(component, status):
        return lambda: services.component_set_status(
            actor=responder, component=component, status=status
        )

    results = race(setting(web, "major_outage"), setting(api, "partial_outage"))
    assert not [r for r in results if isinstance(r, Exception)], results
    timers.sweep(now=timezone.now() + timedelta(seconds=1))
    statuses = {c["name"]: c["status"] for c in summary()["components"]}
    assert (statuses["Web app"], statuses["API"]) == ("major_outage", "partial_outage")


def test_the_rebuild_command_publishes_a_new_snapshot(responder, components):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("rebuild_status_page", stdout=out)
    first = snapshot.current().generation
    services.component_set_status(actor=responder, component=components[0], status="major_outage")
    call_command("rebuild_status_page", stdout=out)
    assert snapshot.current().generation > first
    assert f"Status page snapshot {snapshot.current().generation} published" in out.getvalue()
    assert summary()["status"]["indicator"] == "critical"


def test_an_estimate_is_shown_until_it_passes_and_the_page_is_rebuilt_then(declare, responder):
    from incidents.models import Incident

    incident = declare(severity="P2", severity_reason="")
    estimate = timezone.now() + timedelta(minutes=2)
    services.incident_set_publicity(
        actor=responder, incident=incident, is_public=True, estimated_resolution_at=estimate
    )
    timers.sweep()
    page = Client().get("/status/").content.decode()
    assert "Estimated resolution" in page
    hourly = Timer.objects.get(kind=snapshot.HOURLY_TIMER, state="pending")
    expected = min(snapshot._next_hour(timezone.now()), estimate + timedelta(seconds=1))
    assert abs((hourly.due_at - expected).total_seconds()) < 5
    Incident.objects.filter(pk=incident.pk).update(
        estimated_resolution_at=timezone.now() - timedelta(seconds=1)
    )
    snapshot.rebuild()
    snapshot._memory.checked = 0.0
    assert "Estimated resolution" not in Client().get("/status/").content.decode()
