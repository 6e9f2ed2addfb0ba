"""Scheduled maintenance: staff announce a window; the durable-timer sweep moves it to in
progress at its start (its components under maintenance) and to completed at its end (the
components back to what they were)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import ComponentStatusChange, Maintenance, MaintenanceUpdate
from portal import timers
from portal.errors import ApplicationError
from portal.models import Timer

pytestmark = pytest.mark.django_db


def schedule(responder, components, start_in=timedelta(hours=1), length=timedelta(hours=1)):
    now = timezone.now()
    return services.maintenance_schedule(
        actor=responder,
        title="Database upgrade",
        description="Saving may be slow for a few minutes.",
        components=components,
        starts_at=now + start_in,
        ends_at=now + start_in + length,
        now=now,
    )


def test_the_sweep_starts_and_completes_a_window(responder, components):
    web, api, auth, db = components
    services.component_set_status(actor=responder, component=api, status="degraded_performance")
    services.component_set_status(actor=responder, component=auth, status="major_outage")
    window = schedule(responder, [web, api, auth])
    assert window.status == "scheduled"
    assert set(Timer.objects.filter(state="pending").values_list("kind", flat=True)) >= {
        "maintenance_start",
        "maintenance_end",
    }
    timers.sweep(now=window.starts_at - timedelta(seconds=1))
    window.refresh_from_db()
    assert window.status == "scheduled"

    timers.sweep(now=window.starts_at + timedelta(seconds=1))
    window.refresh_from_db()
    statuses = {c.name: c.status for c in type(web).objects.all()}
    assert window.status == "in_progress"
    # An outage is not painted over by maintenance.
    assert statuses == {
        "Web app": "under_maintenance",
        "API": "under_maintenance",
        "Authentication": "major_outage",
        "Database": "operational",
    }
    # Someone fixes the API by hand during the window: the end leaves it alone.
    services.component_set_status(actor=responder, component=api, status="operational")

    timers.sweep(now=window.ends_at + timedelta(seconds=1))
    window.refresh_from_db()
    statuses = {c.name: c.status for c in type(web).objects.all()}
    assert window.status == "completed" and window.completed_at is not None
    assert statuses["Web app"] == "operational" and statuses["API"] == "operational"
    assert statuses["Authentication"] == "major_outage"
    assert list(window.updates.order_by("posted_at", "id").values_list("status", flat=True)) == [
        "scheduled",
        "in_progress",
        "completed",
    ]
    # Once: sweeping again changes nothing.
    changes = ComponentStatusChange.objects.count()
    timers.sweep(now=window.ends_at + timedelta(minutes=5))
    assert ComponentStatusChange.objects.count() == changes


def test_a_component_under_maintenance_returns_to_its_status_before(responder, components):
    web = components[0]
    services.component_set_status(actor=responder, component=web, status="degraded_performance")
    window = schedule(responder, [web])
    timers.sweep(now=window.starts_at)
    web.refresh_from_db()
    assert web.status == "under_maintenance"
    services.maintenance_verify(actor=responder, maintenance=window)
    window.refresh_from_db()
    assert window.status == "verifying"
    services.maintenance_complete(actor=responder, maintenance_id=window.pk)
    web.refresh_from_db()
    assert web.status == "degraded_performance"
    assert not Timer.objects.filter(kind="maintenance_end", state="pending").exists()


def test_cancelling_a_window_before_it_starts(responder, components):
    window = schedule(responder, components[:1])
    services.maintenance_complete(actor=responder, maintenance_id=window.pk)
    window.refresh_from_db()
    assert window.status == "completed" and window.started_at is None
    assert window.updates.first().body == "This scheduled maintenance has been cancelled."
    timers.sweep(now=window.ends_at + timedelta(minutes=1))
    components[0].refresh_from_db()
    assert components[0].status == "operational"


@pytest.mark.parametrize(
    ("start_in", "length", "field", "message"),
    [
        (timedelta(hours=2), timedelta(hours=-1), "ends_at", "end after it starts"),
        (timedelta(hours=2), timedelta(0), "ends_at", "end after it starts"),
        (timedelta(days=-3), timedelta(hours=1), "starts_at", "at most a day in the past"),
        (timedelta(days=400), timedelta(hours=1), "starts_at", "within 366 days"),
        (timedelta(hours=1), timedelta(days=15), "ends_at", "at most 14 days"),
    ],
)
def test_a_bad_window_is_refused_and_writes_nothing(
    responder, components, start_in, length, field, message
):
    with pytest.raises(ApplicationError, match=message) as refused:
        schedule(responder, components[:1], start_in=start_in, length=length)
    assert refused.value.field == field
    assert not Maintenance.objects.exists() and not MaintenanceUpdate.objects.exists()
    assert not Timer.objects.filter(kind__startswith="maintenance").exists()


def test_the_internal_page_schedules_a_window_and_refuses_a_bad_one(client, responder, components):
    client.force_login(responder)
    url = reverse("status_schedule_maintenance")
    day = (timezone.now() + timedelta(days=1)).date().isoformat()
    bad = client.post(
        url,
        {
            "title": "Network work",
            "starts_at_0": day,
            "starts_at_1": "10:00",
            "ends_at_0": day,
            "ends_at_1": "09:00",
            "components": [components[0].pk],
        },
    )
    assert bad.status_code == 422
    page = bad.content.decode()
    assert "The window must end after it starts." in page
    assert 'value="Network work"' in page  # what was typed is kept
    assert not Maintenance.objects.exists()
    good = client.post(
        url,
        {
            "title": "Network work",
            "starts_at_0": day,
            "starts_at_1": "10:00",
            "ends_at_0": day,
            "ends_at_1": "11:00",
            "components": [components[0].pk],
        },
    )
    assert good.status_code == 302
    window = Maintenance.objects.get()
    assert list(window.components.all()) == [components[0]]
    listing = client.get(reverse("status_internal")).content.decode()
    assert "Network work" in listing and "Cancel window" in listing


def test_overlapping_windows_restore_a_component_once_the_last_one_ends(responder, components):
    web = components[0]
    services.component_set_status(actor=responder, component=web, status="degraded_performance")
    first = schedule(responder, [web], start_in=timedelta(hours=1), length=timedelta(hours=2))
    second = schedule(responder, [web], start_in=timedelta(hours=2), length=timedelta(hours=2))
    timers.sweep(now=first.starts_at)
    timers.sweep(now=second.starts_at)
    second.refresh_from_db()
    assert second.status == "in_progress"
    assert second.restore == {str(web.pk): "degraded_performance"}  # inherited
    timers.sweep(now=first.ends_at)  # the first ends; the second still runs
    web.refresh_from_db()
    assert web.status == "under_maintenance"
    timers.sweep(now=second.ends_at)
    web.refresh_from_db()
    assert web.status == "degraded_performance"
