"""Alert intake (issue 12): Alertmanager (webhook version 4), Grafana and generic payloads
open incidents in Triage that page; repeats count, resolutions resolve, groups share one
incident; bad input is refused with a reason and writes nothing."""

import copy
import json
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from incidents.intake import payloads, services
from incidents.models import Alert, AlertGroup, Incident, Integration, Source, Status
from portal.models import Escalation

pytestmark = pytest.mark.django_db

# Alertmanager's webhook, version 4, as notify/webhook/webhook.go marshals its Message
# (template.Data, lately with notification_reason and routeLabels), with Go's nanosecond
# times and zero endsAt.
ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="ProbeFailure"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "portal",
    "notification_reason": "first notification",
    "routeLabels": None,
    "groupLabels": {"alertname": "ProbeFailure"},
    "commonLabels": {"alertname": "ProbeFailure", "severity": "critical", "job": "http_checks"},
    "commonAnnotations": {"summary": "BlackBox probe failure"},
    "externalURL": "http://alertmanager.example.org:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "ProbeFailure",
                "instance": "https://api.example.org",
                "job": "http_checks",
                "severity": "critical",
                "component": "API",
            },
            "annotations": {
                "summary": "API probe failing",
                "description": "https://api.example.org has been down for over 5m.",
                "runbook_url": "https://runbooks.example.org/api-down",
            },
            "startsAt": "2026-11-30T05:52:26.739266876Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=probe_success+%3D%3D+0",
            "fingerprint": "1a30ba71cca2921f",
        }
    ],
}

# Grafana alerting's webhook (version "1"), as its documentation shows it.
GRAFANA = {
    "receiver": "portal",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "High memory usage", "team": "blue", "severity": "warning"},
            "annotations": {
                "description": "The system has high memory usage",
                "runbook_url": "https://myrunbook.com/runbook/1234",
                "summary": "This alert was triggered for zone us-1",
            },
            "startsAt": "2026-11-30T05:51:03.157076+02:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://play.grafana.org/alerting/1afz29v7z/edit",
            "fingerprint": "c6eadffa33fcdf37",
            "silenceURL": "https://play.grafana.org/alerting/silence/new",
            "dashboardURL": "https://play.grafana.org/d/abc",
            "panelURL": "",
            "values": {"B": 44.23943737541908, "C": 1},
        }
    ],
    "groupLabels": {"alertname": "High memory usage"},
    "commonLabels": {"alertname": "High memory usage", "team": "blue"},
    "commonAnnotations": {},
    "externalURL": "https://play.grafana.org/",
    "version": "1",
    "groupKey": '{}:{alertname="High memory usage"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] High memory usage (blue)",
    "state": "alerting",
    "message": "**Firing**",
}


@pytest.fixture
def alertmanager(db):
    integration, token = services.integration_create(
        actor=None, name="Prometheus", kind="alertmanager"
    )
    return integration, f"/integrations/{token}/"


def post(client, url, body, **headers):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers)


def test_an_alertmanager_group_opens_an_incident_in_triage_that_pages(
    client, alertmanager, components
):
    _, url = alertmanager
    body = copy.deepcopy(ALERTMANAGER)
    started = timezone.now().replace(microsecond=0) - timedelta(minutes=10)
    body["alerts"][0]["startsAt"] = f"{started:%Y-%m-%dT%H:%M:%S}.739266876Z"
    response = post(client, url, body)
    assert response.status_code == 202, response.content
    incident = Incident.objects.get()
    assert response.json()["incidents"] == [incident.reference]
    assert incident.status == Status.TRIAGE and incident.source == Source.ALERT
    assert incident.severity == "P1"  # severity=critical
    assert incident.title == "API probe failing"
    assert [c.name for c in incident.components.all()] == ["API"]
    assert incident.declared_by is None and incident.acknowledged_at is None
    assert incident.detected_at == started + timedelta(microseconds=739266)
    alert = Alert.objects.get()
    assert alert.fingerprint == "1a30ba71cca2921f" and alert.count == 1
    assert alert.runbook_url == "https://runbooks.example.org/api-down"
    assert Escalation.objects.filter(topic=f"incident:{incident.pk}").exists()


