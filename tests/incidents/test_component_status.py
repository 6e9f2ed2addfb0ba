"""Component status (issue 9's first part): changed through one service, from the incident
page; every change is a history row (the uptime history) and a timeline event; public ids
are opaque."""

import re

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import Component, ComponentStatusChange, TimelineEvent
from portal import hooks
from portal.errors import ApplicationError
from tests.incidents.test_lifecycle import bring_to
from tests.incidents.workflow_helpers import HX, S


def rows():
    return ComponentStatusChange.objects.count(), TimelineEvent.objects.count()


def test_public_ids_are_opaque_and_unique(components):
    ids = [c.public_id for c in Component.objects.all()]
    assert all(re.fullmatch(r"[a-z0-9]{12}", i) for i in ids)
    assert len(set(ids)) == len(ids)


def test_a_change_is_a_history_row_a_timeline_event_and_a_public_change(
    declare, responder, components
):
    seen = []

    def on_public(*, incident, cause, at):
        seen.append((incident.pk if incident else None, cause))

    hooks.connect(hooks.PUBLIC_STATE_CHANGED)(on_public)
    try:
        api = components[1]
        incident = declare(components=[api])
        change = services.component_set_status(
            actor=responder, component=api, status="partial_outage", incident=incident
        )
    finally:
        hooks.disconnect(hooks.PUBLIC_STATE_CHANGED, on_public)
    api.refresh_from_db()
    assert api.status == "partial_outage" and api.status_changed_at == change.changed_at
    assert (change.old, change.new, change.changed_by, change.incident) == (
        "operational", "partial_outage", responder, incident,
    )  # fmt: skip
    event = incident.events.latest("id")
    assert event.kind == "component_status"
    assert event.text == f"Rita set {api.name} to Partial outage (was Operational)."
    # Declaring a P2 published it (once verified, P1/P2 are public), then the component.
    assert seen == [(incident.pk, "publicity"), (incident.pk, "component")]
    # Without an incident (the components page, maintenance): a row, no timeline event.
    services.component_set_status(actor=None, component=api, status="operational")
    assert list(api.status_changes.values_list("old", "new", "incident")) == [
        ("operational", "partial_outage", incident.pk),
        ("partial_outage", "operational", None),
    ]


@pytest.mark.parametrize(
    ("status", "message"),
    [("sideways", "Unknown component status 'sideways'"), ("operational", "already operational")],
)
def test_bad_changes_are_refused_and_write_nothing(declare, responder, components, status, message):
    incident = declare(components=components[:1])
    before = rows()
    with pytest.raises(ApplicationError, match=message):
        services.component_set_status(
            actor=responder, component=components[0], status=status, incident=incident
        )
    assert rows() == before


def test_only_responders_and_the_system_change_statuses(components, norole):
    with pytest.raises(
        ApplicationError, match="^Only a responder can change a component.s status.$"
    ):
        services.component_set_status(actor=norole, component=components[0], status="major_outage")
    assert ComponentStatusChange.objects.count() == 0


def test_a_closed_incident_no_longer_changes_components(declare, responder, components):
    incident = bring_to(declare(components=components[:1]), responder, S.CLOSED)
    with pytest.raises(ApplicationError, match="This incident is closed"):
        services.component_set_status(
            actor=responder, component=components[0], status="major_outage", incident=incident
        )


def test_the_incident_page_sets_a_component_status(client, declare, responder, components):
    api = components[1]
    incident = declare(components=[api])
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert f'data-component="{api.public_id}"' in page and ">Operational</span>" in page
    url = reverse("incidents:set_component_status", args=[incident.reference, api.public_id])
    live = client.post(url, {"status": "major_outage"}, headers=HX)
    assert live.status_code == 200
    assert 'id="components"' in live.content.decode()
    assert "component-major_outage" in live.content.decode()
    before = rows()
    refused = client.post(url, {"status": "exploded"}, headers=HX)
    assert refused.status_code == 422 and "Select a valid choice" in refused.content.decode()
    assert rows() == before
    missing = reverse("incidents:set_component_status", args=[incident.reference, "nope"])
    assert client.post(missing, {"status": "operational"}).status_code == 404
    assert client.post(url, {"status": "operational"}).status_code == 302
    assert api.status_changes.count() == 2


def test_the_admin_shows_the_status_but_does_not_change_it(client, admin_user, components):
    client.force_login(admin_user)
    url = reverse("admin:incidents_component_change", args=[components[0].pk])
    page = client.get(url).content.decode()
    assert 'name="status"' not in page and "Operational" in page
