"""The spec's workflow enforced in the incident core: escalation triggers as data, the
response-time breach reaching people, update cadence in Triage and on severity changes, the
first and final updates, the commander's authority, re-opening, unconfirmed information."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import authority, services
from incidents.escalation_triggers import CUSTOMER_IMPACT_THRESHOLD, TRIGGERS
from incidents.models import (
    EscalationTrigger,
    IncidentChecklistItem,
    Source,
    Status,
    StatusUpdate,
    TimelineEvent,
)
from portal import hooks, roles, timers
from portal.errors import ApplicationError
from portal.models import Notification, Timer
from tests.incidents.test_lifecycle import bring_to, move, tick_verification

HX = {"HX-Request": "true"}
S = Status


def triggers(incident):
    return set(EscalationTrigger.objects.filter(incident=incident).values_list("kind", flat=True))


def pending(incident, kind):
    return Timer.objects.filter(object_id=incident.pk, kind=kind, state="pending").exists()


def written():
    return (
        TimelineEvent.objects.count(),
        StatusUpdate.objects.count(),
        Notification.objects.count(),
        EscalationTrigger.objects.count(),
    )


@pytest.fixture
def boss(make_user):
    user = make_user("boss", roles.MANAGER)
    user.email = "boss@example.org"
    user.save()
    return user


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


# --- update cadence: Triage, severity changes, first and final updates ------------------------


def test_raising_severity_in_triage_owes_no_update_and_sends_no_reminder(declare, responder):
    t0 = timezone.now()
    suspected = declare(start_in_triage=True, severity="P3", severity_reason="x", now=t0)
    services.incident_update(
        actor=responder, incident=suspected, expected_version=suspected.version,
        severity="P1", severity_reason="Checkout may be down",
    )  # fmt: skip
    suspected.refresh_from_db()
    assert suspected.next_update_due_at is None
    assert not pending(suspected, "incidents.update_overdue")
    timers.sweep(t0 + timedelta(hours=2))
    assert not Notification.objects.filter(reason__startswith="update_").exists()
    services.incident_verify(actor=responder, incident=suspected, now=t0 + timedelta(minutes=3))
    suspected.refresh_from_db()
    assert suspected.next_update_due_at == t0 + timedelta(minutes=33)  # P1: 30 min


def test_lowering_to_a_level_without_cadence_cancels_the_reminders(declare, responder):
    incident = declare(severity="P1", severity_reason="checkout")
    services.status_update_post(actor=responder, incident=incident, impact="i", actions="a")
    assert pending(incident, "incidents.update_overdue")
    incident.refresh_from_db()
    services.incident_update(
        actor=responder, incident=incident, expected_version=incident.version,
        severity="P3", severity_reason="Contained",
    )  # fmt: skip
    incident.refresh_from_db()
    assert incident.next_update_due_at is None
    assert not pending(incident, "incidents.update_overdue")
    assert not pending(incident, "incidents.update_due_soon")


def test_lowering_before_the_first_update_keeps_the_first_update_owed(declare, responder):
    incident = declare(severity="P1", severity_reason="checkout")
    due = incident.next_update_due_at
    services.incident_update(
        actor=responder, incident=incident, expected_version=incident.version,
        severity="P4", severity_reason="Cosmetic after all",
    )  # fmt: skip
    incident.refresh_from_db()
    assert incident.next_update_due_at == due
    assert pending(incident, "incidents.update_overdue")


@pytest.mark.parametrize("severity", ["P3", "P4"])
def test_p3_p4_owe_a_first_update_then_none(declare, responder, settings, severity):
    settings.STATUS_FIRST_UPDATE_MINUTES = 45
    t0 = timezone.now()
    incident = declare(severity=severity, severity_reason="small", now=t0)
    assert incident.next_update_due_at == t0 + timedelta(minutes=45)
    assert pending(incident, "incidents.update_overdue")
    suspected = declare(severity=severity, severity_reason="small", start_in_triage=True, now=t0)
    assert suspected.next_update_due_at is None
    services.incident_verify(actor=responder, incident=suspected, now=t0 + timedelta(minutes=10))
    suspected.refresh_from_db()
    assert suspected.next_update_due_at == t0 + timedelta(minutes=55)
    update = services.status_update_post(
        actor=responder, incident=incident, impact="i", actions="a"
    )
    incident.refresh_from_db()
    assert update.next_update_at is None and incident.next_update_due_at is None
    assert not pending(incident, "incidents.update_overdue")


def test_a_p3_first_update_overdue_reminds_the_commander(declare, responder):
    responder.email = "rita@example.org"
    responder.save()
    t0 = timezone.now()
    incident = declare(severity="P3", severity_reason="small", now=t0)
    timers.sweep(t0 + timedelta(minutes=61))
    assert incident.events.filter(kind="update_overdue").count() == 1
    assert Notification.objects.filter(reason="update_overdue", recipient=responder).exists()


# --- resolving posts the final update ----------------------------------------------------------


def to_monitoring(incident, actor):
    incident = bring_to(incident, actor, S.MONITORING)
    tick_verification(incident, actor)
    return incident


@pytest.mark.parametrize(
    ("notice", "message"),
    [
        (None, "Resolving posts the final update"),
        (services.ResolutionNotice(False, "A bad deploy"), "Confirm that normal operation"),
        (services.ResolutionNotice(True, "   "), "Explain briefly what occurred"),
        (services.ResolutionNotice(True, "x" * 2001), "At most 2000 characters"),
        (services.ResolutionNotice(True, "x", user_action="y" * 2001), "At most 2000"),
    ],
)
def test_resolving_without_the_resolution_communication_is_refused(
    declare, responder, notice, message
):
    incident = to_monitoring(declare(), responder)
    before = written()
    with pytest.raises(ApplicationError, match=message):
        services.incident_change_status(
            actor=responder, incident=incident, to=S.RESOLVED, note="Stable", resolution=notice
        )
    incident.refresh_from_db()
    assert incident.status == S.MONITORING and written() == before


def test_resolving_posts_the_final_update_public_when_updates_were_public(
    declare, responder, components, handler_calls
):
    public = to_monitoring(declare(components=components[:2]), responder)
    services.status_update_post(
        actor=responder, incident=public, impact="Slow", actions="Rolling back", audience="public"
    )
    internal = to_monitoring(declare(), responder)
    notice = services.ResolutionNotice(
        confirmed=True,
        explanation="A bad deploy exhausted the connection pool.",
        user_action="Retry failed payments.",
        prevention="Pool limits are load-tested before deploys.",
    )
    for incident in (public, internal):
        services.incident_change_status(
            actor=responder, incident=incident, to=S.RESOLVED, note="Rolled back; stable",
            resolution=notice,
        )  # fmt: skip
    final = public.status_updates.get(status=S.RESOLVED)
    assert (final.number, final.audience, final.next_update_at) == (2, "public", None)
    names = ", ".join(c.name for c in public.components.all())
    assert names.count(", ") == 1
    assert final.impact == (
        f"Resolved: normal operation confirmed across all affected components ({names})."
    )
    assert final.cause == "A bad deploy exhausted the connection pool."
    assert final.actions == "Rolled back; stable"
    assert final.user_action == "Retry failed payments."
    assert final.prevention == "Pool limits are load-tested before deploys."
    event = public.events.latest("id")
    assert event.kind == "status_update" and event.visibility == "public"
    assert "What occurred: A bad deploy" in event.text and "User action needed" in event.text
    other = internal.status_updates.get()
    assert (other.number, other.status, other.audience) == (1, S.RESOLVED, "internal")
    assert other.impact == "Resolved: normal operation confirmed."
    # The status page hears of each resolution once, after the final update exists.
    assert handler_calls == [(public.pk, 2), (internal.pk, 1)]


@pytest.fixture
def handler_calls():
    calls = []

    def on_public(*, incident, cause, at):
        if incident.status == S.RESOLVED:
            calls.append((incident.pk, incident.status_updates.count()))

    hooks.connect(hooks.PUBLIC_STATE_CHANGED)(on_public)
    yield calls
    hooks.disconnect(hooks.PUBLIC_STATE_CHANGED, on_public)


def test_resolve_form_posts_the_final_update_and_refuses_without_it(client, declare, responder):
    incident = to_monitoring(declare(), responder)
    client.force_login(responder)
    url = reverse("incidents:change_status", args=[incident.reference])
    data = {"from_status": S.MONITORING, "to": S.RESOLVED, "note": "Stable for 30 min"}
    before = written()
    refused = client.post(url, data, headers=HX)
    assert refused.status_code == 422
    assert "Confirm that normal operation is restored" in refused.content.decode()
    assert written() == before
    data |= {"confirmed": "on", "explanation": "A bad deploy.", "user_action": ""}
    assert client.post(url, data).status_code == 302
    incident.refresh_from_db()
    assert incident.status == S.RESOLVED
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "What occurred: A bad deploy." in page and "User action needed: None" in page


# --- the commander's authority ------------------------------------------------------------------


def test_the_authority_table():
    C, M, H, R, SYS = (
        authority.Party.COMMANDER,
        authority.Party.MANAGER,
        authority.Party.ROLE_HOLDER,
        authority.Party.RESPONDER,
        authority.Party.SYSTEM,
    )
    rules = {action: allowed for action, (_, allowed) in authority.AUTHORITY.items()}
    assert rules["resolve"] == rules["close"] == rules["hand_over_command"] == {C, M}
    assert rules["take_command"] == {R, SYS}
    assert rules["release_role"] == {C, M, H}
    assert rules["record_response_breach"] == {SYS}
    assert rules["declare"] == {R, SYS}


@pytest.mark.parametrize(
    ("to", "what"), [(S.RESOLVED, "resolve this incident"), (S.CLOSED, "close this incident")]
)
def test_only_the_commander_or_a_manager_resolves_and_closes(
    declare, responder, make_user, manager, to, what
):
    bea = make_user("bea", roles.RESPONDER)
    incident = to_monitoring(declare(), responder)
    if to == S.CLOSED:
        move(incident, responder, S.RESOLVED)
    before = written()
    with pytest.raises(ApplicationError) as refused:
        move(incident, bea, to, followup="postmortem")
    assert refused.value.message == f"Only the Incident Commander (Rita) or a Manager can {what}."
    incident.refresh_from_db()
    assert incident.status != to and written() == before
    move(incident, manager, to, followup="postmortem")
    incident.refresh_from_db()
    assert incident.status == to


def test_a_non_commander_cannot_hand_over_command_but_the_commander_can(
    declare, responder, make_user
):
    bea = make_user("bea", roles.RESPONDER)
    incident = declare()
    before = written()
    with pytest.raises(
        ApplicationError, match=r"Only the Incident Commander \(Rita\) or a Manager"
    ):
        services.role_assign(actor=bea, incident=incident, role="commander", user=bea)
    assert written() == before
    services.role_assign(actor=responder, incident=incident, role="commander", user=bea)
    assert authority.commander_of(incident) == bea


def test_an_incident_without_a_commander_is_taken_by_any_responder(declare, make_user):
    bea = make_user("bea", roles.RESPONDER)
    alerted = declare(actor=None, source=Source.ALERT)
    assert authority.commander_of(alerted) is None
    services.role_assign(actor=bea, incident=alerted, role="commander", user=bea)
    assert authority.commander_of(alerted) == bea
    assert alerted.events.latest("id").kind == "role_assigned"


def test_a_role_is_released_by_its_holder_the_commander_or_a_manager(declare, responder, make_user):
    bea, cal = make_user("bea", roles.RESPONDER), make_user("cal", roles.RESPONDER)
    incident = declare()
    services.role_assign(actor=responder, incident=incident, role="scribe", user=bea)
    with pytest.raises(ApplicationError, match=r"the holder of that role \(Bea\)"):
        services.role_release(actor=cal, incident=incident, role="scribe")
    services.role_release(actor=bea, incident=incident, role="scribe")


def test_the_refusal_reaches_the_page_and_the_option_says_who_may(
    client, declare, responder, make_user
):
    bea = make_user("bea", roles.RESPONDER)
    incident = to_monitoring(declare(), responder)
    client.force_login(bea)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert (
        'value="resolved" disabled>Resolved — only the Incident Commander (Rita) or a Manager'
        in page
    )
    url = reverse("incidents:change_status", args=[incident.reference])
    data = {
        "from_status": S.MONITORING, "to": S.RESOLVED, "note": "Stable",
        "confirmed": "on", "explanation": "A bad deploy.",
    }  # fmt: skip
    before = written()
    refused = client.post(url, data, headers=HX)
    assert refused.status_code == 422
    assert "Only the Incident Commander (Rita) or a Manager can resolve" in refused.content.decode()
    assert written() == before
    plain = client.post(url, data, follow=True)
    assert "Only the Incident Commander (Rita) or a Manager can resolve" in plain.content.decode()


def test_take_command_button_for_an_incident_without_a_commander(client, declare, make_user):
    bea = make_user("bea", roles.RESPONDER)
    alerted = declare(actor=None, source=Source.ALERT)
    client.force_login(bea)
    page = client.get(alerted.get_absolute_url()).content.decode()
    assert "Nobody is in command." in page and "Take command" in page
    url = reverse("incidents:assign_role", args=[alerted.reference])
    assert client.post(url, {"role": "commander", "user": bea.pk}).status_code == 302
    assert authority.commander_of(alerted) == bea
    assert "Nobody is in command." not in client.get(alerted.get_absolute_url()).content.decode()


# --- re-opening ---------------------------------------------------------------------------------


def test_reopening_clears_the_verification_ticks_and_waivers(declare, responder):
    incident = to_monitoring(declare(), responder)
    items = IncidentChecklistItem.objects.filter(
        checklist__incident=incident, is_verification=True
    ).order_by("position")
    first, second = items
    services.checklist_item_set(actor=responder, item=first, done=False)
    services.checklist_item_waive(actor=responder, item=first, reason="No dashboard for it")
    move(incident, responder, S.RESOLVED)
    incident.refresh_from_db()
    move(incident, responder, S.INVESTIGATING, note="Errors are back")
    assert list(items.values_list("done_at", "done_by", "waived_reason")) == [
        (None, None, ""),
        (None, None, ""),
    ]
    reopened = incident.events.filter(kind="status_changed").latest("id")
    assert reopened.params["cleared"] == [first.text, second.text]
    assert f"To verify again: {first.text}; {second.text}." in reopened.text
    # Other checklists keep their ticks.
    other = IncidentChecklistItem.objects.filter(checklist__incident=incident).exclude(
        is_verification=True
    )
    services.checklist_item_set(actor=responder, item=other.first(), done=True)
    assert other.exclude(done_at=None).count() == 1


# --- unconfirmed information ---------------------------------------------------------------------


def test_an_update_marks_its_impact_or_cause_unconfirmed_wherever_shown(client, declare, responder):
    incident = declare()
    update = services.status_update_post(
        actor=responder, incident=incident, impact="Checkout may be slow in the EU",
        impact_unconfirmed=True, cause="A failing payment provider", cause_unconfirmed=True,
        actions="Checking with the provider",
    )  # fmt: skip
    assert (update.impact_unconfirmed, update.cause_unconfirmed) == (True, True)
    event = incident.events.latest("id")
    assert "Impact (unconfirmed): Checkout may be slow" in event.text
    assert "Cause (unconfirmed): A failing payment provider" in event.text
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert page.count('class="badge text-bg-warning unconfirmed">unconfirmed') == 2
    confirmed = services.status_update_post(
        actor=responder, incident=incident, impact="Checkout slow in the EU",
        cause="Provider outage", actions="Failing over",
    )  # fmt: skip
    assert "unconfirmed" not in incident.events.latest("id").text
    assert not confirmed.impact_unconfirmed


def test_an_unconfirmed_cause_needs_a_cause(client, declare, responder):
    incident = declare()
    before = written()
    with pytest.raises(ApplicationError, match="Write the suspected cause"):
        services.status_update_post(
            actor=responder, incident=incident, impact="i", actions="a", cause_unconfirmed=True
        )
    client.force_login(responder)
    url = reverse("incidents:post_update", args=[incident.reference])
    data = {"impact": "i", "actions": "a", "audience": "internal", "cause_unconfirmed": "on"}
    refused = client.post(url, data, headers=HX)
    assert refused.status_code == 422 and "Write the suspected cause" in refused.content.decode()
    assert written() == before


# --- one place per rule: the impact fields ----------------------------------------------------


def test_the_impact_fields_are_declared_once_and_derived_everywhere(declare):
    from incidents.forms import DeclareForm, EditForm
    from incidents.impact import IMPACT_FIELDS, IMPACT_GROUPS, Assessment
    from incidents.models.impact import ImpactAssessment

    declared = tuple(f.name for f in ImpactAssessment._meta.fields)
    assert declared == IMPACT_FIELDS and len(declared) == 11
    assert tuple(name for _, names in IMPACT_GROUPS for name in names) == declared
    assert [label for label, _ in IMPACT_GROUPS] == [
        "User impact",
        "Business impact",
        "Technical impact",
    ]
    incident = declare()
    for form in (DeclareForm(), EditForm(incident=incident)):
        assert [f.name for _, fields in form.impact_groups for f in fields] == list(declared)
    assert set(declared) <= set(services.EDITABLE_FIELDS)
    assert tuple(Assessment.of(incident).values()) == declared
    # The model's ranges reach the form.
    form = DeclareForm({"users_affected_percent": "100.5", "users_affected": "2000000001"})
    form.is_valid()
    assert "users_affected_percent" in form.errors and "users_affected" in form.errors


def test_system_actions_are_the_systems_alone(declare, responder):
    from incidents.services import escalation_triggers, update_reminders

    waiting = declare(start_in_triage=True, detected_at=timezone.now() - timedelta(hours=1))
    verified = declare(type="security", subtype="")
    before = written()
    refused = (
        (services.incident_record_response_breach, {"incident_id": waiting.pk}),
        (
            escalation_triggers.escalation_fire_on_time,
            {"incident_id": verified.pk, "kind": "unresolved_30m"},
        ),
        (update_reminders.update_reminder_send, {"incident_id": verified.pk, "overdue": True}),
    )
    for service, kwargs in refused:
        with pytest.raises(ApplicationError, match="^Only the system can"):
            service(actor=responder, now=timezone.now() + timedelta(hours=2), **kwargs)
    assert written() == before