def test_a_repeat_counts_and_a_resolution_resolves(client, alertmanager):
    _, url = alertmanager
    post(client, url, ALERTMANAGER)
    post(client, url, ALERTMANAGER)
    alert = Alert.objects.get()
    assert alert.count == 2 and Incident.objects.count() == 1
    resolved = copy.deepcopy(ALERTMANAGER)
    resolved["status"] = "resolved"
    resolved["alerts"][0].update(status="resolved", endsAt="2026-11-30T06:10:00Z")
    assert post(client, url, resolved).status_code == 202
    alert.refresh_from_db()
    assert alert.status == "resolved" and alert.resolved_at is not None
    incident = Incident.objects.get()
    assert incident.events.filter(kind="alert", params__action="resolved").count() == 1
    post(client, url, resolved)  # told once
    assert incident.events.filter(kind="alert", params__action="resolved").count() == 1
    assert incident.status == Status.TRIAGE  # resolving the incident stays a person's call


def test_alerts_of_one_group_share_an_incident(client, alertmanager):
    _, url = alertmanager
    post(client, url, ALERTMANAGER)
    second = copy.deepcopy(ALERTMANAGER)
    second["alerts"][0].update(
        fingerprint="2b41cb82ddb3a3a0",
        labels={**second["alerts"][0]["labels"], "instance": "https://www.example.org"},
        annotations={"summary": "Web probe failing"},
    )
    post(client, url, second)
    assert Incident.objects.count() == 1 and Alert.objects.count() == 2
    incident = Incident.objects.get()
    assert incident.events.filter(kind="alert", params__action="attached").count() == 1
    other_group = copy.deepcopy(second)
    other_group["groupKey"] = '{}:{alertname="DiskFull"}'
    other_group["alerts"][0]["fingerprint"] = "3c52dc93eec4b4b1"
    post(client, url, other_group)
    assert Incident.objects.count() == 2 and AlertGroup.objects.count() == 2


def test_grafana_and_generic_payloads(client, db):
    _, grafana_token = services.integration_create(actor=None, name="Grafana", kind="grafana")
    response = post(client, f"/integrations/{grafana_token}/", GRAFANA)
    assert response.status_code == 202, response.content
    incident = Incident.objects.get()
    assert incident.severity == "P3"  # severity=warning
    alert = Alert.objects.get()
    assert alert.dashboard_url == "https://play.grafana.org/d/abc"
    assert alert.starts_at.isoformat() == "2026-11-30T03:51:03.157076+00:00"
    _, generic_token = services.integration_create(actor=None, name="Cron", kind="generic")
    response = post(
        client,
        f"/integrations/{generic_token}/",
        {"dedup_key": "backup-nightly", "title": "Nightly backup failed", "severity": "error"},
    )
    assert response.status_code == 202
    assert Incident.objects.get(title="Nightly backup failed").severity == "P2"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "not JSON"),
        ([], "JSON object"),
        ({**ALERTMANAGER, "version": "3"}, "version '3' is not supported"),
        ({**ALERTMANAGER, "alerts": []}, "non-empty list"),
        ({**ALERTMANAGER, "groupKey": None}, "groupKey"),
        ({**ALERTMANAGER, "alerts": [{"status": "burning"}]}, "firing"),
        ({**ALERTMANAGER, "alerts": [{**ALERTMANAGER["alerts"][0], "labels": [1]}]}, "labels"),
        ({**ALERTMANAGER, "alerts": [{**ALERTMANAGER["alerts"][0], "startsAt": "noon"}]}, "RFC"),
    ],
)
def test_malformed_payloads_get_400_with_the_reason_and_write_nothing(
    client, alertmanager, body, reason
):
    _, url = alertmanager
    response = post(client, url, body)
    assert response.status_code == 400 and reason in response.json()["error"]
    assert not Alert.objects.exists() and not Incident.objects.exists()


def test_unknown_or_revoked_token_is_404_and_a_missing_bearer_401(client, alertmanager, db):
    integration, url = alertmanager
    assert post(client, "/integrations/nope/", ALERTMANAGER).status_code == 404
    secured, token = services.integration_create(
        actor=None, name="Secured", kind="alertmanager", bearer_token="s3cret"
    )
    assert post(client, f"/integrations/{token}/", ALERTMANAGER).status_code == 401
    wrong = post(client, f"/integrations/{token}/", ALERTMANAGER, HTTP_AUTHORIZATION="Bearer x")
    assert wrong.status_code == 401
    ok = post(client, f"/integrations/{token}/", ALERTMANAGER, HTTP_AUTHORIZATION="Bearer s3cret")
    assert ok.status_code == 202
    services.integration_revoke(actor=None, integration=integration)
    assert post(client, url, ALERTMANAGER).status_code == 404


