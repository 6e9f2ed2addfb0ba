"""The library's pages (issue 13): search and filters, the whole update process through the
forms (draft, submit, review by someone else, publish, compare), and bad input answered
with a reason and nothing written."""

import io
import re
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from runbooks import services
from runbooks.models import Draft, ReviewState, Runbook, Version

from .conftest import text

pytestmark = pytest.mark.django_db


def form_of(sections: dict, version: int) -> dict:
    """What the draft page posts: the sections, and the draft (the newest) and version the
    page was opened on."""
    return {"draft": Draft.objects.latest("pk").pk, "version": version, **sections}


def test_the_library_searches_and_filters(client, responder, published, runbook, components):
    client.force_login(responder)
    page = client.get("/runbooks/").content.decode()
    assert "Disaster recovery" in page and "Queue backlog" in page
    assert "needs owner input" in page  # the shipped runbooks' [FILL IN: ...] places
    found = client.get("/runbooks/", {"q": "point-in-time restore"}).content.decode()
    assert "Database incidents" in found and "Queue backlog" not in found
    found = client.get("/runbooks/", {"q": "drain queue"}).content.decode()
    assert "Queue backlog" in found and "Database incidents" not in found
    by_type = client.get("/runbooks/", {"type": "security"}).content.decode()
    assert "Security incidents" in by_type and "Queue backlog" not in by_type
    by_team = client.get("/runbooks/", {"team": "queues"}).content.decode()
    assert "Queue backlog" in by_team and "Security incidents" not in by_team
    never = client.get("/runbooks/", {"tested": "never"}).content.decode()
    assert "Queue backlog" in never
    for junk in ({"component": "x"}, {"state": "<b>"}, {"page": "999"}, {"q": "&|!():*"}):
        assert client.get("/runbooks/", junk).status_code == 200


def test_the_update_process_through_the_pages(client, responder, reviewer, team):
    client.force_login(responder)
    created = client.post(
        "/runbooks/new/",
        {"title": "Cache stampede", "team": team.pk, "incident_types": ["performance"],
         "tags": "cache, redis", "review_interval_days": 60},
    )  # fmt: skip
    runbook = Runbook.objects.get(title="Cache stampede")
    assert created.status_code == 302 and created["Location"] == f"/runbooks/{runbook.slug}/edit/"
    edit = f"/runbooks/{runbook.slug}/edit/"
    assert client.post(edit, form_of(text(), 1)).status_code == 302
    typed = form_of(text(overview="Typed, then submitted without a note"), 2)
    refused = client.post(edit, {**typed, "action": "submit", "change_note": ""})
    page = refused.content.decode()
    assert refused.status_code == 400 and "the change note" in page
    assert "Typed, then submitted without a note</textarea>" in page  # kept, not lost
    assert Draft.objects.get(runbook=runbook).version == 2  # and nothing written
    submitted = client.post(edit, {**typed, "action": "submit", "change_note": "First"})
    version = Version.objects.get(runbook=runbook)
    assert submitted["Location"] == f"/runbooks/{runbook.slug}/v1/"
    # The author cannot approve; another responder can, then anyone publishes.
    own = client.post(f"/runbooks/{runbook.slug}/v1/review/", {"decision": "approve"})
    assert own.status_code == 302
    assert Version.objects.get(pk=version.pk).review.state == ReviewState.PENDING
    client.force_login(reviewer)
    page = client.get(f"/runbooks/{runbook.slug}/v1/").content.decode()
    assert "Approve" in page and "Request changes" in page
    client.post(f"/runbooks/{runbook.slug}/v1/review/", {"decision": "approve", "body": "Good"})
    client.post(f"/runbooks/{runbook.slug}/v1/publish/")
    runbook.refresh_from_db()
    assert runbook.current == version
    detail = client.get(runbook.get_absolute_url()).content.decode()
    assert "./restart.sh" in detail and "runbooks.js" in detail
    # A second version, then the comparison shows what changed, side by side and inline.
    client.post(f"/runbooks/{runbook.slug}/draft/")
    slower = form_of(text(recovery="1. Drain the queue slowly."), 1)
    client.post(edit, {**slower, "action": "submit", "change_note": "Slower"})
    side = client.get(f"/runbooks/{runbook.slug}/compare/", {"from": 1, "to": 2})
    assert side.status_code == 200 and "<ins>" in side.content.decode()
    inline = client.get(
        f"/runbooks/{runbook.slug}/compare/", {"from": 1, "to": 2, "view": "inline"}
    )
    assert 'class="diff-added"' in inline.content.decode()


