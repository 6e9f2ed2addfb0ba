"""No input can poison a page for everyone: every date and time the portal takes is bounded
(incidents/bounds.py), odd query strings answer 400 or 404, and values stored before the
bounds existed still render."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import bounds, selectors, services
from incidents.models import Incident, Status, StatusUpdate, TimelineEvent
from portal import roles
from portal.errors import ApplicationError
from portal.models import Timer

from .test_views import declare_payload

HX = {"HX-Request": "true"}
ZONES = ["UTC", "Asia/Tokyo", "America/New_York", "Pacific/Kiritimati", "Pacific/Pago_Pago"]


def counts():
    return (
        Incident.objects.count(),
        TimelineEvent.objects.count(),
        StatusUpdate.objects.count(),
        Timer.objects.count(),
    )


def local(moment: datetime, tz: str = "UTC") -> str:
    """What a browser in `tz` types for that moment (zone named: requests leave theirs active)."""
    return timezone.localtime(moment, ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def today() -> date:
    return timezone.localdate(timezone=ZoneInfo("UTC"))


@pytest.fixture
def rc(client, responder):
    client.force_login(responder)
    return client


@pytest.fixture
def quiet(declare):
    """A P3: no update cadence, so only the portal's own horizon bounds the next update."""
    return declare(severity="P3", severity_reason="Contained to one tenant")


# Detection time


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize("typed", ["0001-01-01T00:00", "1999-12-31T23:59", "year-ago"])
def test_declare_form_refuses_a_detection_more_than_a_year_before(client, make_user, tz, typed):
    client.force_login(make_user("dora", roles.RESPONDER, tz=tz))
    if typed == "year-ago":
        typed = local(timezone.now() - bounds.DETECTION_LOOKBACK - timedelta(minutes=2), tz)
    before = counts()
    response = client.post(reverse("incidents:declare"), declare_payload(detected_at=typed))
    assert response.status_code == 400
    assert response.context["form"].errors["detected_at"] == [
        "Detection time must be within 365 days before the declaration; for an older "
        "problem, give the time it was noticed again."
    ]
    assert "within 365 days before the declaration" in response.content.decode()
    assert counts() == before


@pytest.mark.parametrize("tz", ZONES)
def test_declare_form_refuses_a_detection_in_year_9999(client, make_user, tz):
    client.force_login(make_user("dora", roles.RESPONDER, tz=tz))
    before = counts()
    payload = declare_payload(detected_at="9999-12-31T23:59")
    response = client.post(reverse("incidents:declare"), payload)
    assert response.status_code == 400
    assert response.context["form"].errors["detected_at"] == [
        "Detection time cannot be in the future."
    ]
    assert counts() == before


def test_declare_form_accepts_a_detection_just_within_the_year(rc):
    detected = timezone.now() - bounds.DETECTION_LOOKBACK + timedelta(minutes=5)
    response = rc.post(
        reverse("incidents:declare"), declare_payload(detected_at=local(detected), title="Old")
    )
    assert response.status_code == 302
    incident = Incident.objects.get(title="Old")
    assert incident.detected_at == detected.replace(second=0, microsecond=0)


def test_declare_service_refuses_a_detection_outside_the_bounds(declare):
    now = timezone.now()
    before = counts()
    for detected, message in (
        (datetime(1, 1, 1, tzinfo=UTC), "within 365 days before the declaration"),
        (now - timedelta(days=365, seconds=1), "within 365 days before the declaration"),
        (now + timedelta(seconds=1), "cannot be in the future"),
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), "cannot be in the future"),
    ):
        with pytest.raises(ApplicationError) as refused:
            declare(detected_at=detected, now=now)
        assert refused.value.field == "detected_at"
        assert message in refused.value.message
    assert counts() == before
    # The bound is measured from the declaration the caller gives, not from the clock.
    then = now - timedelta(days=30)
    incident = declare(detected_at=then - timedelta(days=364), now=then)
    assert incident.detected_at == then - timedelta(days=364)


# Next status update


def test_status_update_form_refuses_a_next_update_beyond_a_week(rc, quiet):
    url = reverse("incidents:post_update", args=[quiet.reference])
    before = counts()
    due = quiet.next_update_due_at  # the first update, owed since verification
    for typed in ("9999-12-31T23:59", local(timezone.now() + timedelta(days=7, minutes=5))):
        data = {"impact": "i", "actions": "a", "audience": "internal", "next_update_at": typed}
        htmx = rc.post(url, data, headers=HX)
        assert htmx.status_code == 422
        assert "The next update must be within 7 days" in htmx.content.decode()
        # Without JavaScript: the whole page, 422, the message and what was typed.
        plain = rc.post(url, data)
        assert plain.status_code == 422
        assert "The next update must be within 7 days" in plain.content.decode()
        assert plain.context["update_form"]["impact"].value() == "i"
    assert counts() == before
    quiet.refresh_from_db()
    assert quiet.next_update_due_at == due


