"""What the public sees of an incident: the rules table (incidents/statuspage/rules.py), the
automatic publication of P1/P2, a person's decision, and public updates."""

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Incident, StatusUpdate, TimelineEvent
from incidents.statuspage import rules
from portal.errors import ApplicationError
from tests.incidents.test_lifecycle import bring_to
from tests.incidents.workflow_helpers import S

pytestmark = pytest.mark.django_db

ROWS = [
    # components, open incident impacts, maintenance statuses -> indicator, banner
    ([], [], [], "none", "All Systems Operational"),
    (["operational", "operational"], [], ["scheduled", "completed"], "none",
     "All Systems Operational"),
    (["operational", "under_maintenance"], [], [], "maintenance", "Service Under Maintenance"),
    (["operational"], [], ["in_progress"], "maintenance", "Service Under Maintenance"),
    (["operational"], [], ["verifying"], "maintenance", "Service Under Maintenance"),
    (["degraded_performance"], [], ["in_progress"], "minor", "Minor Service Outage"),
    (["operational"], ["none"], [], "none", "All Systems Operational"),
    (["operational"], ["minor"], [], "minor", "Minor Service Outage"),
    (["operational"], ["major"], [], "major", "Partial System Outage"),
    (["partial_outage", "degraded_performance"], ["minor"], [], "major", "Partial System Outage"),
    (["major_outage"], [], [], "critical", "Major System Outage"),
    (["operational"], ["critical"], ["in_progress"], "critical", "Major System Outage"),
    (["under_maintenance", "major_outage"], ["minor"], [], "critical", "Major System Outage"),
]  # fmt: skip


@pytest.mark.parametrize(("components", "impacts", "windows", "key", "banner"), ROWS)
def test_overall_status_is_the_worst_input(components, impacts, windows, key, banner):
    indicator = rules.overall(components, impacts, windows)
    assert (indicator.key, indicator.description) == (key, banner)


def _kinds(incident):
    return list(incident.events.order_by("id").values_list("kind", flat=True))


@pytest.mark.parametrize(("severity", "public"), [("P1", True), ("P2", True), ("P3", False)])
def test_p1_and_p2_become_public_once_verified_not_while_in_triage(
    declare, responder, severity, public
):
    incident = declare(severity=severity, severity_reason="as stated", start_in_triage=True)
    incident.refresh_from_db()
    assert (incident.is_public, incident.published_at) == (False, None)
    services.incident_verify(actor=responder, incident=incident)
    incident.refresh_from_db()
    assert incident.is_public is public
    assert incident.public_decided is False
    verified = incident.events.get(kind="verified")
    assert verified.params.get("published", False) is public
    assert ("Now shown on the public status page" in verified.text) is public
    if public:
        # The neutral title of its type and the impact proposed from severity, never the
        # internal title.
        assert rules.public_title(incident) == "Service disruption"
        assert incident.public_impact == {"P1": "critical", "P2": "major"}[severity]


@pytest.mark.parametrize(
    ("type_", "subtype"),
    [("security", "security.unauthorized_access"), ("data", "data.data_exposure")],
)
def test_security_and_privacy_incidents_are_never_public_by_themselves(
    declare, responder, type_, subtype
):
    incident = declare(severity="P1", severity_reason="breach", type=type_, subtype=subtype)
    incident.refresh_from_db()
    assert incident.is_public is False
    # A person decides.
    services.incident_set_publicity(
        actor=responder, incident=incident, is_public=True, public_title="Service incident"
    )
    incident.refresh_from_db()
    assert incident.is_public and incident.public_decided
    assert incident.events.latest("id").text == (
        "Rita published the incident on the status page. shown: no → yes; public title: "
        "— → Service incident; public impact: — → critical."
    )


def test_a_person_withdrawing_it_is_not_overridden_by_the_rule(declare, responder):
    incident = declare(severity="P3", severity_reason="small")
    services.incident_set_publicity(actor=responder, incident=incident, is_public=False)
    incident.refresh_from_db()
    assert incident.public_decided and not incident.is_public
    services.incident_update(
        actor=responder,
        incident=incident,
        expected_version=incident.version,
        severity="P1",
        severity_reason="worse than thought",
    )
    incident.refresh_from_db()
    assert incident.is_public is False


def test_a_severity_raised_to_p2_publishes_it(declare, responder):
    incident = declare(severity="P3", severity_reason="small")
    assert Incident.objects.get(pk=incident.pk).is_public is False
    services.incident_update(
        actor=responder,
        incident=incident,
        expected_version=incident.version,
        severity="P2",
        severity_reason="a third of users",
    )
    incident.refresh_from_db()
    assert incident.is_public
    assert incident.events.latest("id").params["published"] is True


