"""An action item proposes a runbook update (spec "Identify runbook improvements from
post-mortem"): a draft linked back to it, and the version it becomes stays linked."""

import pytest

from postmortems import services as pm
from postmortems.models import PostMortem
from runbooks import services
from runbooks.models import Draft
from tests.postmortems.conftest import item_input, resolve

from .conftest import text

pytestmark = pytest.mark.django_db


def test_an_action_item_opens_a_linked_draft(client, declare, responder, reviewer, published):
    incident = resolve(declare(severity="P1", severity_reason="down"), responder)
    postmortem = PostMortem.objects.get(incident=incident)
    item = pm.action_item_create(actor=responder, postmortem=postmortem, data=item_input(responder))
    runbook = published.runbook
    client.force_login(responder)
    page = client.get(f"/postmortems/items/{item.pk}/").content.decode()
    assert f"/runbooks/propose/{item.pk}/" in page
    assert client.post(f"/runbooks/propose/{item.pk}/", {"runbook": ""}).status_code == 400
    opened = client.post(f"/runbooks/propose/{item.pk}/", {"runbook": runbook.pk})
    assert opened["Location"] == f"/runbooks/{runbook.slug}/edit/"
    draft = Draft.objects.get(runbook=runbook)
    assert draft.action_item == item and draft.based_on == published
    assert item.title in client.get(opened["Location"]).content.decode()
    # A second proposal while the draft is open is refused, saying why.
    again = client.post(f"/runbooks/propose/{item.pk}/", {"runbook": runbook.pk})
    assert again.status_code == 400 and "already has a draft" in again.content.decode()
    services.draft_save(
        actor=responder, runbook=runbook, sections=text(rollback="1. Validate the config"),
        expected_version=draft.version,
    )  # fmt: skip
    version = services.draft_submit(
        actor=responder, runbook=runbook, change_note="From the post-mortem",
        expected_version=draft.version + 1,
    )  # fmt: skip
    assert version.action_item == item
    page = client.get(f"/postmortems/items/{item.pk}/").content.decode()
    assert f"{runbook.title} v2" in page