def test_status_update_form_refuses_a_next_update_in_year_1(client, make_user, declare):
    client.force_login(make_user("kiri", roles.RESPONDER, tz="Pacific/Kiritimati"))
    incident = declare(severity="P3", severity_reason="Contained")
    before = counts()
    response = client.post(
        reverse("incidents:post_update", args=[incident.reference]),
        {
            "impact": "i",
            "actions": "a",
            "audience": "internal",
            "next_update_at": "0001-01-01T00:00",
        },
        headers=HX,
    )
    assert response.status_code == 422
    assert "The next update must be in the future." in response.content.decode()
    assert counts() == before


def test_status_update_service_refuses_a_next_update_beyond_a_week(quiet, responder):
    now = timezone.now()
    before = counts()
    for due in (now + timedelta(days=7, seconds=1), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)):
        with pytest.raises(ApplicationError) as refused:
            services.status_update_post(
                actor=responder, incident=quiet, impact="i", actions="a", next_update_at=due
            )
        assert refused.value.field == "next_update_at"
        assert "within 7 days" in refused.value.message
    assert counts() == before
    update = services.status_update_post(
        actor=responder,
        incident=quiet,
        impact="i",
        actions="a",
        next_update_at=now + timedelta(days=6),
        now=now,
    )
    assert update.next_update_at == now + timedelta(days=6)


# The list's date filter, the export


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_to": "9999-12-31"}, "date_to"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_from": "1999-12-31"}, "date_from"),
    ],
)
def test_list_refuses_a_date_filter_out_of_range_with_the_message(rc, declare, params, field):
    incident = declare()
    latest = (today() + bounds.FILTER_HORIZON).isoformat()
    message = f"Enter a date between 2000-01-01 and {latest}."
    before = counts()
    response = rc.get(reverse("incidents:list"), params)
    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert message in response.content.decode()
    # The bad filter is ignored alone: the list still shows.
    assert [i.pk for i in response.context["page"].object_list] == [incident.pk]
    fragment = rc.get(reverse("incidents:list"), params, headers=HX)
    assert fragment.status_code == 422  # htmx swaps it in: the message is visible
    assert message in fragment.content.decode() and "<html" not in fragment.content.decode()
    assert counts() == before


def test_list_accepts_dates_at_the_edges_of_the_range(rc, declare):
    incident = declare()
    latest = today() + bounds.FILTER_HORIZON
    response = rc.get(
        reverse("incidents:list"), {"date_from": "2000-01-01", "date_to": latest.isoformat()}
    )
    assert response.status_code == 200
    assert [i.pk for i in response.context["page"].object_list] == [incident.pk]


def test_export_refuses_a_date_filter_out_of_range(client, manager, declare):
    declare()
    client.force_login(manager)
    response = client.get(reverse("incidents:export"), {"date_to": "9999-12-31"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert "Enter a date between 2000-01-01 and" in response.content.decode()
    within = client.get(reverse("incidents:export"), {"date_to": today().isoformat()})
    assert within.status_code == 200


def test_list_selector_clamps_dates_for_callers_that_skip_the_form(declare):
    incident = declare()
    filters = {"date_from": date.min, "date_to": date.max}
    assert list(selectors.incident_list(filters)) == [incident]


# The poll's counters, references


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("e", "²"),  # str.isdigit() is true for it, int() refuses it
        ("e", "٣"),  # an Arabic-Indic 3: int() would take it
        ("e", "12x"),
        ("e", "9" * 40),
        ("n", "١"),
        ("since", "1.5"),
        ("since", "١٢"),
        ("s", "weird"),
        ("s", "\x00"),
    ],
)
def test_poll_refuses_counters_that_are_not_ascii_numbers_with_400(rc, declare, name, value):
    incident = declare()
    url = reverse("incidents:poll", args=[incident.reference])
    params = {"since": "0", "n": "0", "s": incident.status, "e": "1", name: value}
    assert rc.get(url, params).status_code == 400
    assert rc.get(url, params, headers=HX).status_code == 400


def test_poll_takes_ascii_counters(rc, declare):
    incident = declare()
    url = reverse("incidents:poll", args=[incident.reference])
    response = rc.get(url, {"since": "-5", "n": "0", "s": incident.status, "e": "0"}, headers=HX)
    assert response.status_code == 200
    assert rc.get(url, {"since": "", "n": "", "s": "", "e": ""}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/incidents/INC%002026/",
        "/incidents/INC-2026-0001%00/",
        "/incidents/INC%002026/poll/",
        "/incidents/INC%002026/edit/",
        "/incidents/%0A/",
    ],
)
def test_a_control_character_in_a_reference_is_404(rc, declare, path):
    declare()
    assert rc.get(path).status_code == 404


