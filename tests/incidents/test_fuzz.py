"""Property: whatever a logged-in responder sends to the forms and query strings (random and
extreme dates, NUL bytes, other scripts' digits, very long text) is answered with a page or a
refusal (2xx/3xx/4xx), never a server error; and whatever is accepted still renders on the
dashboard, the list and the incident page.

Each example starts from valid input and spoils a few fields, so that the odd value reaches
the service and the database instead of being stopped by an unrelated field; the odd values
are drawn as often as random ones, so a few dozen examples meet them."""

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from incidents.models import Incident, Status
from portal import roles
from portal.models import Profile

HX = {"HX-Request": "true"}
# The zones at the ends of the offsets: +14, -11 (and LMT offsets around year 1), two common.
ZONES = ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago", "America/New_York", "Asia/Tokyo"]

ODD = [
    "\x00",
    "INC\x002026",
    "²",
    "٣",
    "١٢٣",
    "𝟙𝟚",
    "-1",
    "1e309",
    "NaN",
    " ",
    "9" * 40,
    "x" * 20_000,
    "%00",
    "' OR 1=1 --",
]
EXTREME_MOMENTS = [
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "0001-01-01T23:59",
    "9999-12-31T00:00",
    "0000-00-00T00:00",
    "10000-01-01T00:00",
    "2026-02-30T10:00",
    "1970-01-01T00:00",
    "",
]


def _fmt(moment: datetime) -> str:
    # strftime's %Y does not pad years before 1000.
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}"
    )


# Surrogates cannot be sent as UTF-8 at all; everything else can.
text = st.one_of(
    st.sampled_from(ODD), st.text(st.characters(exclude_categories=["Cs"]), max_size=60)
)
near_now = st.integers(-400 * 24 * 60, 10 * 24 * 60).map(
    lambda minutes: _fmt(datetime.now(UTC) + timedelta(minutes=minutes))
)
datetimes = st.one_of(
    st.sampled_from(EXTREME_MOMENTS),
    st.sampled_from(EXTREME_MOMENTS[:4]),
    near_now,
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)).map(_fmt),
    text,
)
dates = datetimes.map(lambda s: s.split("T")[0])
# str.isdigit() is true for all of these; int() refuses some and takes others.
ODD_DIGITS = ["²", "³¹", "٣", "𝟙", "\x00", "9" * 40]
counters = st.one_of(
    st.sampled_from(ODD_DIGITS), st.integers(0, 10**6).map(str), st.sampled_from(ODD), text
)
zones = st.sampled_from(ZONES)


def spoiled(fields: list[str], max_size: int = 2):
    """Up to `max_size` of the fields replaced by odd or random text."""
    return st.dictionaries(st.sampled_from(fields), text, max_size=max_size)


@pytest.fixture
def people(manager):
    # No passwords (force_login): hashing five of them would dominate the run time.
    responders = Group.objects.get(name=roles.RESPONDER)
    users = {}
    for i, tz in enumerate(ZONES):
        user = get_user_model().objects.create(username=f"fuzz{i}")
        user.groups.add(responders)
        Profile.objects.create(user=user, display_name=f"Fuzz {tz}", time_zone=tz)
        users[tz] = user
    return users | {"manager": manager}


@pytest.fixture
def as_person(client, people):
    def login(key):
        client.force_login(people[key])
        return client

    return login


def assert_served(response, what):
    assert response.status_code < 500, what


DECLARE = {
    "title": "Checkout fails",
    "summary": "Payment step returns 502.",
    "type": "availability",
    "subtype": "availability.feature_unavailable",
    "users_affected_percent": "12",
    "symptom": "feature_unavailable",
    "technical_scope": "single",
    "recovery_complexity": "unknown",
    "severity": "P2",
    "severity_reason": "",
}


