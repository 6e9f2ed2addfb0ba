"""The public status page, its feeds and API, as an anonymous visitor gets them: only public
fields, escaped; no cookies; cache headers and conditional GET; served from the snapshot with
no query; 404s; the rate limit on what the snapshot does not hold."""

import re
from datetime import timedelta

import feedparser
import pytest
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.models import Incident
from incidents.statuspage import serve, snapshot
from tests.incidents.test_lifecycle import bring_to
from tests.incidents.workflow_helpers import S

pytestmark = pytest.mark.django_db

HOSTILE_TITLE = '<script>alert("t")</script> & Co'
HOSTILE_BODY = "<img src=x onerror=alert(1)> Logins fail & we're on it"
SECRETS = (
    "SECRET-TITLE",
    "SECRET-SUMMARY",
    "SECRET-NOTE",
    "SECRET-IMPACT",
    "SECRET-ACTIONS",
    "SECRET-CAUSE",
    "SECRET-ROOT",
    "SECRET-RESOLUTION",
    "SECRET-FALSE-ALARM",
    "SECRET-STATUS-NOTE",
    "Zebulon",
    "zebulon",
    "INC-",
)
PATHS = (
    "/status/",
    "/status/history/",
    "/history.atom",
    "/history.rss",
    "/api/v2/summary.json",
    "/api/v2/status.json",
    "/api/v2/components.json",
    "/api/v2/incidents.json",
    "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json",
    "/api/v2/scheduled-maintenances/upcoming.json",
    "/api/v2/scheduled-maintenances/active.json",
)


@pytest.fixture
def anonymous():
    return Client()


@pytest.fixture
def secret_world(declare, make_user, components):
    """Incidents full of internal data, two of them public with hostile public text."""
    zeb = make_user("zebulon", "Responder")
    zeb.email = "zebulon@example.org"
    zeb.save()
    web, api, auth, _ = components
    live = declare(
        actor=zeb,
        title="SECRET-TITLE live",
        summary="SECRET-SUMMARY",
        severity="P1",
        severity_reason="everyone",
        components=[web, auth],
    )
    services.role_assign(actor=zeb, incident=live, role="technical_lead", user=zeb)
    services.incident_add_note(actor=zeb, incident=live, text="SECRET-NOTE db-eu-2", tag="finding")
    services.component_set_status(actor=zeb, component=auth, status="major_outage", incident=live)
    services.incident_set_publicity(
        actor=zeb, incident=live, is_public=True, public_title=HOSTILE_TITLE
    )
    services.status_update_post(
        actor=zeb,
        incident=live,
        impact="SECRET-IMPACT",
        actions="SECRET-ACTIONS",
        cause="SECRET-CAUSE",
        audience="public",
        public_body=HOSTILE_BODY,
    )
    services.status_update_post(
        actor=zeb, incident=live, impact="SECRET-IMPACT 2", actions="SECRET-ACTIONS 2"
    )
    done = declare(actor=zeb, title="SECRET-TITLE done", summary="SECRET-SUMMARY", severity="P2")
    bring_to(done, zeb, S.RESOLVED)
    Incident.objects.filter(pk=done.pk).update(
        root_cause="SECRET-ROOT", resolution_summary="SECRET-RESOLUTION"
    )
    hidden = declare(actor=zeb, title="SECRET-TITLE p3", severity="P3", severity_reason="x")
    services.incident_add_note(actor=zeb, incident=hidden, text="SECRET-NOTE p3")
    triage = declare(
        actor=zeb, title="SECRET-TITLE triage", severity="P1", severity_reason="x",
        start_in_triage=True,
    )  # fmt: skip
    services.incident_mark_false_alarm(actor=zeb, incident=triage, note="SECRET-FALSE-ALARM")
    services.maintenance_schedule(
        actor=zeb,
        title="Database upgrade <b>bold</b>",
        description="Saves may be slow.",
        components=[api],
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=1),
    )
    snapshot.rebuild()
    return {"live": Incident.objects.get(pk=live.pk), "done": Incident.objects.get(pk=done.pk),
            "hidden": hidden, "triage": triage}  # fmt: skip


