"""Property (issue 12): whatever monitoring (or anyone holding the URL) posts to an
integration is answered 202 or 400, never a server error: random bytes, random JSON, and
documented payloads with one field spoiled by any JSON value."""

import copy
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.intake import services

from .test_intake import ALERTMANAGER, GRAFANA

GENERIC = {"dedup_key": "k", "title": "Queue backed up", "severity": "error", "labels": {}}
EXAMPLES = {"alertmanager": ALERTMANAGER, "grafana": GRAFANA, "generic": GENERIC}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(
        ["firing", "resolved", "4", "1", "0001-01-01T00:00:00Z", "9999-99-99", "\x00", "a\x00b"]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=12,
)


@pytest.fixture
def urls(db):
    return {
        kind: f"/integrations/{services.integration_create(actor=None, name=kind, kind=kind)[1]}/"
        for kind in EXAMPLES
    }


def post(client, url, body: bytes):
    return client.post(url, data=body, content_type="application/json")


@given(kind=st.sampled_from(sorted(EXAMPLES)), body=st.binary(max_size=200))
def test_random_bytes_are_refused_not_failed(client, urls, kind, body):
    assert post(client, urls[kind], body).status_code in (202, 400)


@given(kind=st.sampled_from(sorted(EXAMPLES)), value=json_values)
def test_random_json_is_refused_not_failed(client, urls, kind, value):
    assert post(client, urls[kind], json.dumps(value).encode()).status_code in (202, 400)


@given(
    kind=st.sampled_from(sorted(EXAMPLES)),
    where=st.sampled_from(["top", "alert", "labels", "annotations"]),
    key=st.sampled_from(
        [
            "version", "groupKey", "alerts", "status", "labels", "annotations", "startsAt",
            "endsAt", "fingerprint", "generatorURL", "dashboardURL", "dedup_key", "title",
            "severity", "component", "group", "started_at", "runbook_url", "description",
        ]
    ),
    value=json_values,
)  # fmt: skip
def test_a_spoiled_field_is_refused_not_failed(client, urls, kind, where, key, value):
    body = copy.deepcopy(EXAMPLES[kind])
    target = body
    if where != "top" and "alerts" in body:
        target = body["alerts"][0]
        if where in ("labels", "annotations"):
            target = target.setdefault(where, {})
    target[key] = value
    response = post(client, urls[kind], json.dumps(body).encode())
    assert response.status_code in (202, 400), (response.status_code, body)