def test_a_body_over_256_kib_is_413(client, alertmanager):
    _, url = alertmanager
    body = json.dumps({**ALERTMANAGER, "padding": "x" * (256 * 1024)})
    assert post(client, url, body).status_code == 413
    assert not Alert.objects.exists()


def test_only_the_token_hash_is_kept_and_the_command_prints_the_url(capsys, db, settings):
    settings.SITE_URL = "https://portal.example.com"
    call_command("create_integration", "--name", "Prom", "--kind", "alertmanager")
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://portal.example.com/integrations/")
    token = url.rstrip("/").rsplit("/", 1)[-1]
    integration = Integration.objects.get(name="Prom")
    assert integration.token_hash == services.digest(token) and token not in str(
        Integration.objects.values().get(pk=integration.pk)
    )


def test_the_incident_page_shows_its_alerts_and_their_links(client, alertmanager, responder):
    _, url = alertmanager
    post(client, url, ALERTMANAGER)
    post(client, url, ALERTMANAGER)
    incident = Incident.objects.get()
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "API probe failing" in page and "received 2 times" in page
    assert 'href="https://runbooks.example.org/api-down"' in page
    assert "Another alert" not in page  # a repeat is not news on the timeline
    # Two alerts of one group: each shows the labels that tell it from the other.
    second = copy.deepcopy(ALERTMANAGER)
    second["alerts"][0]["fingerprint"] = "2b41cb82ddb3a3a0"
    second["alerts"][0]["labels"]["instance"] = "https://www.example.org"
    post(client, url, second)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "instance=https://www.example.org</code>" in page
    assert "instance=https://api.example.org</code>" in page
    assert "job=http_checks</code>" not in page and "job=http_checks," not in page  # shared


def signed(client, url, body: bytes, secret: str, *, at=None, header="X-Portal-Signature"):
    stamp = str(int((at or timezone.now()).timestamp()))
    signature = services.expected_signature(secret, stamp, body)
    stamp_header = (
        "X-Portal-Timestamp" if header == "X-Portal-Signature" else ("X-Grafana-Alerting-Timestamp")
    )
    return client.post(
        url,
        data=body,
        content_type="application/json",
        headers={header: signature, stamp_header: stamp},
    )


def test_a_signed_generic_request_is_checked_and_a_replay_refused(client, db):
    _, token = services.integration_create(
        actor=None, name="Signed", kind="generic", signing_secret="k3y"
    )
    url = f"/integrations/{token}/"
    body = json.dumps({"dedup_key": "a", "title": "Queue backed up"}).encode()
    assert post(client, url, body).status_code == 401  # unsigned
    assert signed(client, url, body, "wrong").status_code == 401
    stale = signed(client, url, body, "k3y", at=timezone.now() - timedelta(minutes=6))
    assert stale.status_code == 401 and "stale" in stale.json()["error"]
    assert not Alert.objects.exists()
    at = timezone.now()
    assert signed(client, url, body, "k3y", at=at).status_code == 202
    replay = signed(client, url, body, "k3y", at=at)
    assert replay.status_code == 401 and "replay" in replay.json()["error"]
    assert Alert.objects.get().count == 1


def test_grafana_signs_timestamp_and_body_in_its_own_header(client, db):
    _, token = services.integration_create(
        actor=None, name="Grafana", kind="grafana", signing_secret="g-secret"
    )
    body = json.dumps(GRAFANA).encode()
    response = signed(
        client, f"/integrations/{token}/", body, "g-secret", header="X-Grafana-Alerting-Signature"
    )
    assert response.status_code == 202, response.content