def every_public_response(client, world):
    paths = list(PATHS)
    paths += [f"/status/incidents/{i.public_id}/" for i in world.values()]
    paths += ["/status/nope/", "/api/v2/nope.json", "/status/incidents/zzzz/"]
    paths += [p for p in snapshot.current().entries if p.startswith("/")]
    return {path: client.get(path, HTTP_ACCEPT_ENCODING="identity") for path in set(paths)}


def test_no_internal_data_reaches_any_anonymous_response(anonymous, secret_world):
    responses = every_public_response(anonymous, secret_world)
    assert len(responses) >= 18
    for path, response in responses.items():
        body = response.content.decode()
        for secret in SECRETS:
            assert secret not in body, (path, secret)
        assert "<script>alert" not in body and "<img src=x" not in body, path
    # The incidents the public may see are there; the P3, the false alarm are not.
    live, hidden = secret_world["live"], secret_world["hidden"]
    assert responses[f"/status/incidents/{live.public_id}/"].status_code == 200
    assert responses[f"/status/incidents/{hidden.public_id}/"].status_code == 404
    assert responses[f"/status/incidents/{secret_world['triage'].public_id}/"].status_code == 404


def test_hostile_public_text_is_escaped_in_html_json_and_feeds(anonymous, secret_world):
    page = anonymous.get("/status/").content.decode()
    assert "&lt;script&gt;alert(&quot;t&quot;)&lt;/script&gt; &amp; Co" in page
    assert "&lt;img src=x onerror=alert(1)&gt; Logins fail &amp; we&#x27;re on it" in page
    summary = anonymous.get("/api/v2/summary.json")
    raw = summary.content.decode()
    assert "\\u003cscript\\u003e" in raw and "<script>" not in raw
    assert summary.json()["incidents"][0]["name"] == HOSTILE_TITLE  # the same text, decoded
    assert summary.json()["incidents"][0]["incident_updates"][0]["body"] == HOSTILE_BODY
    atom = anonymous.get("/history.atom").content.decode()
    assert "<script>" not in atom and "&lt;script&gt;" in atom
    feed = feedparser.parse(atom)
    titles = [e.title for e in feed.entries]
    assert HOSTILE_TITLE in titles


@pytest.mark.parametrize("path", ["/history.atom", "/history.rss"])
def test_the_feeds_parse_with_a_real_feed_parser(anonymous, secret_world, path):
    response = anonymous.get(path)
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == ("atom10" if path.endswith("atom") else "rss20")
    names = [e.title for e in feed.entries]
    assert HOSTILE_TITLE in names and "Service disruption" in names
    assert "Database upgrade <b>bold</b>" in names
    live = next(e for e in feed.entries if e.title == HOSTILE_TITLE)
    assert live.link.endswith(f"/status/incidents/{secret_world['live'].public_id}/")
    # The entry's content is the public update, escaped inside the HTML it is.
    html = live.get("summary") or live.content[0].value
    assert "Logins fail &amp; we" in html and "<img" not in html


def test_no_public_response_sets_or_varies_on_a_cookie(anonymous, secret_world):
    responses = every_public_response(anonymous, secret_world)
    responses["304"] = anonymous.get("/status/", HTTP_IF_NONE_MATCH=responses["/status/"]["ETag"])
    responses["options"] = anonymous.options("/api/v2/summary.json")
    responses["post"] = anonymous.post("/status/")
    for name, response in responses.items():
        assert "Set-Cookie" not in response.headers, name
        assert not response.cookies, name
        assert "Cookie" not in response.get("Vary", ""), name
    assert anonymous.cookies == {} or not dict(anonymous.cookies)
    assert responses["post"].status_code == 405


