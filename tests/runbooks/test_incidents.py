"""Runbooks inside incidents (issue 13): the incident page suggests runbooks by its
components and type; following one pins the version current then, and the numbered steps of
its recovery and verification sections become a checklist ticked on the timeline."""

import pytest

from incidents import services as incident_services
from incidents.models import IncidentChecklistItem, Status
from portal.errors import ApplicationError
from runbooks import services
from runbooks.models import IncidentRunbook, Runbook

from .conftest import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_api(runbook, published, components):
    runbook.components.set([c for c in components if c.name == "API"])
    return runbook


def test_the_incident_page_suggests_and_follows_a_runbook(
    client, declare, responder, reviewer, on_api, components
):
    api = next(c for c in components if c.name == "API")
    incident = declare(components=[api], type="availability")
    client.force_login(responder)
    page = client.get(incident.get_absolute_url()).content.decode()
    assert 'id="runbooks"' in page and "Queue backlog v1" in page
    followed = client.post(f"/runbooks/follow/{incident.reference}/", {"runbook": on_api.pk})
    assert followed.status_code == 302
    use = IncidentRunbook.objects.get(incident=incident)
    assert use.version.number == 1
    items = list(use.checklist.items.order_by("position").values_list("text", flat=True))
    assert items == [
        "Recovery 1: Drain the queue.",
        "Recovery 2: Restart the workers:",
        "Verify 1: The backlog is under 100.",
        "Verify 2: No errors for 10 minutes.",
    ]
    event = incident.events.get(kind="runbook")
    assert event.params["title"] == "Queue backlog" and event.params["version"] == 1
    page = client.get(incident.get_absolute_url()).content.decode()
    assert "Following" in page and "Runbook: Queue backlog v1" in page
    on_api.refresh_from_db()
    assert on_api.last_used_at is not None
    assert incident.reference in client.get(on_api.get_absolute_url()).content.decode()
    # Ticking a runbook step goes on the timeline like any checklist item.
    step = use.checklist.items.order_by("position").first()
    incident_services.checklist_item_set(actor=responder, item=step, done=True)
    ticked = incident.events.filter(kind="checklist_item").last()
    assert ticked.params["text"] == "Recovery 1: Drain the queue."
    # Twice is refused with the version it follows.
    again = client.post(f"/runbooks/follow/{incident.reference}/", {"runbook": on_api.pk})
    assert again.status_code == 302 and IncidentRunbook.objects.count() == 1
    with pytest.raises(ApplicationError, match="already follows Queue backlog \\(version 1\\)"):
        services.runbook_follow(actor=reviewer, incident=incident, runbook=on_api)


def test_a_later_version_never_changes_what_an_incident_followed(
    declare, responder, reviewer, on_api
):
    incident = declare()
    use = services.runbook_follow(actor=responder, incident=incident, runbook=on_api)
    draft = services.draft_start(actor=reviewer, runbook=on_api)
    services.draft_save(
        actor=reviewer, runbook=on_api, sections=text(recovery="1. Something else entirely"),
        expected_version=draft.version,
    )  # fmt: skip
    second = services.draft_submit(
        actor=reviewer, runbook=on_api, change_note="Rewrite", expected_version=2
    )
    services.review_approve(actor=responder, version=second)
    services.version_publish(actor=responder, version=second)
    use.refresh_from_db()
    assert use.version.number == 1 and use.version.sections["recovery"].startswith("1. Drain")
    texts = IncidentChecklistItem.objects.filter(checklist=use.checklist)
    assert not texts.filter(text__contains="Something else").exists()
    later = declare(title="Later")
    assert (
        services.runbook_follow(actor=responder, incident=later, runbook=on_api).version == second
    )


def test_following_is_refused_when_it_cannot_be_done(declare, responder, norole, runbook, on_api):
    unpublished = services.runbook_create(
        actor=responder, title="Not yet", team=runbook.team, sections=text()
    )
    incident = declare()
    with pytest.raises(ApplicationError, match="no published version"):
        services.runbook_follow(actor=responder, incident=incident, runbook=unpublished)
    with pytest.raises(ApplicationError, match="Only responders"):
        services.runbook_follow(actor=norole, incident=incident, runbook=on_api)
    incident_services.incident_mark_false_alarm(actor=responder, incident=declare(
        title="Blip", start_in_triage=True), note="threshold")  # fmt: skip
    closed = incident.__class__.objects.get(title="Blip")
    assert closed.status == Status.FALSE_ALARM
    with pytest.raises(ApplicationError, match="no longer possible"):
        services.runbook_follow(actor=responder, incident=closed, runbook=on_api)
    assert not IncidentRunbook.objects.exists()
    assert Runbook.objects.get(pk=on_api.pk).last_used_at is None