# What Grafana's webhook notifier (grafana/alerting receivers/webhook/v1) marshals for its
# test case "Default config with one alert with custom message": Go's zero times, a nil
# values map as null, the alert's orgId, the empty valueString, the group key "alertname".
GRAFANA_AS_MARSHALLED = """{"receiver":"my_receiver","status":"firing","alerts":[{"status":
"firing","labels":{"alertname":"alert1","lbl1":"val1"},"annotations":{"ann1":"annv1"},
"startsAt":"0001-01-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":
"http://localhost/test?orgId=1","fingerprint":"fac0861a85de433a","silenceURL":
"http://localhost/alerting/silence/new?alertmanager=grafana&matcher=alertname%3Dalert1&matcher=lbl1%3Dval1&orgId=1",
"dashboardURL":"http://localhost/d/abcd?orgId=1","panelURL":
"http://localhost/d/abcd?orgId=1&viewPanel=efgh","values":null,"valueString":"","orgId":1}],
"groupLabels":{"alertname":""},"commonLabels":{"alertname":"alert1","lbl1":"val1"},
"commonAnnotations":{"ann1":"annv1"},"externalURL":"http://localhost","version":"1",
"groupKey":"alertname","truncatedAlerts":0,"orgId":1,"title":"[FIRING:1]  (val1)",
"state":"alerting","message":"Custom message"}"""


def test_grafana_payload_exactly_as_its_notifier_marshals_it(client, db):
    _, token = services.integration_create(actor=None, name="Grafana", kind="grafana")
    response = post(client, f"/integrations/{token}/", GRAFANA_AS_MARSHALLED)
    assert response.status_code == 202, response.content
    alert = Alert.objects.get()
    assert alert.fingerprint == "fac0861a85de433a" and alert.title == "alert1"
    assert alert.starts_at is None  # Go's zero time: not a start
    assert alert.dashboard_url == "http://localhost/d/abcd?orgId=1"
    incident = Incident.objects.get()
    assert incident.severity == "P3"  # no severity label: the integration's default
    resolved = GRAFANA_AS_MARSHALLED.replace('"status":\n"firing"', '"status":\n"resolved"')
    resolved = resolved.replace('"state":"alerting"', '"state":"ok"').replace(
        '"status":"firing"', '"status":"resolved"'
    )
    assert post(client, f"/integrations/{token}/", resolved).status_code == 202
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_grafana_signing_without_a_timestamp_header_is_refused_saying_what_to_set(client, db):
    _, token = services.integration_create(
        actor=None, name="Grafana", kind="grafana", signing_secret="g-secret"
    )
    body = GRAFANA_AS_MARSHALLED.encode()
    # Grafana's HMAC with no timestamp header configured: hex HMAC over the body alone.
    import hashlib
    import hmac

    signature = hmac.new(b"g-secret", body, hashlib.sha256).hexdigest()
    response = client.post(
        f"/integrations/{token}/",
        data=body,
        content_type="application/json",
        headers={"X-Grafana-Alerting-Signature": signature},
    )
    assert response.status_code == 401
    assert "timestamp header to X-Grafana-Alerting-Timestamp" in response.json()["error"]
    assert not Alert.objects.exists()


def test_alertmanager_cannot_be_given_a_signing_secret(db):
    from portal.errors import ApplicationError

    with pytest.raises(ApplicationError, match="bearer token instead"):
        services.integration_create(actor=None, name="AM", kind="alertmanager", signing_secret="x")
    assert not Integration.objects.exists()


def group_payload(n: int) -> dict:
    body = copy.deepcopy(ALERTMANAGER)
    body["groupKey"] = f'{{}}:{{alertname="Probe{n}"}}'
    body["alerts"][0].update(fingerprint=f"fp{n:04d}", annotations={"summary": f"Probe {n} down"})
    return body


def test_a_storm_of_new_groups_joins_one_incident_after_the_cap(client, db):
    integration, token = services.integration_create(actor=None, name="Noisy", kind="alertmanager")
    Integration.objects.filter(pk=integration.pk).update(storm_limit=3)
    url = f"/integrations/{token}/"
    for n in range(8):
        assert post(client, url, group_payload(n)).status_code == 202
    # Three incidents of their own, then one storm incident that the rest join.
    assert Incident.objects.count() == 4
    storm = Incident.objects.get(title="Alert storm from Noisy")
    assert AlertGroup.objects.filter(incident=storm).count() == 5
    assert storm.events.filter(kind="alert", params__action="attached").count() == 4
    assert Escalation.objects.filter(topic=f"incident:{storm.pk}").count() == 1
    # A minute later the storm has passed: a new group opens its own incident again.
    later = timezone.now() + timedelta(minutes=2)
    services.alerts_receive(
        integration=integration, groups=payloads.alertmanager(group_payload(99)), now=later
    )
    assert Incident.objects.filter(title="Probe 99 down").count() == 1


