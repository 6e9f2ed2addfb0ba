"""The Statuspage-compatible API (/api/v2/*.json) pinned to the example responses of
Statuspage's public API documentation (tests/incidents/statuspage_examples/, sources in its
README), field by field and type by type. The documented examples predate a few fields that
Statuspage's real responses carry and the issue requires (page.time_zone, component groups,
incident started_at and components, update affected_components); those are allowed as extras
and checked here against the shapes of the real responses."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.statuspage import snapshot
from portal import timers
from tests.incidents.statuspage_shapes import (
    assert_iso8601_with_offset,
    assert_same_shape,
    load_example,
)

pytestmark = pytest.mark.django_db

EXTRA = {
    "time_zone": frozenset({"string"}),
    "showcase": frozenset({"boolean"}),
    "start_date": frozenset({"string", "null"}),
    "group_id": frozenset({"string", "null"}),
    "group": frozenset({"boolean"}),
    "only_show_if_degraded": frozenset({"boolean"}),
    "components": frozenset({"array"}),
    "started_at": frozenset({"string"}),
    "affected_components": frozenset({"array", "null"}),
    "deliver_notifications": frozenset({"boolean"}),
    "custom_tweet": frozenset({"string", "null"}),
    "tweet_id": frozenset({"string", "null"}),
}
ENDPOINTS = {
    "summary.json": "/api/v2/summary.json",
    "status.json": "/api/v2/status.json",
    "components.json": "/api/v2/components.json",
    "incidents.json": "/api/v2/incidents.json",
    "incidents_unresolved.json": "/api/v2/incidents/unresolved.json",
    "scheduled_maintenances.json": "/api/v2/scheduled-maintenances.json",
    "scheduled_maintenances_upcoming.json": "/api/v2/scheduled-maintenances/upcoming.json",
    "scheduled_maintenances_active.json": "/api/v2/scheduled-maintenances/active.json",
}
COMPONENT = load_example("components.json")["components"][0]
COMPONENT_STATUSES = {
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
}  # fmt: skip
INCIDENT_STATUSES = {"investigating", "identified", "monitoring", "resolved", "postmortem"}
MAINTENANCE_STATUSES = {"scheduled", "in_progress", "verifying", "completed"}


@pytest.fixture
def page_with_everything(declare, responder, components):
    web, api, auth, db = components
    live = declare(severity="P1", severity_reason="all", components=[web, auth])
    services.component_set_status(
        actor=responder, component=auth, status="major_outage", incident=live
    )
    services.status_update_post(
        actor=responder, incident=live, impact="i", actions="a", audience="public",
        public_body="Logins fail.",
    )  # fmt: skip
    services.component_set_status(
        actor=responder, component=web, status="partial_outage", incident=live
    )
    services.status_update_post(
        actor=responder, incident=live, impact="i", actions="a", audience="public",
        public_body="The web app is affected too.",
    )  # fmt: skip
    services.maintenance_schedule(
        actor=responder, title="Upgrade", components=[db],
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=1),
    )  # fmt: skip
    now = timezone.now()
    running = services.maintenance_schedule(
        actor=responder, title="Network", components=[api],
        starts_at=now + timedelta(seconds=1), ends_at=now + timedelta(hours=1), now=now,
    )  # fmt: skip
    timers.sweep(now=running.starts_at + timedelta(seconds=1))
    snapshot.rebuild()
    return live


def _times(value, path="$"):
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith(("_at", "_for", "_until")) and item is not None:
                assert_iso8601_with_offset(item, f"{path}.{key}")
            _times(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _times(item, f"{path}[{i}]")


def _component(c, path):
    if c["group"]:
        assert_same_shape(COMPONENT, c, path, extra={"components": frozenset({"array"})})
        assert c["components"] and all(isinstance(i, str) for i in c["components"])
    else:
        assert_same_shape(COMPONENT, c, path)
    assert c["status"] in COMPONENT_STATUSES
    assert isinstance(c["id"], str) and not c["id"].isdigit()


def _incident(i, path, *, maintenance: bool):
    assert i["status"] in (MAINTENANCE_STATUSES if maintenance else INCIDENT_STATUSES)
    assert i["impact"] in ({"maintenance"} if maintenance else {"none", "minor", "major",
                                                                 "critical"})  # fmt: skip
    for n, c in enumerate(i["components"]):
        _component(c, f"{path}.components[{n}]")
    for u in i["incident_updates"]:
        assert u["incident_id"] == i["id"]
        for a in u["affected_components"] or []:
            assert set(a) == {"code", "name", "old_status", "new_status"}
            assert {a["old_status"], a["new_status"]} <= COMPONENT_STATUSES


@pytest.mark.parametrize("example", sorted(ENDPOINTS))
def test_each_endpoint_has_statuspage_shape(page_with_everything, example):
    response = Client().get(ENDPOINTS[example])
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    document = response.json()
    assert_same_shape(load_example(example), document, extra=EXTRA)
    _times(document)
    page = document["page"]
    assert set(page) == {"id", "name", "url", "time_zone", "updated_at"}
    for n, c in enumerate(document.get("components", [])):
        _component(c, f"$.components[{n}]")
    for key in ("incidents", "scheduled_maintenances"):
        for n, i in enumerate(document.get(key, [])):
            _incident(i, f"$.{key}[{n}]", maintenance=key == "scheduled_maintenances")
    if "status" in document:
        assert document["status"]["indicator"] in {"none", "minor", "major", "critical",
                                                   "maintenance"}  # fmt: skip


def test_the_documents_carry_what_happened(page_with_everything):
    summary = Client().get("/api/v2/summary.json").json()
    assert summary["status"] == {"indicator": "critical", "description": "Major System Outage"}
    names = [c["name"] for c in summary["components"]]
    assert names == ["Core platform", "Web app", "API", "Authentication", "Database"]
    group = summary["components"][0]
    assert group["group"] and group["components"] == [c["id"] for c in summary["components"][1:]]
    assert [c["position"] for c in summary["components"]] == [1, 2, 3, 4, 5]
    (incident,) = summary["incidents"]
    assert incident["name"] == "Service disruption" and incident["impact"] == "critical"
    assert incident["id"] == page_with_everything.public_id
    newest, first = incident["incident_updates"]
    assert (newest["body"], first["body"]) == ("The web app is affected too.", "Logins fail.")
    assert first["affected_components"] == [
        {"code": incident["components"][1]["id"], "name": "Authentication",
         "old_status": "operational", "new_status": "major_outage"}
    ]  # fmt: skip
    assert [c["name"] for c in incident["components"]] == ["Web app", "Authentication"]
    maintenances = summary["scheduled_maintenances"]
    assert [(m["name"], m["status"]) for m in maintenances] == [
        ("Network", "in_progress"),
        ("Upgrade", "scheduled"),
    ]
    active = Client().get("/api/v2/scheduled-maintenances/active.json").json()
    assert [m["name"] for m in active["scheduled_maintenances"]] == ["Network"]
    upcoming = Client().get("/api/v2/scheduled-maintenances/upcoming.json").json()
    assert [m["name"] for m in upcoming["scheduled_maintenances"]] == ["Upgrade"]
    api = next(c for c in summary["components"] if c["name"] == "API")
    assert api["status"] == "under_maintenance"


def test_lists_hold_the_50_most_recent(declare, responder):
    for n in range(53):
        declare(title=f"i{n}", severity="P2", now=timezone.now() - timedelta(minutes=60 - n))
    snapshot.rebuild()
    incidents = Client().get("/api/v2/incidents.json").json()["incidents"]
    assert len(incidents) == 50
    created = [i["created_at"] for i in incidents]
    assert created == sorted(created, reverse=True)
