"""The in-app banner (issue 14) on a customer's page of another origin: /status/embed.js
reads the public JSON over CORS, shows the flagged P1 with its title as text (a hostile
title runs nothing), links to the status page, sets no cookie, and shows nothing when the
incident is resolved."""

import http.server
import threading

import pytest
from playwright.sync_api import expect

from incidents import services
from incidents.statuspage import snapshot
from tests.incidents.test_subscribers import public_p1

pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE = '<img src=x onerror="window.pwned=1">Checkout is down'


def product_page(script_src: str):
    html = (
        "<!doctype html><html><head><title>Shop</title>"
        f'<script src="{script_src}" async></script></head>'
        "<body><h1>Our shop</h1><p>Buy things.</p></body></html>"
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(html)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_banner_shows_a_flagged_p1_as_text_on_another_origin(
    live_server, page_factory, declare, responder, components, screenshots
):
    incident = public_p1(declare, technical_scope="platform", components=[components[0]])
    services.incident_set_publicity(
        actor=responder, incident=incident, is_public=True, public_title=HOSTILE
    )
    snapshot.forget()
    snapshot.rebuild()
    shop = product_page(f"{live_server.url}/status/embed.js")
    try:
        origin = f"http://127.0.0.1:{shop.server_address[1]}"
        assert not live_server.url.startswith(origin)
        page = page_factory()
        page.goto(f"{origin}/")
        banner = page.locator("[data-status-banner]")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text(HOSTILE)  # shown as the text it is
        assert banner.locator("img").count() == 0
        assert page.evaluate("window.pwned") is None
        link = banner.get_by_role("link", name="Status page")
        assert link.get_attribute("href").endswith(f"/status/incidents/{incident.public_id}/")
        page.screenshot(path=str(screenshots / "embed-banner.png"))
        assert page.context.cookies() == []
        assert page.console_errors == []
        banner.get_by_role("button", name="Dismiss").click()
        expect(banner).to_have_count(0)

        # Resolved: nothing shows.
        services.incident_set_publicity(
            actor=responder,
            incident=incident,
            is_public=True,
            public_title="Checkout is down",
            in_app_notice=False,
        )
        snapshot.forget()
        snapshot.rebuild()
        quiet = page_factory()
        quiet.goto(f"{origin}/")
        quiet.wait_for_load_state("networkidle")
        expect(quiet.locator("[data-status-banner]")).to_have_count(0)
        expect(quiet.get_by_role("heading", name="Our shop")).to_be_visible()
    finally:
        shop.shutdown()
        shop.server_close()