def test_alerts_on_components_under_maintenance_are_recorded_but_page_nobody(
    client, alertmanager, components, responder
):
    from incidents.services import maintenance_schedule

    _, url = alertmanager
    api = next(c for c in components if c.name == "API")
    now = timezone.now()
    maintenance_schedule(
        actor=responder,
        title="API upgrade",
        components=[api],
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
        now=now - timedelta(minutes=10),
    )
    assert post(client, url, ALERTMANAGER).status_code == 202
    assert Alert.objects.count() == 1
    assert not Incident.objects.exists() and not Escalation.objects.exists()
    assert "API upgrade (maintenance)" in AlertGroup.objects.get().silenced


def test_nul_characters_are_dropped_not_a_database_error(client, db):
    _, token = services.integration_create(actor=None, name="Odd", kind="generic")
    response = post(
        client,
        f"/integrations/{token}/",
        {
            "dedup_key": "a\x00b",
            "title": "Disk\x00 full",
            "labels": {"ho\x00st": "db\x001"},
            "description": "x\x00y",
        },
    )
    assert response.status_code == 202, response.content
    alert = Alert.objects.get()
    assert (alert.fingerprint, alert.title, alert.labels) == ("ab", "Disk full", {"host": "db1"})


def test_an_admin_creates_and_revokes_an_integration_in_the_portal(client, admin_user, responder):
    client.force_login(responder)
    assert client.get("/incidents/integrations/").status_code == 403
    client.force_login(admin_user)
    bad = client.post("/incidents/integrations/", {"name": "", "kind": "alertmanager"})
    assert bad.status_code == 400 and not Integration.objects.exists()
    refused = client.post(
        "/incidents/integrations/",
        {"name": "Prom", "kind": "alertmanager", "signing_secret": "x"},
    )
    assert refused.status_code == 400 and "bearer token instead" in refused.content.decode()
    response = client.post(
        "/incidents/integrations/", {"name": "Prom", "kind": "alertmanager"}, follow=True
    )
    page = response.content.decode()
    url = re.search(r"http://testserver(/integrations/[^/\s]+/)", page).group(1)
    assert post(client, url, ALERTMANAGER).status_code == 202
    # The URL is shown once: the list no longer has it.
    assert url not in client.get("/incidents/integrations/").content.decode()
    integration = Integration.objects.get()
    client.post(f"/incidents/integrations/{integration.pk}/revoke/")
    assert post(client, url, ALERTMANAGER).status_code == 404


def test_an_alert_incident_shows_related_open_incidents_on_its_component(
    client, alertmanager, components, declare, responder
):
    api = next(c for c in components if c.name == "API")
    known = declare(title="API latency known issue", components=[api])
    _, url = alertmanager
    post(client, url, ALERTMANAGER)
    incident = Incident.objects.exclude(pk=known.pk).get()
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Related open incidents" in page and known.reference in page


def test_an_admin_edits_the_label_mapping_and_bad_values_are_refused(client, admin_user, db):
    integration, token = services.integration_create(actor=None, name="Prom", kind="alertmanager")
    client.force_login(admin_user)
    url = f"/admin/incidents/integration/{integration.pk}/change/"
    form = {
        "name": "Prom", "severity_label": "priority", "severity_map": '{"sev1": "P1"}',
        "default_severity": "P4", "component_label": "service", "type_label": "type",
        "default_type": "performance", "storm_limit": "10",
    }  # fmt: skip
    bad = client.post(url, {**form, "severity_map": '{"sev1": "P9"}'})
    assert bad.status_code == 200 and "label value to P1-P4" in bad.content.decode()
    assert client.post(url, form).status_code == 302
    body = copy.deepcopy(ALERTMANAGER)
    body["alerts"][0]["labels"].update(priority="sev1", service="API")
    post(client, f"/integrations/{token}/", body)
    assert Incident.objects.get().severity == "P1"


def firing(n: int, *, severity="warning", status="firing") -> dict:
    body = group_payload(n)
    body["status"] = status
    body["alerts"][0]["status"] = status
    body["alerts"][0]["labels"] = {**body["alerts"][0]["labels"], "severity": severity}
    if status == "resolved":
        body["alerts"][0]["endsAt"] = "2026-11-30T06:10:00Z"
    return body


@pytest.fixture
def auto_resolving(db):
    integration, token = services.integration_create(
        actor=None, name="Blackbox", kind="alertmanager", auto_resolve=True
    )
    return integration, f"/integrations/{token}/"


