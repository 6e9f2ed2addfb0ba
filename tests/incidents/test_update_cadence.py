"""Status-update cadence: nothing owed in Triage, severity changes, the first update (P3/P4
included) and the final update that resolving posts."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from portal import hooks, timers
from portal.errors import ApplicationError
from portal.models import Notification
from tests.incidents.test_lifecycle import move
from tests.incidents.workflow_helpers import HX, S, pending, to_monitoring, written

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
        actor=responder,
        incident=public,
        impact="Slow",
        actions="Rolling back",
        audience="public",
        public_body="Pages are slow.",
    )
    # A P3 nobody put on the status page: its final update stays internal.
    internal = to_monitoring(declare(severity="P3", severity_reason="small"), responder)
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
    # The resolution summary is the responders' record: it never reaches a public update.
    assert final.actions == "None: the incident is resolved."
    public_text = " ".join(e.text for e in public.events.filter(visibility="public"))
    assert "Rolled back; stable" not in public_text and "What occurred" in public_text
    assert final.user_action == "Retry failed payments."
    assert final.prevention == "Pool limits are load-tested before deploys."
    event = public.events.exclude(kind="postmortem").latest("id")
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
    # Without JavaScript: the page again (422) with the message and what was typed.
    plain = client.post(url, data | {"explanation": "A bad deploy, rolled back."})
    html = plain.content.decode()
    assert plain.status_code == 422 and "Confirm that normal operation is restored" in html
    assert (
        ">Stable for 30 min</textarea>" in html
        and html.count("Stable for 30 min") == 1
        and "A bad deploy, rolled back." in html
    )
    assert '<details class="move move-resolved" data-move="resolved" open>' in html
    assert written() == before
    data |= {"confirmed": "on", "explanation": "A bad deploy.", "user_action": ""}
    assert client.post(url, data).status_code == 302
    incident.refresh_from_db()
    assert incident.status == S.RESOLVED
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "What occurred: A bad deploy." in page and "User action needed: None" in page


def test_updates_posted_after_resolving_are_not_final(declare, responder):
    incident = to_monitoring(declare(), responder)
    move(incident, responder, S.RESOLVED)
    later = services.status_update_post(
        actor=responder, incident=incident, impact="Correction", actions="None"
    )
    assert list(incident.status_updates.values_list("number", "final")) == [(2, False), (1, True)]
    assert later.next_update_at is None


def test_reopened_then_lowered_still_owes_its_update(declare, responder):
    incident = to_monitoring(declare(severity="P1", severity_reason="checkout"), responder)
    move(incident, responder, S.RESOLVED)
    move(incident, responder, S.INVESTIGATING, note="It came back")
    incident.refresh_from_db()
    due = incident.next_update_due_at
    assert due is not None
    services.incident_update(
        actor=responder, incident=incident, expected_version=incident.version,
        severity="P4", severity_reason="Only cosmetic now",
    )  # fmt: skip
    incident.refresh_from_db()
    assert incident.next_update_due_at == due
    services.status_update_post(actor=responder, incident=incident, impact="i", actions="a")
    incident.refresh_from_db()
    assert incident.next_update_due_at is None


def test_with_nobody_in_command_an_owed_update_reminds_the_declarer_else_the_managers(
    declare, responder, boss
):
    t0 = timezone.now()
    declared = declare(severity="P3", severity_reason="small", now=t0)
    declared.role_assignments.update(released_at=t0)
    alerted = declare(actor=None, source="alert", severity="P3", severity_reason="x", now=t0)
    services.incident_verify(actor=responder, incident=alerted, now=t0)
    timers.sweep(t0 + timedelta(minutes=61))
    told = set(
        Notification.objects.filter(reason="update_overdue", channel="portal").values_list(
            "topic", "recipient__username"
        )
    )
    assert told == {(f"incident:{declared.pk}", "rita"), (f"incident:{alerted.pk}", "boss")}
    event = alerted.events.get(kind="update_overdue")
    assert event.text == "Status update overdue; reminded the Manager group."
