from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents.models import Incident, IncidentChecklist, Status, TimelineEvent
from portal.models import Timer


def counts():
    return (
        Incident.objects.count(),
        TimelineEvent.objects.count(),
        IncidentChecklist.objects.count(),
        Timer.objects.count(),
    )


def declare_payload(**overrides):
    local = timezone.localtime() - timedelta(minutes=10)
    data = {
        "title": "Checkout fails",
        "summary": "Payment step returns 502.",
        "type": "availability",
        "subtype": "availability.feature_unavailable",
        "detected_at": local.strftime("%Y-%m-%dT%H:%M"),
        "users_affected_percent": "12",
        "symptom": "feature_unavailable",
        "technical_scope": "single",
        "recovery_complexity": "unknown",
        "severity": "P2",
        "severity_reason": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def rc(client, responder):
    client.force_login(responder)
    return client


def test_declare_form_creates_incident_and_redirects(rc, components):
    response = rc.post(
        reverse("incidents:declare"),
        declare_payload(components=[components[0].pk], impact_revenue="on"),
    )
    incident = Incident.objects.get()
    assert response.status_code == 302
    assert response["Location"] == incident.get_absolute_url()
    assert incident.severity == "P2"
    assert incident.impact_revenue is True
    assert list(incident.components.all()) == [components[0]]
    page = rc.get(response["Location"])
    assert incident.reference in page.content.decode()
    assert "declared" in page.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": ""}, "title", "This field is required"),
        ({"title": "x" * 201}, "title", "at most 200 characters"),
        ({"summary": "x" * 10_001}, "summary", "at most 10000 characters"),
        ({"severity": "P9"}, "severity", "Select a valid choice"),
        ({"severity": "P1"}, "severity_reason", "suggests P2"),
        ({"users_affected_percent": "140"}, "users_affected_percent", "less than or equal to 100"),
        ({"users_affected": "-3"}, "users_affected", "greater than or equal to 0"),
        ({"subtype": "security.exfiltration"}, "subtype", "does not belong"),
        ({"detected_at": "tomorrow-ish"}, "detected_at", "Enter both the date and the time"),
        ({"detected_at": "2026-11-29T25:61"}, "detected_at", "Enter the time as HH:MM"),
        ({"detected_at": "2026-13-45T10:00"}, "detected_at", "Enter a valid date"),
        ({"type": "weather"}, "type", "Select a valid choice"),
        ({"components": ["999999"]}, "components", "Select a valid choice"),
    ],
)
def test_declare_bad_input_shows_field_errors_and_writes_nothing(rc, overrides, field, message):
    before = counts()
    response = rc.post(reverse("incidents:declare"), declare_payload(**overrides))
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert any(message in e for e in errors[field]), errors[field]
    assert "Nothing was saved" in response.content.decode()
    assert counts() == before