def test_auto_resolve_resolves_a_p3_still_in_triage_and_stops_its_pages(
    client, auto_resolving, responder
):
    _, url = auto_resolving
    post(client, url, firing(1))
    incident = Incident.objects.get()
    assert incident.severity == "P3" and incident.status == Status.TRIAGE
    escalation = Escalation.objects.get(topic=f"incident:{incident.pk}")
    assert escalation.state in Escalation.OPEN_STATES  # queued at night: a P3
    assert post(client, url, firing(1, status="resolved")).status_code == 202
    incident.refresh_from_db()
    escalation.refresh_from_db()
    assert incident.status == Status.RESOLVED and incident.resolved_at is not None
    assert "Blackbox resolved before anyone verified" in incident.resolution_summary
    assert escalation.state == Escalation.State.CANCELLED
    moved = incident.events.get(kind="status_changed")
    assert moved.actor is None and moved.params["to"] == Status.RESOLVED
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "System moved the incident from Triage to Resolved" in page
    for skipped in ("investigating", "identified", "monitoring"):  # not drawn as done
        assert f"step-skipped step-{skipped}" in page
    client.logout()
    # It fires again: a new incident, not a silent re-opening of the resolved one.
    post(client, url, firing(1))
    assert Incident.objects.filter(status=Status.TRIAGE).exclude(pk=incident.pk).count() == 1


def test_auto_resolve_leaves_a_p1_and_a_verified_incident_to_people(
    client, auto_resolving, responder
):
    from incidents.services import incident_verify

    _, url = auto_resolving
    post(client, url, firing(1, severity="critical"))  # P1: it needs a post-mortem
    post(client, url, firing(2))
    p1 = Incident.objects.get(severity="P1")
    verified = incident_verify(actor=responder, incident=Incident.objects.get(severity="P3"))
    post(client, url, firing(1, severity="critical", status="resolved"))
    post(client, url, firing(2, status="resolved"))
    p1.refresh_from_db()
    verified.refresh_from_db()
    assert p1.status == Status.TRIAGE and verified.status == Status.INVESTIGATING
    for incident in (p1, verified):  # both show the alerts cleared
        assert incident.events.filter(kind="alert", params__action="resolved").count() == 1


def test_without_auto_resolve_the_incident_waits_for_a_person(client, alertmanager):
    _, url = alertmanager
    post(client, url, firing(1))
    post(client, url, firing(1, status="resolved"))
    assert Incident.objects.get().status == Status.TRIAGE


def test_a_storm_incident_auto_resolves_once_every_group_has_cleared(client, auto_resolving):
    integration, url = auto_resolving
    Integration.objects.filter(pk=integration.pk).update(storm_limit=1)
    for n in (1, 2, 3):
        post(client, url, firing(n))
    storm = Incident.objects.get(title="Alert storm from Blackbox")
    assert AlertGroup.objects.filter(incident=storm).count() == 2
    post(client, url, firing(2, status="resolved"))
    storm.refresh_from_db()
    assert storm.status == Status.TRIAGE  # group 3 still fires
    post(client, url, firing(3, status="resolved"))
    storm.refresh_from_db()
    assert storm.status == Status.RESOLVED


def test_the_auto_resolve_option_is_set_in_the_portal_and_by_the_command(
    client, admin_user, capsys, db
):
    client.force_login(admin_user)
    form = {"name": "Checks", "kind": "generic", "auto_resolve": "on"}
    assert client.post("/incidents/integrations/", form).status_code == 302
    call_command("create_integration", "--name", "Probes", "--kind", "alertmanager")
    call_command("create_integration", "--name", "Synth", "--kind", "generic", "--auto-resolve")
    assert dict(Integration.objects.values_list("name", "auto_resolve")) == {
        "Checks": True,
        "Probes": False,
        "Synth": True,
    }


@pytest.mark.django_db(transaction=True)
def test_the_same_new_group_arriving_twice_at_once_opens_one_incident(db):
    from tests.conftest import race

    integration, _ = services.integration_create(actor=None, name="Twice", kind="alertmanager")

    def receive():
        return services.alerts_receive(
            integration=integration, groups=payloads.alertmanager(copy.deepcopy(ALERTMANAGER))
        )

    results = race(receive, receive, receive)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert Incident.objects.count() == 1 and AlertGroup.objects.count() == 1
    alert = Alert.objects.get()
    assert alert.count == 3  # every receipt counted: the first created it, two repeats
    assert Escalation.objects.count() == 1