def test_never_public_while_in_triage_or_after_a_false_alarm(declare, responder):
    triage = declare(severity="P3", severity_reason="x", start_in_triage=True)
    written = TimelineEvent.objects.count()
    with pytest.raises(ApplicationError, match="never shown on the status page"):
        services.incident_set_publicity(actor=responder, incident=triage, is_public=True)
    services.incident_mark_false_alarm(
        actor=responder, incident=triage, note="Alert threshold too tight; raised to 5%."
    )
    with pytest.raises(ApplicationError):
        services.incident_set_publicity(actor=responder, incident=triage, is_public=True)
    triage.refresh_from_db()
    assert not triage.is_public
    assert TimelineEvent.objects.count() == written + 1  # the false alarm only


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"public_title": "x" * 201}, "public_title", "At most 200"),
        ({"public_impact": "apocalyptic"}, "public_impact", "Unknown impact"),
        ({"estimated_resolution_at": "past"}, "estimated_resolution_at", "in the future"),
        ({"estimated_resolution_at": "far"}, "estimated_resolution_at", "within 30 days"),
    ],
)
def test_bad_public_fields_are_refused_and_write_nothing(
    declare, responder, fields, field, message
):
    incident = declare(severity="P3", severity_reason="x")
    now = timezone.now()
    when = {"past": now - timedelta(minutes=5), "far": now + timedelta(days=45)}
    if "estimated_resolution_at" in fields:
        fields = {"estimated_resolution_at": when[fields["estimated_resolution_at"]]}
    before = (TimelineEvent.objects.count(), Incident.objects.get(pk=incident.pk).public_title)
    with pytest.raises(ApplicationError, match=message) as refused:
        services.incident_set_publicity(
            actor=responder, incident=incident, is_public=True, **fields
        )
    assert refused.value.field == field
    fresh = Incident.objects.get(pk=incident.pk)
    assert (TimelineEvent.objects.count(), fresh.public_title) == before
    assert not fresh.is_public


def test_a_public_update_needs_a_public_body_and_publishes_the_incident(declare, responder):
    incident = declare(severity="P3", severity_reason="x")
    with pytest.raises(ApplicationError, match="message for the status page") as refused:
        services.status_update_post(
            actor=responder, incident=incident, impact="i", actions="a", audience="public"
        )
    assert refused.value.field == "public_body"
    assert not StatusUpdate.objects.exists()
    update = services.status_update_post(
        actor=responder,
        incident=incident,
        impact="Internal: shard 7 of db-eu-2 is thrashing",
        actions="Internal: failing over to db-eu-3",
        audience="public",
        public_body="Saving documents is slow for some users in Europe.",
    )
    incident.refresh_from_db()
    assert incident.is_public and incident.public_decided
    assert update.public_body == "Saving documents is slow for some users in Europe."
    # An internal update keeps no public text even if some was sent along.
    internal = services.status_update_post(
        actor=responder,
        incident=incident,
        impact="i",
        actions="a",
        audience="internal",
        public_body="ignored",
    )
    assert internal.public_body == ""


def test_the_final_update_of_a_public_incident_is_public_with_a_default_message(declare, responder):
    incident = declare(severity="P2", severity_reason="")
    incident = bring_to(incident, responder, S.RESOLVED)
    final = incident.status_updates.get(final=True)
    assert (final.audience, final.public_body) == ("public", "This incident has been resolved.")


def test_public_status_mapping_hides_triage_and_shows_closed_as_resolved():
    assert "triage" not in rules.PUBLIC_STATUS and "false_alarm" not in rules.PUBLIC_STATUS
    assert rules.PUBLIC_STATUS["closed"] == "resolved"
    assert set(rules.PUBLIC_STATUS.values()) == {"investigating", "identified", "monitoring",
                                                 "resolved"}  # fmt: skip


def test_the_status_page_tables_are_the_specs():
    assert set(rules.AUTO_PUBLIC_SEVERITIES) == {"P1", "P2"}
    assert rules.PUBLIC_IMPACT_BY_SEVERITY == {
        "P1": "critical", "P2": "major", "P3": "minor", "P4": "none"
    }  # fmt: skip
    assert [(i.key, i.description) for i in rules.INDICATORS] == [
        ("critical", "Major System Outage"),
        ("major", "Partial System Outage"),
        ("minor", "Minor Service Outage"),
        ("maintenance", "Service Under Maintenance"),
        ("none", "All Systems Operational"),
    ]
    assert set(rules.SENSITIVE_TYPES) == {"security"}
    assert set(rules.SENSITIVE_SUBTYPES) == {"data.data_exposure"}