def test_a_nul_in_a_reference_is_404_on_post_too(rc, declare):
    incident = declare()
    before = counts()
    for action in ("acknowledge", "verify", "notes", "updates"):
        response = rc.post(f"/incidents/{incident.reference}%00/{action}/", {"text": "x"})
        assert response.status_code == 404
    assert counts() == before


def test_selectors_answer_not_found_for_a_nul_reference(declare, responder):
    from django.http import Http404

    incident = declare()
    for lookup in (selectors.incident_by_reference, selectors.incident_detail):
        with pytest.raises(Http404):
            lookup(incident.reference + "\x00")
    assert selectors.poll_state(incident.reference + "\x00", responder) is None


# Acknowledge and verify answer htmx refusals like the other war-room actions


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("acknowledge", "This incident has already been acknowledged."),
        ("verify", "Only an incident in Triage can be verified; this one is Investigating."),
    ],
)
def test_acknowledge_and_verify_refusals_answer_htmx_with_422(rc, declare, action, message):
    incident = declare()
    url = reverse(f"incidents:{action}", args=[incident.reference])
    before = counts()
    htmx = rc.post(url, headers=HX)
    html = htmx.content.decode()
    assert htmx.status_code == 422
    assert 'data-testid="flash-error"' in html and message in html and "<html" not in html
    # Without JavaScript: the whole incident page, 422, with the message.
    plain = rc.post(url)
    assert plain.status_code == 422 and message in plain.content.decode()
    assert "<html" in plain.content.decode()
    assert counts() == before


def test_acknowledge_and_verify_with_htmx_answer_live_fragments(rc, declare):
    incident = declare(start_in_triage=True)
    response = rc.post(reverse("incidents:verify", args=[incident.reference]), headers=HX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Verified: the incident is now Investigating." in html
    assert 'id="actions"' in html and "<html" not in html
    incident.refresh_from_db()
    assert incident.status == Status.INVESTIGATING and incident.acknowledged_at is not None

    waiting = declare(start_in_triage=True)
    response = rc.post(reverse("incidents:acknowledge", args=[waiting.reference]), headers=HX)
    assert response.status_code == 200
    assert "Incident acknowledged." in response.content.decode()
    waiting.refresh_from_db()
    assert waiting.acknowledged_at is not None and waiting.status == Status.TRIAGE


# Values stored before the bounds existed


EXTREMES = {
    "detected_at": datetime(1, 1, 1, tzinfo=UTC),
    "next_update_due_at": datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
}


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize(
    "stored",
    [
        EXTREMES,
        {
            "detected_at": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
            "acknowledged_at": None,
            "next_update_due_at": datetime(1, 1, 1, tzinfo=UTC),
        },
        {
            "detected_at": datetime(1, 1, 1, tzinfo=UTC),
            "declared_at": datetime(1, 1, 1, 0, 1, tzinfo=UTC),
            "acknowledged_at": datetime(9999, 12, 31, tzinfo=UTC),
            "identified_at": datetime(1, 1, 1, tzinfo=UTC),
            "mitigated_at": datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
            "resolved_at": datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
        },
    ],
    ids=["year1-detection-9999-update", "9999-detection-year1-update", "every-milestone"],
)
def test_pages_render_values_stored_out_of_bounds(client, make_user, declare, tz, stored):
    incident = declare()
    plain = declare(title="A sane neighbour")
    services.status_update_post(
        actor=incident.declared_by, incident=incident, impact="i", actions="a"
    )
    Incident.objects.filter(pk=incident.pk).update(**stored)
    StatusUpdate.objects.filter(incident=incident).update(
        next_update_at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    )
    client.force_login(make_user("vera", roles.RESPONDER, tz=tz))
    for url in ("/", reverse("incidents:list"), incident.get_absolute_url()):
        for headers in ({}, HX):
            response = client.get(url, headers=headers)
            assert response.status_code == 200, (url, headers)
    listing = client.get(reverse("incidents:list")).content.decode()
    assert incident.reference in listing and plain.reference in listing
    poll = client.get(reverse("incidents:poll", args=[incident.reference]), headers=HX)
    assert poll.status_code == 200


def test_export_writes_values_stored_out_of_bounds(client, manager, declare):
    incident = declare()
    Incident.objects.filter(pk=incident.pk).update(**EXTREMES)
    client.force_login(manager)
    response = client.get(reverse("incidents:export"))
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert "0001-01-01T00:00:00+00:00" in body


def test_shifted_stops_at_the_ends_of_the_calendar():
    top = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert bounds.shifted(top, timedelta(hours=1)) == datetime.max.replace(tzinfo=UTC)
    bottom = datetime(1, 1, 1, tzinfo=UTC)
    assert bounds.shifted(bottom, -timedelta(hours=1)) == datetime.min.replace(tzinfo=UTC)
    assert bounds.shifted(bottom, timedelta(hours=1)) == datetime(1, 1, 1, 1, tzinfo=UTC)
