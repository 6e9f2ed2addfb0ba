"""PDF reports: the content read back from the file, paper sizes, the cache (a second
download renders nothing), and safety with untrusted text: the URL fetcher serves only the
report's own assets (no file://, no network, no data:), and a render is stopped by its time
and memory limits with a message."""

import io
import socket
import threading
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from postmortems import documents, pdf
from postmortems import services as pm
from postmortems.models import Download, PdfReport
from postmortems.services import reports

from .conftest import item_input, published, write

pytestmark = pytest.mark.django_db


class Listener:
    """A local TCP server that records every connection: the renderer must make none."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self.running = False
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def text_of(data: bytes) -> tuple[str, PdfReader]:
    reader = PdfReader(io.BytesIO(data))
    # Words as read, whitespace folded: a table cell may wrap a title over two lines.
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    return text, reader


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/secret",
        "https://example.com/x.css",
        "data:text/css;base64,Ym9keXtjb2xvcjpyZWR9",
        pdf.STATIC_BASE + "portal/pdf/../../../../etc/passwd",
        pdf.STATIC_BASE + "portal/css/portal.css",
        pdf.STATIC_BASE.replace("https", "http") + "portal/pdf/report.css",
    ],
)
def test_the_fetcher_refuses_everything_but_the_reports_own_assets(url):
    with pytest.raises(pdf.RefusedURL):
        pdf.fetch_asset(url)


def test_the_fetcher_serves_the_report_stylesheet_and_fonts():
    css, mime = pdf.fetch_asset(pdf.STATIC_BASE + "portal/pdf/report.css")
    assert mime == "text/css" and b"Report Sans" in css
    font, mime = pdf.fetch_asset(pdf.STATIC_BASE + "vendor/fonts/dejavu/DejaVuSans.ttf")
    assert mime == "font/ttf" and len(font) > 100_000


def test_hostile_html_reaches_no_file_and_no_network(listener):
    port = listener.port
    html = f"""<html><head>
    <link rel="stylesheet" href="http://127.0.0.1:{port}/sheet.css">
    <style>@import url(http://127.0.0.1:{port}/import.css);
      body {{ background: url(http://127.0.0.1:{port}/bg.png); }}
      h1 {{ background: url(file:///etc/passwd); }}
      @font-face {{ font-family: X; src: url(http://127.0.0.1:{port}/f.ttf); }}</style>
    </head><body><h1 style="font-family: X">Report</h1>
    <img src="file:///etc/passwd"><img src="http://127.0.0.1:{port}/pixel.png">
    <object data="file:///etc/passwd"></object><embed src="file:///etc/hostname">
    <iframe src="http://127.0.0.1:{port}/frame"></iframe>
    <img src="data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=">
    <svg><image href="file:///etc/passwd"/></svg>
    <p>Body text</p></body></html>"""
    data, pages = pdf.render(html)
    text, _ = text_of(data)
    assert "Body text" in text and "root:" not in text
    assert listener.connections == 0


def test_hostile_markdown_in_a_postmortem_renders_without_fetching(postmortem, responder, listener):
    port = listener.port
    write(
        postmortem,
        responder,
        summary=(
            f"<img src=file:///etc/passwd> ![pixel](http://127.0.0.1:{port}/p.png) "
            f"<style>body{{background:url(http://127.0.0.1:{port}/b.png)}}</style> "
            '<a href="javascript:alert(1)">x</a> <script>alert(1)</script>'
        ),
    )
    revision = published(postmortem, responder)
    data, _ = pdf.render(documents.postmortem_html(revision, "a4"))
    text, _ = text_of(data)
    assert "root:" not in text
    assert listener.connections == 0


def test_a_render_past_the_time_limit_stops_with_a_message():
    rows = "".join(f"<tr><td>{i}</td><td>{'word ' * 40}</td></tr>" for i in range(20_000))
    started = timezone.now()
    with pytest.raises(pdf.RenderError, match="took longer than 1 seconds .* was stopped"):
        pdf.render(f"<table>{rows}</table>", time_limit=1)
    assert timezone.now() - started < timedelta(seconds=10)


def test_a_render_past_the_memory_limit_stops_with_a_message():
    rows = "".join(f"<tr><td>{i}</td><td>{'word ' * 40}</td></tr>" for i in range(3_000))
    with pytest.raises(pdf.RenderError, match="needed more memory than a render may use"):
        pdf.render(f"<table>{rows}</table>", time_limit=60, memory_mb=8)


@pytest.fixture
def full_postmortem(postmortem, responder, manager):
    write(
        postmortem,
        responder,
        could_improve="Gateway changes went out without a canary.",
        lessons_learned="Config is code.",
    )
    postmortem.refresh_from_db()
    pm.postmortem_update(
        actor=responder,
        postmortem=postmortem,
        draft=pm.Draft(
            sections={"summary": "What happened.", "root_cause": "Why it happened."},
            five_whys=["Checkout failed", "The gateway rejected requests", "A bad config"],
            fishbone={"process": ["No review of config pushes"], "technology": ["No schema"]},
        ),
        expected_version=postmortem.version,
    )
    for n in range(60):
        pm.postmortem_edit_timeline(
            actor=responder,
            postmortem=postmortem,
            expected_version=postmortem.__class__.objects.get(pk=postmortem.pk).version,
            changes={},
            new_at=postmortem.incident.detected_at + timedelta(minutes=n),
            new_text=f"Step {n}: the gateway error rate was measured again",
        )
    pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(responder))
    pm.action_item_create(
        actor=responder,
        postmortem=postmortem,
        data=item_input(manager, title="Canary gateway changes", impact="low", effort="high"),
    )
    return postmortem


def test_the_report_holds_every_part_and_runs_over_pages(full_postmortem, responder, manager):
    revision = published(full_postmortem, responder, manager)
    (a4, letter) = PdfReport.objects.filter(postmortem=full_postmortem).order_by("paper")
    assert (a4.paper, letter.paper, a4.revision) == ("a4", "letter", revision.number)
    assert reports.render_report(a4.pk) == "ready"
    a4.refresh_from_db()
    with reports.default_storage.open(a4.file_name, "rb") as handle:
        text, reader = text_of(handle.read())
    reference = full_postmortem.incident.reference
    assert reference in text
    for heading in (
        "Contents",
        "Impact in figures",
        "Summary",
        "5 Whys",
        "Fishbone: contributing factors",
        "Root causes and contributing factors",
        "Timeline",
        "Action items",
    ):
        assert heading in text, heading
    assert "Validate gateway configuration before pushing" in text
    assert "1 - Immediate" in text and "4 - Consider Alternative" in text
    assert "Step 59: the gateway error rate" in text
    assert f"Page 1 of {len(reader.pages)}" in text and len(reader.pages) > 3
    assert a4.pages == len(reader.pages)
    assert "Revision 1 · generated" in text and "UTC" in text
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(width), round(height)) == (595, 842)
    reports.render_report(letter.pk)
    letter.refresh_from_db()
    with reports.default_storage.open(letter.file_name, "rb") as handle:
        _, reader = text_of(handle.read())
    assert (round(reader.pages[0].mediabox.width), round(reader.pages[0].mediabox.height)) == (
        612, 792
    )  # fmt: skip


def test_publishing_queues_the_renders_after_commit(
    postmortem, responder, manager, django_capture_on_commit_callbacks
):
    write(postmortem, responder)
    pm.postmortem_submit(actor=responder, postmortem=postmortem)
    with django_capture_on_commit_callbacks(execute=True):
        pm.postmortem_publish(actor=manager, postmortem=postmortem)
    # Celery runs eagerly in these tests: the task rendered both.
    states = set(PdfReport.objects.filter(postmortem=postmortem).values_list("paper", "state"))
    assert states == {("a4", "ready"), ("letter", "ready")}


def test_a_second_download_is_served_from_storage_without_rendering(
    postmortem, responder, manager, client
):
    published(postmortem, responder, manager)
    client.force_login(manager)
    url = reverse("postmortems:download", args=[postmortem.incident.reference, 1, "a4"])
    waiting = client.get(url)
    assert waiting.status_code == 202
    assert "Rendering the A4 PDF of revision 1" in waiting.content.decode()
    report = PdfReport.objects.get(postmortem=postmortem, paper="a4")
    reports.render_report(report.pk)
    renders_before = pdf.RENDERS
    first = client.get(url)
    body = b"".join(first.streaming_content)
    assert first.status_code == 200 and body.startswith(b"%PDF")
    assert first["Content-Disposition"].startswith("attachment")
    second = client.get(url)
    assert b"".join(second.streaming_content) == body
    assert pdf.RENDERS - renders_before == 0  # nothing rendered again
    assert list(Download.objects.values_list("user", flat=True)) == [manager.pk, manager.pk]


def test_a_failed_render_says_why_on_the_page(postmortem, responder, manager, client, settings):
    published(postmortem, responder, manager)
    settings.PDF_RENDER_TIME_LIMIT = 0.001
    report = PdfReport.objects.get(postmortem=postmortem, paper="a4")
    assert reports.render_report(report.pk) == "failed"
    client.force_login(manager)
    page = client.get(postmortem.get_absolute_url()).content.decode()
    assert "The report took longer than 0.001 seconds to render" in page


def test_an_unknown_paper_or_revision_is_not_found(postmortem, responder, client):
    published(postmortem, responder)
    client.force_login(responder)
    ref = postmortem.incident.reference
    assert client.get(reverse("postmortems:download", args=[ref, 1, "a3"])).status_code == 404
    assert client.get(reverse("postmortems:download", args=[ref, 9, "a4"])).status_code == 404
    assert not PdfReport.objects.filter(revision=9).exists()


def test_the_page_says_a_render_is_under_way_and_polls_until_the_download_is_ready(
    postmortem, responder, manager, client
):
    published(postmortem, responder, manager)
    client.force_login(manager)
    fragment_url = reverse("postmortems:reports", args=[postmortem.incident.reference])
    page = client.get(postmortem.get_absolute_url()).content.decode()
    assert "Rendering the A4 PDF of revision 1" in page
    assert f'hx-get="{fragment_url}?revision=1"' in page and 'data-poll="2000"' in page
    for report in PdfReport.objects.filter(postmortem=postmortem):
        reports.render_report(report.pk)
    fragment = client.get(fragment_url, headers={"HX-Request": "true"}).content.decode()
    assert "Download PDF (A4)" in fragment and "Download PDF (US Letter)" in fragment
    assert "hx-get" not in fragment and "data-poll" not in fragment and "<html" not in fragment


def test_a_render_no_worker_takes_is_queued_again_then_said_to_have_failed(
    postmortem, responder, manager, client
):
    from portal import timers
    from portal.models import Timer

    published(postmortem, responder, manager)  # after-commit queueing never runs here
    report = PdfReport.objects.get(postmortem=postmortem, paper="a4")
    check = Timer.objects.get(kind=reports.CHECK_TIMER, object_id=report.pk, state="pending")
    now = check.due_at
    for attempt in range(1, reports.CHECK_ATTEMPTS):
        timers.sweep(now + timedelta(seconds=1))
        report.refresh_from_db()
        assert (report.state, report.attempts) == ("pending", attempt)
        now = Timer.objects.get(
            kind=reports.CHECK_TIMER, object_id=report.pk, state="pending"
        ).due_at
    timers.sweep(now + timedelta(seconds=1))
    report.refresh_from_db()
    assert report.state == "failed" and "No worker rendered the report" in report.error
    client.force_login(manager)
    page = client.get(postmortem.get_absolute_url()).content.decode()
    assert "No worker rendered the report" in page and "Try the A4 PDF again" in page
    retry = reverse("postmortems:retry_report", args=[postmortem.incident.reference, report.pk])
    client.post(retry)
    report.refresh_from_db()
    assert (report.state, report.attempts, report.error) == ("pending", 0, "")
    again = client.post(retry, follow=True).content.decode()
    assert "This report is not failed" in again


def test_a_storage_fault_fails_the_render_with_a_message(
    postmortem, responder, manager, settings, tmp_path
):
    published(postmortem, responder, manager)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker)},
        },
    }
    report = PdfReport.objects.get(postmortem=postmortem, paper="a4")
    assert reports.render_report(report.pk) == "failed"
    report.refresh_from_db()
    assert report.error.startswith("The report could not be rendered (")


def test_an_old_revisions_pdf_is_rendered_on_demand_and_offered_on_its_own_page(
    postmortem, responder, manager, client
):
    published(postmortem, responder, manager)
    pm.postmortem_revise(actor=manager, postmortem=postmortem)
    postmortem.refresh_from_db()
    write(postmortem, responder, summary="Second look.")
    pm.postmortem_submit(actor=responder, postmortem=postmortem)
    pm.postmortem_publish(actor=manager, postmortem=postmortem)
    PdfReport.objects.filter(revision=1).delete()
    client.force_login(manager)
    ref = postmortem.incident.reference
    waiting = client.get(reverse("postmortems:download", args=[ref, 1, "letter"]))
    page = waiting.content.decode()
    assert waiting.status_code == 202 and "PDF of revision 1" in page
    assert f"{reverse('postmortems:reports', args=[ref])}?revision=1" in page
    report = PdfReport.objects.get(revision=1, paper="letter")
    reports.render_report(report.pk)
    fragment = client.get(reverse("postmortems:reports", args=[ref]), {"revision": 1})
    assert "Download PDF (US Letter)" in fragment.content.decode()