def test_cache_headers_etag_and_conditional_get(anonymous, secret_world):
    first = anonymous.get("/status/")
    assert first.status_code == 200
    assert first["Cache-Control"].startswith("public, max-age=10")
    assert first["Access-Control-Allow-Origin"] == "*"
    assert re.fullmatch(r'"[0-9a-f]{20}"', first["ETag"])
    generated = first["X-Snapshot-Generated-At"]
    assert generated in [snapshot.current().generated_at.isoformat()]
    again = anonymous.get("/status/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    zipped = anonymous.get("/status/", HTTP_ACCEPT_ENCODING="gzip, br")
    assert zipped["Content-Encoding"] == "gzip" and len(zipped.content) < len(first.content) / 3
    api = anonymous.get("/api/v2/status.json")
    assert api["Content-Type"] == "application/json; charset=utf-8"
    assert api.json()["status"] == {"indicator": "critical", "description": "Major System Outage"}


def test_served_from_memory_without_a_query_then_from_storage(
    anonymous, secret_world, django_assert_num_queries
):
    from django.core.cache import cache

    with django_assert_num_queries(0):
        for path in PATHS:
            assert anonymous.get(path).status_code == 200, path
    # A new node: nothing in memory, nothing in the cache: file storage has it.
    generation = snapshot.current().generation
    snapshot.forget()
    cache.clear()
    with django_assert_num_queries(0):
        response = anonymous.get("/api/v2/summary.json")
    assert response.status_code == 200
    assert snapshot.current().generation == generation


def test_a_public_change_shows_after_commit(
    anonymous, secret_world, responder, django_capture_on_commit_callbacks
):
    before = anonymous.get("/status/")["X-Snapshot-Generated-At"]
    live = secret_world["live"]
    with django_capture_on_commit_callbacks(execute=True):
        services.status_update_post(
            actor=responder,
            incident=live,
            impact="i",
            actions="a",
            audience="public",
            public_body="We found the cause and are rolling out a fix.",
        )
    snapshot._memory.checked = 0.0
    after = anonymous.get("/status/")
    assert "We found the cause and are rolling out a fix." in after.content.decode()
    assert after["X-Snapshot-Generated-At"] > before
    # Marked dirty in the transaction, rebuilt after commit: nothing is left for the sweep.
    from portal.models import Timer

    assert not Timer.objects.filter(kind=snapshot.REBUILD_TIMER, state="pending").exists()


def test_a_change_nobody_public_sees_does_not_rebuild(declare, responder):
    from portal.models import Timer

    hidden = declare(severity="P3", severity_reason="x")
    services.status_update_post(actor=responder, incident=hidden, impact="i", actions="a")
    assert not Timer.objects.filter(kind=snapshot.REBUILD_TIMER).exists()


def test_unknown_ids_are_404_in_html_and_json(anonymous, secret_world):
    page = anonymous.get("/status/incidents/doesnotexist/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
    assert "Page not found" in page.content.decode()
    api = anonymous.get("/api/v2/incidents/nope.json")
    assert api.status_code == 404 and api.json() == {"error": "Not found."}
    assert anonymous.get("/status/history/?page=abc").status_code == 404
    assert anonymous.get("/status/history/?page=99").status_code == 404
    assert anonymous.get("/status/incidents/BAD!/").status_code == 404


def test_old_incidents_are_read_on_demand_and_rate_limited(anonymous, secret_world, monkeypatch):
    done = secret_world["done"]
    old = timezone.now() - timedelta(days=500)
    Incident.objects.filter(pk=done.pk).update(published_at=old, detected_at=old, resolved_at=old)
    snapshot.rebuild()
    path = f"/status/incidents/{done.public_id}/"
    assert path not in snapshot.current().entries
    monkeypatch.setattr(serve, "limiter", serve.RateLimit(3))
    answers = [anonymous.get(path).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    limited = anonymous.get(path)
    assert limited["Retry-After"] == "60"
    # The snapshot's own pages are not limited.
    assert all(anonymous.get("/status/").status_code == 200 for _ in range(10))
    # History pages beyond the snapshot's are read too.
    assert "Service disruption" in Client(REMOTE_ADDR="10.0.0.9").get(path).content.decode()


def test_the_internal_status_page_is_not_public(anonymous):
    response = anonymous.get("/status/internal/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