def test_declare_detected_in_future_refused(rc):
    future = (timezone.localtime() + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    before = counts()
    response = rc.post(reverse("incidents:declare"), declare_payload(detected_at=future))
    assert response.status_code == 400
    assert "cannot be in the future" in str(response.context["form"].errors["detected_at"])
    assert counts() == before


def test_declare_override_with_reason_accepted(rc):
    rc.post(
        reverse("incidents:declare"),
        declare_payload(severity="P1", severity_reason="Largest customer affected"),
    )
    incident = Incident.objects.get()
    assert incident.severity == "P1"
    assert incident.events.get().params["override_reason"] == "Largest customer affected"


def test_detected_at_is_read_in_the_viewers_time_zone(client, make_user):
    user = make_user("tokyo", "Responder", tz="Asia/Tokyo")
    client.force_login(user)
    # Some days back: detection times are accepted up to a year before the declaration.
    day = timezone.now().date() - timedelta(days=10)
    client.post(
        reverse("incidents:declare"),
        declare_payload(detected_at=f"{day.isoformat()}T09:30", title="Tokyo"),
    )
    incident = Incident.objects.get(title="Tokyo")
    assert incident.detected_at.isoformat() == f"{day.isoformat()}T00:30:00+00:00"
    page = client.get(incident.get_absolute_url()).content.decode()
    assert f"{day:%b} {day.day}, 09:30 JST" in page


def test_suggest_severity_fragment(rc):
    response = rc.post(
        reverse("incidents:suggest_severity"),
        {"symptom": "complete_outage", "technical_scope": "platform"},
        headers={"HX-Request": "true"},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.strip().startswith('<div id="suggestion"')
    assert "P1" in html and "<html" not in html


def test_list_htmx_returns_only_results_fragment(rc, declare):
    declare(title="Alpha", severity="P3", symptom="intermittent", users_affected_percent=1)
    declare(title="Beta")
    full = rc.get(reverse("incidents:list"))
    assert "<html" in full.content.decode()
    assert full["Vary"] and "HX-Request" in full["Vary"]
    fragment = rc.get(reverse("incidents:list"), {"severity": "P3"}, headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert "<html" not in html and html.strip().startswith('<div id="results"')
    assert "Alpha" in html and "Beta" not in html
    assert "HX-Request" in fragment["Vary"]


def test_list_filters(rc, declare, components):
    a = declare(title="Database slow", components=[components[3]])
    b = declare(
        title="Login broken",
        type="security",
        subtype="security.unauthorized_access",
        severity="P1",
        security_implications=True,
        data_risk=True,
    )
    c = declare(title="Old one", start_in_triage=True)
    Incident.objects.filter(pk=c.pk).update(declared_at=timezone.now() - timedelta(days=40))

    def refs(**params):
        page = rc.get(reverse("incidents:list"), params).context["page"]
        return {i.reference for i in page.object_list}

    assert refs() == {a.reference, b.reference, c.reference}
    assert refs(q="login") == {b.reference}
    assert refs(q=a.reference) == {a.reference}
    assert refs(severity="P1") == {b.reference}
    assert refs(type="security") == {b.reference}
    assert refs(component=components[3].pk) == {a.reference}
    assert refs(status="triage") == {c.reference}
    assert refs(status="active") == {a.reference, b.reference, c.reference}
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert refs(date_from=since) == {a.reference, b.reference}
    old = (timezone.localdate() - timedelta(days=30)).isoformat()
    assert refs(date_to=old) == {c.reference}


def test_list_bad_filter_is_reported_not_crashed(rc, declare):
    declare()
    response = rc.get(reverse("incidents:list"), {"date_from": "yesterday", "severity": "P7"})
    # Refused with the reason on the page (the list still shows, unfiltered by the bad ones).
    assert response.status_code == 400
    html = response.content.decode()
    assert "Some filters were not understood" in html
    assert len(response.context["page"].object_list) == 1


def test_list_sorting_and_pagination(rc, declare, settings):
    settings.INCIDENTS_PAGE_SIZE = 2
    made = [declare(title=f"I{i}") for i in range(5)]
    page1 = rc.get(reverse("incidents:list"), {"sort": "oldest"}).context["page"]
    assert [i.pk for i in page1.object_list] == [made[0].pk, made[1].pk]
    page3 = rc.get(reverse("incidents:list"), {"sort": "oldest", "page": 3}).context["page"]
    assert [i.pk for i in page3.object_list] == [made[4].pk]
    assert page3.paginator.num_pages == 3


def test_unknown_reference_is_404(rc):
    response = rc.get("/incidents/INC-1999-9999/")
    assert response.status_code == 404
    assert "INC-2026-0042" in response.content.decode()  # the 404 page explains references


def test_verify_and_false_alarm_views(rc, declare):
    incident = declare(start_in_triage=True)
    response = rc.post(reverse("incidents:verify", args=[incident.reference]))
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING
    # Verifying again is a clear error, nothing written.
    before = counts()
    response = rc.post(reverse("incidents:verify", args=[incident.reference]), follow=True)
    assert "Only an incident in Triage can be verified" in response.content.decode()
    assert counts() == before


def test_false_alarm_form_requires_note(rc, declare):
    incident = declare(start_in_triage=True)
    before = counts()
    url = reverse("incidents:false_alarm", args=[incident.reference])
    response = rc.post(url, {"note": ""})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert counts() == before
    response = rc.post(url, {"note": "x" * 5001})
    assert response.status_code == 400
    assert "at most 5000 characters" in response.content.decode()
    rc.post(url, {"note": "Tune the alert"})
    incident.refresh_from_db()
    assert incident.status == Status.FALSE_ALARM


def test_edit_severity_change_requires_reason(rc, declare):
    incident = declare()
    url = reverse("incidents:edit", args=[incident.reference])
    form = rc.get(url).context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["components"] = []
    data["severity"] = "P1"
    data = {k: ("on" if v is True else v) for k, v in data.items() if v is not False}
    before = counts()
    response = rc.post(url, data)
    assert response.status_code == 400
    assert "Say why the severity changes" in response.content.decode()
    assert counts() == before
    data["severity_reason"] = "Spread to all regions"
    assert rc.post(url, data).status_code == 302
    incident.refresh_from_db()
    assert incident.severity == "P1"
    assert incident.events.filter(kind="severity_changed").count() == 1


def test_edit_stale_version_refused_with_what_changed(rc, declare, make_user):
    from incidents import services

    incident = declare()
    url = reverse("incidents:edit", args=[incident.reference])
    form = rc.get(url).context["form"]
    data = {
        k: ("on" if v is True else v) for k, v in form.initial.items() if v not in (None, False)
    }
    data["components"] = []
    other = make_user("olga", "Responder")
    services.incident_update(actor=other, incident=incident, expected_version=1, title="Olga's")
    data["title"] = "Mine"
    data["summary"] = "My new summary"
    before = counts()
    response = rc.post(url, data)
    assert response.status_code == 409
    html = response.content.decode()
    assert "Someone else changed this incident" in html
    assert "Olga" in html and "Olga&#x27;s" in html
    assert counts() == before
    incident.refresh_from_db()
    assert incident.title == "Olga's"
    # The re-rendered form carries the new version, takes Olga's title (she changed it) and
    # keeps my summary: saving again loses neither.
    form = response.context["form"]
    assert str(form["version"].value()) == "2"
    assert form["title"].value() == "Olga's"
    assert form["summary"].value() == "My new summary"
    resubmit = {**data, "title": "Olga's", "version": "2"}
    assert rc.post(url, resubmit).status_code == 302
    incident.refresh_from_db()
    assert (incident.title, incident.summary) == ("Olga's", "My new summary")


def test_list_form_as_submitted_by_the_browser_with_empty_selects(rc, declare):
    """The filter form sends every field, empty ones included; that must filter, not fail."""
    a = declare(title="Keep", severity="P3", symptom="intermittent", users_affected_percent=1)
    declare(title="Drop")
    params = "q=&status=&severity=P3&type=&component=&date_from=&date_to=&sort=newest"
    response = rc.get(f"{reverse('incidents:list')}?{params}")
    assert "Some filters were not understood" not in response.content.decode()
    assert [i.pk for i in response.context["page"].object_list] == [a.pk]


def test_dashboard_and_incident_page_fragments_for_htmx(rc, declare):
    incident = declare(title="Fragmented")
    board = rc.get(reverse("dashboard"), headers={"HX-Request": "true"})
    html = board.content.decode()
    assert html.strip().startswith('<div id="board"') and "<html" not in html
    assert "Fragmented" in html and "HX-Request" in board["Vary"]
    timeline = rc.get(incident.get_absolute_url(), headers={"HX-Request": "true"})
    html = timeline.content.decode()
    assert html.strip().startswith('<ol class="timeline') and "<html" not in html
    assert "declared the incident" in html


def test_dashboard_flags_breached_response_time(rc, declare):
    late = declare(
        title="Nobody looked",
        start_in_triage=True,
        detected_at=timezone.now() - timedelta(minutes=45),
    )
    fresh = declare(title="Just now", start_in_triage=True, detected_at=timezone.now())
    html = rc.get(reverse("dashboard")).content.decode()
    late_card = html.split(f'data-reference="{late.reference}"')[1].split("</article>")[0]
    fresh_card = html.split(f'data-reference="{fresh.reference}"')[1].split("</article>")[0]
    assert "RESPONSE BREACHED" in late_card
    assert "RESPONSE BREACHED" not in fresh_card and "left to respond" in fresh_card
    assert "1 past response time" in html


def test_long_timeline_shows_the_latest_events_and_a_show_all_link(rc, declare, settings):
    from incidents import selectors, services

    incident = declare()
    for i in range(selectors.TIMELINE_PAGE + 4):
        incident.refresh_from_db()
        services.incident_update(
            actor=incident.declared_by,
            incident=incident,
            expected_version=incident.version,
            title=f"T{i}",
        )
    page = rc.get(incident.get_absolute_url())
    tl = page.context["timeline"]
    assert tl.total == 105 and len(tl.events) == 100 and tl.hidden == 5
    assert tl.events[-1].params["changes"]["Title"][1] == "T103"  # newest last, oldest-first
    assert "Show 5 earlier events" in page.content.decode()
    everything = rc.get(incident.get_absolute_url(), {"all": "1"}).context["timeline"]
    assert len(everything.events) == 105 and everything.events[0].kind == "declared"
    newest = rc.get(incident.get_absolute_url(), {"order": "newest"}).context["timeline"]
    assert newest.events[0].params["changes"]["Title"][1] == "T103"


def test_declare_names_another_commander(rc, make_user):
    ida = make_user("ida", "Responder")
    page = rc.get(reverse("incidents:declare"))
    assert page.context["form"]["commander"].value() == page.context["user"].pk
    rc.post(reverse("incidents:declare"), declare_payload(commander=ida.pk))
    from incidents.models import RoleAssignment

    assert RoleAssignment.objects.get(role="commander").user == ida
