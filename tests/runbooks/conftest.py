import pytest

from portal.models import Team
from runbooks import services
from runbooks.models import SECTION_KEYS


def text(**changes) -> dict:
    """A complete runbook text (every section written), with some sections changed."""
    base = {key: f"The {key.replace('_', ' ')} of the queue service." for key in SECTION_KEYS}
    base["recovery"] = (
        "1. Drain the queue.\n2. Restart the workers:\n   ```\n   ./restart.sh\n   ```"
    )
    base["verification"] = "1. The backlog is under 100.\n2. No errors for 10 minutes."
    return {**base, **changes}


@pytest.fixture
def team(make_user, responder):
    team = Team.objects.create(name="Queues", slug="queues")
    team.members.add(responder)
    return team


@pytest.fixture
def reviewer(make_user, team):
    bea = make_user("bea", "Responder")
    team.members.add(bea)
    return bea


@pytest.fixture
def runbook(responder, team):
    return services.runbook_create(
        actor=responder, title="Queue backlog", team=team, incident_types=["performance"],
        tags=["queues"], sections=text(),
    )  # fmt: skip


@pytest.fixture
def published(runbook, responder, reviewer):
    """Version 1 of the runbook, reviewed and published."""
    version = services.draft_submit(
        actor=responder, runbook=runbook, change_note="First version", expected_version=1
    )
    services.review_approve(actor=reviewer, version=version)
    services.version_publish(actor=reviewer, version=version)
    runbook.refresh_from_db()
    return version