def test_a_stale_save_keeps_what_was_typed_and_shows_what_the_other_saved(
    client, responder, reviewer, runbook
):
    client.force_login(reviewer)
    client.post(f"/runbooks/{runbook.slug}/edit/", form_of(text(overview="Bea's overview"), 1))
    client.force_login(responder)
    mine = text(overview="Rita's overview")
    refused = client.post(f"/runbooks/{runbook.slug}/edit/", form_of(mine, 1))
    page = refused.content.decode()
    assert refused.status_code == 400
    assert "Bea saved this draft after you opened it" in page
    assert "Rita&#x27;s overview</textarea>" in page  # what was typed is kept
    assert 'data-testid="their-text"' in page and "Bea" in page
    assert 'name="version" value="2"' in page  # saving again overwrites, knowingly
    assert Draft.objects.get(runbook=runbook).sections["overview"] == "Bea's overview"


def test_bad_input_is_refused_and_writes_nothing(client, responder, norole, runbook, team):
    client.force_login(responder)
    before = Runbook.objects.count()
    bad = client.post("/runbooks/new/", {"title": "", "team": team.pk, "review_interval_days": 3})
    assert bad.status_code == 400 and Runbook.objects.count() == before
    too_long = client.post(
        f"/runbooks/{runbook.slug}/edit/", form_of(text(recovery="x" * 30_001), 1)
    )
    assert too_long.status_code == 400
    assert "30000 characters" in too_long.content.decode().replace(",", "")
    assert Draft.objects.get(runbook=runbook).version == 1
    test = client.post(f"/runbooks/{runbook.slug}/tests/", {"tested_on": "yesterday"})
    assert test.status_code == 302 and not runbook.tests.exists()
    client.force_login(norole)
    assert client.get("/runbooks/").status_code == 403
    assert client.post(f"/runbooks/{runbook.slug}/edit/", form_of(text(), 1)).status_code == 403


class _Tags(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


HOSTILE = (
    '<a hx-post="/runbooks/new/" hx-trigger="load">x</a>',
    "[x](javascript:alert(1))",
    '<svg onload="alert(1)"><script>alert(2)</script></svg>',
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "<img src=x onerror=alert(1)> ![x](https://tracker.example/p.png)",
    "```\n</code></pre><script>alert(3)</script>\n```",
)


def _safe(html: str) -> None:
    body = html.split('<div class="runbook-text">', 1)[1].split("</main>")[0]
    for tag, attrs in _Tags(body).found:
        assert tag not in ("script", "svg", "img", "iframe", "style"), tag
        for name, value in attrs.items():
            assert not name.startswith(("on", "hx-", "data-hx")), (tag, name)
            if name == "href":
                assert re.match(r"(https?|mailto):|#|/runbooks/", value or ""), value


def test_hostile_markdown_is_neutralized_on_the_runbook_pages(client, responder, reviewer, runbook):
    sections = text(**{key: HOSTILE[i % len(HOSTILE)] for i, key in enumerate(text())})
    services.draft_save(actor=responder, runbook=runbook, sections=sections, expected_version=1)
    version = services.draft_submit(
        actor=responder, runbook=runbook, change_note="x", expected_version=2
    )
    client.force_login(reviewer)
    page = client.get(version.get_absolute_url()).content.decode()
    _safe(page)
    assert "&lt;script&gt;" in page  # shown as text, not dropped


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400))
def test_any_section_text_renders_safely(client, responder, runbook, body):
    Draft.objects.filter(runbook=runbook).update(sections=text(recovery=body.replace("\x00", "")))
    client.force_login(responder)
    response = client.get(f"/runbooks/{runbook.slug}/edit/")
    assert response.status_code == 200
    from django.template.loader import render_to_string

    html = render_to_string(
        "runbooks/_text.html",
        {"sections": [("recovery", "Recovery", body.replace("\x00", ""))], "runbook": runbook},
    )
    _safe(html)


def _png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, "PNG")
    out.seek(0)
    out.name = "diagram.png"
    return out


