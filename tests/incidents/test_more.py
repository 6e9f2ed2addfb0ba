"""Edge cases found in review: history restore, CSV formulas, breach bookkeeping, seeding."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import Incident, IncidentChecklistItem, TimelineEvent
from portal.errors import ApplicationError
from portal.models import Timer


@pytest.fixture
def rc(client, responder):
    client.force_login(responder)
    return client


def test_back_button_history_restore_gets_the_whole_page(rc, declare):
    declare()
    headers = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    html = rc.get(reverse("incidents:list"), {"severity": "P2"}, headers=headers).content
    assert b"<html" in html and b"<nav" in html


def test_csv_export_escapes_spreadsheet_formulas(client, manager, declare):
    declare(title='=HYPERLINK("http://evil")')
    declare(title="Plain title")
    client.force_login(manager)
    response = client.get(reverse("incidents:export"))
    body = b"".join(response.streaming_content).decode()
    assert response["Content-Type"] == "text/csv"
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body
    assert "Plain title" in body
    assert body.splitlines()[0].startswith("reference,title,severity")


def test_csv_export_honours_filters(client, manager, declare):
    declare(title="Keep me", severity="P3", symptom="intermittent", users_affected_percent=1)
    declare(title="Not me")
    client.force_login(manager)
    body = b"".join(client.get(reverse("incidents:export"), {"severity": "P3"}).streaming_content)
    assert b"Keep me" in body and b"Not me" not in body


def test_breach_is_recorded_once_per_severity(declare, responder):
    incident = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    assert services.incident_record_response_breach(incident_id=incident.pk)
    assert not services.incident_record_response_breach(incident_id=incident.pk)
    incident.refresh_from_db()
    services.incident_update(
        actor=responder,
        incident=incident,
        expected_version=incident.version,
        severity="P1",
        severity_reason="worse",
    )
    # The P1 clock is a new commitment: its breach is recorded, once.
    assert services.incident_record_response_breach(incident_id=incident.pk)
    assert not services.incident_record_response_breach(incident_id=incident.pk)
    severities = list(
        incident.events.filter(kind="response_breached").values_list("params__severity", flat=True)
    )
    assert severities == ["P2", "P1"]


def test_dashboard_counts_only_unacknowledged_breaches(rc, declare):
    # Declared 40 minutes after detection: acknowledged late, but acknowledged.
    declare(title="Late", detected_at=timezone.now() - timedelta(minutes=40))
    html = rc.get(reverse("dashboard")).content.decode()
    assert "past response time" not in html
    assert "Acknowledged late" in html


def test_existing_incidents_keep_their_checklist_wording(declare):
    from incidents.models import ChecklistTemplate

    old = declare()
    ChecklistTemplate.objects.get(kind="triage").items.update(text="New wording")
    new = declare()
    texts = IncidentChecklistItem.objects.filter(checklist__kind="triage")
    assert set(texts.filter(checklist__incident=new).values_list("text", flat=True)) == {
        "New wording"
    }
    assert "New wording" not in texts.filter(checklist__incident=old).values_list("text", flat=True)


def test_service_validates_input_from_any_caller(declare):
    with pytest.raises(ApplicationError) as err:
        declare(title="x" * 201)
    assert err.value.field == "title" and "200" in err.value.message
    with pytest.raises(ApplicationError) as err:
        declare(type="weather", subtype="")
    assert err.value.field == "type"
    with pytest.raises(ApplicationError) as err:
        declare(users_affected_percent=150)
    assert err.value.field == "users_affected_percent"
    with pytest.raises(ApplicationError) as err:
        declare(symptom="apocalypse")
    assert err.value.field == "symptom"
    assert Incident.objects.count() == 0
    assert not Timer.objects.filter(kind__startswith="incidents.").exists()


def test_update_validates_too(declare, responder):
    incident = declare()
    with pytest.raises(ApplicationError) as err:
        services.incident_update(
            actor=responder, incident=incident, expected_version=1, summary="y" * 10_001
        )
    assert err.value.field == "summary"
    incident.refresh_from_db()
    assert incident.version == 1 and incident.events.count() == 1


def test_timeline_events_are_append_only(declare):
    event = declare().events.get()
    event.params = {"tampered": True}
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    assert TimelineEvent.objects.get().params.get("tampered") is None


def test_seed_demo_is_idempotent(db):
    # pytest-django runs with DEBUG=False; --force is the command's own escape hatch.
    call_command("seed_demo", force=True, verbosity=0)
    counts = (Incident.objects.count(), TimelineEvent.objects.count(), Timer.objects.count())
    assert counts[0] == 7
    assert Incident.objects.filter(severity="P1", status="resolved").exists()
    resolved = Incident.objects.get(severity="P1", status="resolved")
    assert resolved.events.count() >= 4 and resolved.resolved_at is not None
    from incidents.models import Alert

    opened = Incident.objects.get(source="alert")  # the demo integration's alert group
    assert opened.status == "triage" and Alert.objects.filter(group__incident=opened).count() == 2
    call_command("seed_demo", force=True, verbosity=0)
    assert (
        Incident.objects.count(),
        TimelineEvent.objects.count(),
        Timer.objects.count(),
    ) == counts


def test_seed_demo_refuses_in_production(db, settings):
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG=0"):
        call_command("seed_demo", verbosity=0)
    assert Incident.objects.count() == 0
