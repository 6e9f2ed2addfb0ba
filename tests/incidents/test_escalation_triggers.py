"""The spec's escalation triggers as data (which apply to which severity, none in Triage,
customer impact, scope), and the response-time breach reaching people, live."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.escalation_trigger_rules import CUSTOMER_IMPACT_THRESHOLD, TRIGGERS
from portal import roles, timers
from portal.models import Notification
from tests.incidents.workflow_helpers import HX, pending, triggers

# --- escalation triggers as data ---------------------------------------------------------


def test_which_trigger_applies_to_which_severity_is_data():
    assert {kind: rule.severities for kind, rule in TRIGGERS.items()} == {
        "unresolved_30m": ("P1", "P2"),
        "multiple_components": ("P1", "P2", "P3"),
        "customer_impact": ("P1", "P2", "P3", "P4"),
        "root_cause_unknown": ("P1", "P2"),
        "security_privacy": ("P1", "P2", "P3", "P4"),
    }
    assert {"percent": Decimal(25), "count": 10_000} == CUSTOMER_IMPACT_THRESHOLD
    labels = {kind: rule.label for kind, rule in TRIGGERS.items()}
    assert labels["customer_impact"] == "Customer impact exceeding thresholds"


@pytest.mark.parametrize(
    ("impact", "fires"),
    [
        ({"users_affected_percent": 25}, True),
        ({"users_affected_percent": Decimal("24.99")}, False),
        ({"users_affected": 10_000}, True),
        ({"users_affected": 9_999}, False),
        ({"users_affected_percent": 1, "impact_revenue": True}, True),
        ({"users_affected_percent": 1, "impact_sla": True}, True),
        ({"users_affected_percent": 1, "impact_reputation": True}, False),
    ],
)
def test_customer_impact_over_the_threshold_escalates(declare, boss, impact, fires):
    incident = declare(severity="P3", severity_reason="judgement", **impact)
    assert ("customer_impact" in triggers(incident)) is fires
    told = Notification.objects.filter(reason="escalation", recipient=boss)
    assert told.exists() is fires


@pytest.mark.parametrize(
    ("scope", "fires"), [("single", False), ("multiple", True), ("platform", True)]
)
def test_a_platform_wide_or_multi_component_scope_counts_as_multiple_components(
    declare, boss, scope, fires
):
    incident = declare(technical_scope=scope, severity_reason="judgement")
    assert ("multiple_components" in triggers(incident)) is fires


def test_a_p4_with_an_unknown_root_cause_is_not_escalated_but_security_is_at_any_severity(
    declare, boss, settings
):
    settings.ESCALATION_ROOT_CAUSE_MINUTES = 20
    t0 = timezone.now()
    icons = declare(
        title="Misaligned icons", severity="P4", symptom="cosmetic", users_affected_percent=None,
        now=t0,
    )  # fmt: skip
    leak = declare(
        title="Token in logs", severity="P4", severity_reason="one token, rotated",
        type="security", subtype="security.unauthorized_access", now=t0,
    )  # fmt: skip
    p1 = declare(severity="P1", severity_reason="checkout", now=t0)
    assert not pending(icons, "incidents.escalate_root_cause")
    timers.sweep(t0 + timedelta(minutes=21))
    assert triggers(icons) == set()
    assert triggers(leak) == {"security_privacy"}
    assert triggers(p1) == {"root_cause_unknown"}


def test_no_trigger_fires_in_triage_and_those_that_hold_fire_on_verification(
    declare, responder, boss
):
    t0 = timezone.now()
    suspected = declare(
        start_in_triage=True, severity="P1", severity_reason="checkout", type="security",
        subtype="security.exfiltration", technical_scope="platform", now=t0,
    )  # fmt: skip
    timers.sweep(t0 + timedelta(minutes=45))
    assert triggers(suspected) == set()
    assert not Notification.objects.filter(reason="escalation").exists()
    services.incident_verify(actor=responder, incident=suspected, now=t0 + timedelta(minutes=45))
    # Declared 45 minutes ago: unresolved after 30 minutes holds too, and fires at once.
    assert triggers(suspected) == {"security_privacy", "multiple_components", "unresolved_30m"}
    assert Notification.objects.filter(reason="escalation", recipient=boss).count() == 3 * 2


def test_a_false_alarm_never_escalates(declare, responder, boss):
    t0 = timezone.now()
    suspected = declare(start_in_triage=True, type="security", subtype="", now=t0)
    services.incident_mark_false_alarm(actor=responder, incident=suspected, note="Test alert")
    timers.sweep(t0 + timedelta(hours=2))
    assert triggers(suspected) == set()


def test_lowering_the_severity_disarms_the_time_based_triggers(declare, responder, boss):
    t0 = timezone.now()
    incident = declare(severity="P1", severity_reason="checkout", now=t0)
    assert pending(incident, "incidents.escalate_unresolved")
    services.incident_update(
        actor=responder, incident=incident, expected_version=incident.version,
        severity="P4", severity_reason="Only icons", now=t0 + timedelta(minutes=5),
    )  # fmt: skip
    assert not pending(incident, "incidents.escalate_unresolved")
    assert not pending(incident, "incidents.escalate_root_cause")
    timers.sweep(t0 + timedelta(hours=3))
    assert triggers(incident) == set()


# --- a response-time breach reaches people ---------------------------------------------------


def test_a_breach_tells_the_commander_and_managers_once_per_severity(
    declare, responder, boss, make_user
):
    ida = make_user("ida", roles.RESPONDER)
    t0 = timezone.now()
    suspected = declare(start_in_triage=True, detected_at=t0 - timedelta(hours=2), now=t0)
    services.role_assign(actor=responder, incident=suspected, role="commander", user=ida)
    timers.sweep(t0)
    told = set(
        Notification.objects.filter(reason="response_breach").values_list(
            "recipient__username", "channel"
        )
    )
    assert told == {("ida", "portal"), ("ida", "email"), ("boss", "portal"), ("boss", "email")}
    # Raised to P1: a new, shorter response time, breached too; once more, once only.
    suspected.refresh_from_db()
    services.incident_update(
        actor=responder, incident=suspected, expected_version=suspected.version,
        severity="P1", severity_reason="checkout down",
    )  # fmt: skip
    for _ in range(2):
        timers.sweep(timezone.now())
        services.incident_record_response_breach(incident_id=suspected.pk)
    assert suspected.events.filter(kind="response_breached").count() == 2
    assert Notification.objects.filter(reason="response_breach", recipient=boss).count() == 4


def test_a_breach_without_a_commander_tells_the_declarer(declare, responder, boss):
    suspected = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=2))
    suspected.role_assignments.update(released_at=timezone.now())  # nobody in command
    assert services.incident_record_response_breach(incident_id=suspected.pk)
    told = set(
        Notification.objects.filter(reason="response_breach", channel="portal").values_list(
            "recipient__username", flat=True
        )
    )
    assert told == {"rita", "boss"}


def test_open_pages_show_a_breach_live(client, declare, make_user):
    viewer = make_user("vic", roles.RESPONDER)  # not notified: only the page tells
    # Past its response time, the breach not yet recorded (the sweep has not run).
    suspected = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(minutes=40))
    client.force_login(viewer)
    page = client.get(suspected.get_absolute_url())
    since, n = page.context["poll_since"], page.context["poll_notice"]
    poll = reverse("incidents:poll", args=[suspected.reference])
    query = {"since": since, "n": n, "s": suspected.status}
    assert client.get(poll, query, headers=HX).status_code == 204
    services.incident_record_response_breach(incident_id=suspected.pk)
    live = client.get(poll, query, headers=HX)
    assert live.status_code == 200
    html = live.content.decode()
    assert "Not acknowledged within the P2 response time" in html
    assert 'data-response="breached"' in html


def test_a_cosmetic_symptom_is_no_customer_impact_however_wide(declare, boss):
    icons = declare(
        title="Misaligned icons", severity="P4", symptom="cosmetic", users_affected_percent=40,
    )  # fmt: skip
    assert triggers(icons) == set()
    assert not Notification.objects.filter(reason="escalation").exists()


def test_every_manager_hears_of_an_escalation_admins_included(declare, boss, admin_user):
    incident = declare(type="security", subtype="")
    told = set(
        Notification.objects.filter(reason="escalation", channel="portal").values_list(
            "recipient__username", flat=True
        )
    )
    assert triggers(incident) == {"security_privacy"} and told == {"boss", "ada"}