def test_the_architecture_diagram_is_an_image_or_nothing(client, responder, runbook):
    client.force_login(responder)
    url = f"/runbooks/{runbook.slug}/edit/"
    fake = io.BytesIO(b"<svg onload=alert(1)></svg>")
    fake.name = "diagram.png"
    refused = client.post(url, {**form_of(text(overview="Kept"), 1), "image": fake})
    assert refused.status_code == 400 and "Kept</textarea>" in refused.content.decode()
    assert Draft.objects.get(runbook=runbook).image == ""
    client.post(url, {**form_of(text(), 1), "image": _png()})
    draft = Draft.objects.get(runbook=runbook)
    assert draft.image.endswith(".png")
    served = client.get(f"/runbooks/{runbook.slug}/draft/diagram/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert client.get(f"/runbooks/{runbook.slug}/v9/diagram/").status_code == 404


def test_a_form_opened_on_an_earlier_draft_never_overwrites_a_later_one(
    client, responder, reviewer, runbook
):
    old_draft = Draft.objects.get(runbook=runbook).pk
    version = services.draft_submit(
        actor=reviewer, runbook=runbook, change_note="First", expected_version=1
    )
    services.review_request_changes(actor=responder, version=version, body="Add a step.")
    new_draft = Draft.objects.get(runbook=runbook)
    assert new_draft.pk != old_draft and new_draft.version == 1  # the same number again
    client.force_login(responder)
    stale = {"draft": old_draft, "version": 1, **text(overview="From an old tab")}
    refused = client.post(f"/runbooks/{runbook.slug}/edit/", stale)
    assert refused.status_code == 400
    assert "submitted or discarded meanwhile" in refused.content.decode()
    assert "From an old tab</textarea>" in refused.content.decode()
    discard = {"action": "discard", "draft": old_draft, "version": 1}
    client.post(f"/runbooks/{runbook.slug}/edit/", discard)
    new_draft.refresh_from_db()
    assert new_draft.sections == version.sections  # neither overwritten nor discarded


def test_the_search_without_postgresql_matches_every_word(published, runbook):
    # The SQLite branch of the library's search, on whichever database runs the suite.
    from runbooks.selectors import simple_match

    found = simple_match(Runbook.objects.all(), "DRAIN workers")
    assert list(found.values_list("slug", flat=True)) == [runbook.slug]
    assert not simple_match(Runbook.objects.all(), "drain nonexistentword").exists()


def test_overdue_reviews_are_listed_and_filters_narrow(client, responder, published, runbook):
    from datetime import timedelta

    from django.utils import timezone

    Runbook.objects.filter(pk=runbook.pk).update(review_due_at=timezone.now() - timedelta(days=1))
    client.force_login(responder)
    page = client.get("/runbooks/").content.decode()
    overdue = page.split('data-testid="review-overdue"')[1].split("</div>")[0]
    assert "Queue backlog" in overdue and "Database incidents" not in overdue
    by_review = client.get("/runbooks/", {"review": "overdue"}).content.decode()
    assert "Queue backlog" in by_review and "Security incidents" not in by_review
    by_state = client.get("/runbooks/", {"state": "placeholders"}).content.decode()
    assert "Security incidents" in by_state and "Queue backlog" not in by_state


def test_a_stale_details_form_is_refused_and_keeps_what_was_typed(
    client, responder, reviewer, runbook, team
):
    client.force_login(responder)
    page = client.get(f"/runbooks/{runbook.slug}/details/").content.decode()
    stamp = re.search(r'name="stamp" value="([0-9a-f]+)"', page).group(1)
    services.runbook_update_details(
        actor=reviewer, runbook=runbook, title="Renamed by Bea", team=team, components=[],
        incident_types=[], tags=[], review_interval_days=30,
    )  # fmt: skip
    mine = {"stamp": stamp, "title": "Renamed by Rita", "team": team.pk,
            "review_interval_days": 60}  # fmt: skip
    refused = client.post(f"/runbooks/{runbook.slug}/details/", mine)
    html = refused.content.decode()
    assert refused.status_code == 400 and "Someone changed these details" in html
    assert 'value="Renamed by Rita"' in html and "Renamed by Bea" in html
    runbook.refresh_from_db()
    assert runbook.title == "Renamed by Bea" and runbook.review_interval_days == 30
    fresh = re.search(r'name="stamp" value="([0-9a-f]+)"', html).group(1)
    assert (
        client.post(f"/runbooks/{runbook.slug}/details/", {**mine, "stamp": fresh}).status_code
        == 302
    )
    runbook.refresh_from_db()
    assert runbook.title == "Renamed by Rita"