@given(zone=zones, detected_at=datetimes, spoil=spoiled([*DECLARE, "users_affected"]))
def test_declare_form_never_fails(as_person, zone, detected_at, spoil):
    client = as_person(zone)
    data = DECLARE | {"detected_at": detected_at} | spoil
    suggestion = client.post(reverse("incidents:suggest_severity"), data, headers=HX)
    assert_served(suggestion, data)
    response = client.post(reverse("incidents:declare"), data)
    assert_served(response, data)
    if response.status_code == 302:
        # Accepted: it must not poison any page, for a viewer in any zone.
        for viewer in ZONES:
            viewer_client = as_person(viewer)
            for url in ("/", reverse("incidents:list"), response["Location"]):
                assert viewer_client.get(url).status_code == 200, (viewer, url, data)


@pytest.fixture
def incident(declare):
    return declare()


EDIT = [
    "title",
    "summary",
    "users_affected",
    "users_affected_percent",
    "symptom",
    "severity",
    "severity_reason",
    "version",
]


@given(zone=zones, spoil=spoiled(EDIT, max_size=3))
def test_edit_form_never_fails(as_person, incident, zone, spoil):
    client = as_person(zone)
    current = Incident.objects.get(pk=incident.pk)
    data = {
        "title": current.title,
        "summary": current.summary,
        "type": current.type,
        "subtype": current.subtype,
        "users_affected_percent": str(current.users_affected_percent),
        "symptom": current.symptom,
        "technical_scope": current.technical_scope,
        "recovery_complexity": current.recovery_complexity,
        "severity": current.severity,
        "severity_reason": "",
        "version": str(current.version),
    } | spoil
    response = client.post(reverse("incidents:edit", args=[incident.reference]), data)
    assert_served(response, data)
    assert client.get(incident.get_absolute_url()).status_code == 200


@given(
    zone=zones,
    severity=st.sampled_from(["P1", "P3"]),
    next_update_at=datetimes,
    spoil=spoiled(["impact", "actions", "audience"], max_size=1),
    htmx=st.booleans(),
)
def test_status_update_form_never_fails(
    as_person, declare, zone, severity, next_update_at, spoil, htmx
):
    client = as_person(zone)
    incident = Incident.objects.filter(
        severity=severity, status=Status.INVESTIGATING
    ).first() or declare(severity=severity, severity_reason="Fuzz")
    data = {
        "impact": "Checkout down",
        "actions": "Rolling back",
        "audience": "internal",
        "next_update_at": next_update_at,
    } | spoil
    url = reverse("incidents:post_update", args=[incident.reference])
    assert_served(client.post(url, data, headers=HX if htmx else {}), data)
    for url in ("/", reverse("incidents:list"), incident.get_absolute_url()):
        assert client.get(url).status_code == 200, (url, data)


@given(
    zone=zones,
    params=st.fixed_dictionaries(
        {},
        optional={
            "date_from": dates,
            "date_to": dates,
            "q": text,
            "sort": text,
            "page": counters,
            "status": text,
            "severity": text,
            "type": text,
            "component": counters,
        },
    ),
    htmx=st.booleans(),
)
def test_list_and_export_query_strings_never_fail(as_person, incident, zone, params, htmx):
    listing = as_person(zone).get(reverse("incidents:list"), params, headers=HX if htmx else {})
    assert_served(listing, params)
    export = as_person("manager").get(reverse("incidents:export"), params)
    assert_served(export, params)
    if export.status_code == 200:
        b"".join(export.streaming_content)


@given(
    zone=zones,
    params=st.fixed_dictionaries(
        {"e": counters},
        optional={"since": counters, "n": counters, "s": text, "order": text, "all": text},
    ),
    reference=text,
    htmx=st.booleans(),
)
def test_incident_query_strings_and_references_never_fail(
    as_person, incident, zone, params, reference, htmx
):
    client = as_person(zone)
    headers = HX if htmx else {}
    for ref in (incident.reference, reference):
        base = f"/incidents/{quote(ref, safe='')}/"
        assert_served(client.get(base, params, headers=headers), (ref, params))
        assert_served(client.get(base + "poll/", params, headers=headers), (ref, params))
    assert_served(client.get("/", params, headers=headers), params)
