"""Accessibility of the staff pages (issue 8): axe-core's WCAG 2.1 A/AA rules on every staff
page in the light and the dark theme, and keyboard-only use of the war room.

axe-core comes bundled in axe-playwright-python (a dev dependency): nothing is fetched at run
time. A "serious" or "critical" violation fails the test; each is printed with its rule id,
impact, the elements it hit and axe's summary of what to fix."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe  # a dev dependency
from django.utils import timezone
from playwright.sync_api import expect

from incidents import services
from incidents.models import Audience, IncidentChecklistItem, ResponseRole, Status
from tests.browser.test_declare_flow import log_in

pytestmark = pytest.mark.django_db(transaction=True)

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": WCAG_TAGS},
    "resultTypes": ["violations"],
}
FAILING_IMPACTS = {"serious", "critical"}
SHOTS = {"dashboard": "dashboard", "incident mid-incident": "war-room"}  # for eyes, not asserts


def _resolve(incident, actor):
    for step, note in (
        (Status.IDENTIFIED, "A bad deploy of the search indexer."),
        (Status.MONITORING, "Rolled the indexer back."),
    ):
        services.incident_change_status(actor=actor, incident=incident, to=step, note=note)
        incident.refresh_from_db()
    for item in IncidentChecklistItem.objects.filter(
        checklist__incident=incident, is_verification=True
    ):
        services.checklist_item_set(actor=actor, item=item, done=True)
    services.incident_change_status(
        actor=actor,
        incident=incident,
        to=Status.RESOLVED,
        note="Indexer rolled back; results complete again for 30 minutes.",
        resolution=services.ResolutionNotice(
            confirmed=True, explanation="A faulty indexer release dropped EU documents."
        ),
    )
    incident.refresh_from_db()
    return incident


@pytest.fixture
def board(responder, make_user, declare):
    """A busy board: every severity, a Triage incident past its response time, one pending,
    one mid-incident (a role, a note, a key event, updates) and a resolved one."""
    bea = make_user("bea", "Responder")
    now = timezone.now()
    breached = declare(
        title="Checkout alerts firing",
        severity="P1",
        severity_reason="Checkout is down.",
        symptom="complete_outage",
        users_affected_percent=60,
        start_in_triage=True,
        now=now - timedelta(hours=2),
    )
    pending = declare(
        title="Login latency alert",
        severity="P3",
        severity_reason="Login is slow, not failing.",
        start_in_triage=True,
    )
    mid = declare(title="Payments failing", severity="P2", now=now - timedelta(minutes=20))
    services.role_assign(actor=responder, incident=mid, role=ResponseRole.TECHNICAL_LEAD, user=bea)
    note = services.incident_add_note(
        actor=responder, incident=mid, text="Standby error rate is 0.1%", tag="finding"
    )
    services.event_mark_key(actor=responder, event=note)
    services.status_update_post(
        actor=responder,
        incident=mid,
        impact="Card payments fail for about 20% of checkouts.",
        actions="Moving traffic to the standby processor.",
        cause="An expired certificate at the processor.",
        audience=Audience.PUBLIC,
        public_body="Some card payments fail. We are moving traffic to a standby processor.",
        impact_unconfirmed=True,
        cause_unconfirmed=True,
    )
    services.incident_change_status(
        actor=responder, incident=mid, to=Status.IDENTIFIED, note="Processor certificate expired."
    )
    mid.refresh_from_db()
    overdue = declare(title="Reports slow", severity="P2", now=now - timedelta(hours=3))
    resolved = _resolve(
        declare(title="Search results empty", severity="P4", symptom="cosmetic"), responder
    )
    # A runbook draft being written, for the draft page.
    from runbooks import services as runbooks
    from runbooks.models import Runbook

    runbooks.draft_start(actor=responder, runbook=Runbook.objects.get(slug="disaster-recovery"))
    return {
        "breached": breached,
        "pending": pending,
        "mid": mid,
        "overdue": overdue,
        "resolved": resolved,
    }


def _pages(board):
    return [
        ("dashboard", "/"),
        ("incident list", "/incidents/"),
        ("declare form", "/incidents/new/"),
        ("incident mid-incident", board["mid"].get_absolute_url()),
        ("incident in triage, breached", board["breached"].get_absolute_url()),
        ("incident resolved", board["resolved"].get_absolute_url()),
        ("internal status", "/status/internal/"),
        ("status page subscribers", "/status/internal/subscribers/"),
        ("email affected users", board["mid"].get_absolute_url() + "email-users/"),
        ("runbook library", "/runbooks/"),
        ("runbook", "/runbooks/database-incidents/"),
        ("runbook version", "/runbooks/database-incidents/v1/"),
        ("runbook draft", "/runbooks/disaster-recovery/edit/"),
        ("new runbook", "/runbooks/new/"),
    ]


def _describe(page_name, theme, violation) -> str:
    lines = [
        f"[{theme}] {page_name}: {violation['id']} ({violation['impact']}) "
        f"- {violation['help']} ({len(violation['nodes'])} element(s))"
    ]
    for node in violation["nodes"]:
        target = " ".join(str(t) for t in node["target"])
        summary = " ".join(node.get("failureSummary", "").split())
        lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_staff_pages_pass_axe_wcag21_aa(live_server, page_factory, board, screenshots, theme):
    base = live_server.url
    # Animations on (the default): a pulsing badge must keep its contrast at every frame.
    page = page_factory(color_scheme=theme, reduced_motion="no-preference")
    missing = []
    page.on(
        "response", lambda r: missing.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    log_in(page, base, "rita")
    axe = Axe()
    failures, minor = [], []
    for name, path in _pages(board):
        page.goto(f"{base}{path}")
        expect(page.locator("html")).to_have_attribute("data-bs-theme", theme)
        expect(page.locator("h1")).to_be_visible()
        results = axe.run(page, options=AXE_OPTIONS).response
        for violation in results["violations"]:
            text = _describe(name, theme, violation)
            (failures if violation["impact"] in FAILING_IMPACTS else minor).append(text)
        if name in SHOTS:
            for width in (1300, 390):
                page.set_viewport_size({"width": width, "height": 1000})
                shot = screenshots / f"a11y-{SHOTS[name]}-{theme}-{width}.png"
                page.screenshot(path=str(shot), full_page=True)
            page.set_viewport_size({"width": 1400, "height": 1000})
    for text in minor:
        print("minor:", text)
    for text in failures:
        print(text)
    assert not failures, (
        f"{len(failures)} serious/critical axe violation(s) in the {theme} theme:\n"
        + "\n".join(failures)
    )
    assert missing == [] and page.console_errors == []


def _focus_state(page):
    return page.evaluate(
        """() => {
        const el = document.activeElement;
        if (!el || el === document.body) return null;
        const s = getComputedStyle(el);
        const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0;
        const shadow = s.boxShadow && s.boxShadow !== "none";
        const label = (el.getAttribute("aria-label") || el.innerText || el.value || "").trim();
        return {
            tag: el.tagName.toLowerCase(),
            id: el.id,
            text: label.slice(0, 60),
            visible: outline || shadow,
            focusVisible: el.matches(":focus-visible"),
            style: `outline: ${s.outlineStyle} ${s.outlineWidth}; box-shadow: ${s.boxShadow}`,
        };
    }"""
    )


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_war_room_is_usable_by_keyboard_with_visible_focus(live_server, page_factory, board, theme):
    base = live_server.url
    # Reduced motion turns Bootstrap's transitions off: the style read right after each Tab is
    # the settled focus style, not a box-shadow still fading in.
    page = page_factory(color_scheme=theme, reduced_motion="reduce")
    log_in(page, base, "rita")
    page.goto(f"{base}{board['mid'].get_absolute_url()}")
    expect(page.locator("#timeline")).to_contain_text("Standby error rate")

    # The status change is one "Change status…" toggle, or one "Move to <status>…" disclosure
    # per allowed move: either is fine, as long as the keyboard gets there.
    def status_control(f):
        return (f["tag"] == "button" and f["text"] == "Change status…") or (
            f["tag"] == "summary" and f["text"].startswith("Move to ")
        )

    wanted = {
        "note box": lambda f: f["id"] == "id_text",
        "Add note": lambda f: f["tag"] == "button" and f["text"] == "Add note",
        "Post update": lambda f: f["tag"] == "button" and f["text"] == "Post update",
        "Change status…": status_control,
    }
    reached, invisible, seen = set(), [], 0
    page.locator("body").focus()
    for _ in range(300):
        page.keyboard.press("Tab")
        focus = _focus_state(page)
        if focus is None:  # wrapped past the end of the page
            break
        seen += 1
        if not focus["visible"]:
            invisible.append(focus)
        reached |= {name for name, match in wanted.items() if match(focus)}
    assert seen > 10
    assert not invisible, "focus not visible on:\n" + "\n".join(map(str, invisible))
    assert reached == set(wanted), f"not reachable by Tab: {sorted(set(wanted) - reached)}"

    # The keyboard alone opens the status change form: Enter on the focused control.
    page.locator("button:has-text('Change status…'), .moves summary").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#status-change form, details[open] > form").first).to_be_visible()
    assert page.console_errors == []
