"""Browser tests drive the real UI in Debian's Chromium through Playwright (never
`playwright install`). Without Chromium they skip with a plain message, unless
REQUIRE_BROWSER=1 (CI), which turns the skip into a failure."""

import os
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
_skipped: list[str] = []


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {message}")
        _skipped.append(message)
        pytest.skip(f"browser tests skipped: {message}")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_factory(chromium):
    contexts = []

    def make(**kwargs):
        kwargs.setdefault("viewport", {"width": 1400, "height": 1000})
        context = chromium.new_context(**kwargs)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        # JavaScript exceptions and console errors (CSP violations among them). htmx logs a
        # poll that a page navigation aborted as an error; that is not a fault.
        page.console_errors = []
        page.on(
            "console",
            lambda msg: (
                page.console_errors.append(msg.text)
                if msg.type == "error"
                and "sendAbort" not in msg.text
                and "afterRequest" not in msg.text
                else None
            ),
        )
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    if _skipped:
        terminalreporter.write_sep("!", "BROWSER TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_skipped[0])
