from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.models import Incident
from postmortems import services as pm
from postmortems.models import PostMortem
from tests.incidents.test_lifecycle import RESOLUTION, tick_verification


def resolve(incident, actor, *, at=None):
    """Identified, monitoring, verified, resolved, through the services (the hook runs)."""
    for to, note in (("identified", "A bad configuration push"), ("monitoring", "Rolled back")):
        if incident.status != to:
            services.incident_change_status(actor=actor, incident=incident, to=to, note=note)
            incident.refresh_from_db()
    tick_verification(incident, actor)
    services.incident_change_status(
        actor=actor, incident=incident, to="resolved", note="Fixed", resolution=RESOLUTION, now=at
    )
    return Incident.objects.get(pk=incident.pk)


@pytest.fixture
def p1(declare):
    return declare(severity="P1", severity_reason="Checkout down for everyone")


@pytest.fixture
def resolved_p1(p1, responder):
    return resolve(p1, responder)


@pytest.fixture
def postmortem(resolved_p1):
    return PostMortem.objects.get(incident=resolved_p1)


def write(postmortem, actor, **sections):
    postmortem.refresh_from_db()
    sections = {"summary": "What happened.", "root_cause": "Why it happened.", **sections}
    pm.postmortem_update(
        actor=actor,
        postmortem=postmortem,
        draft=pm.Draft(sections=sections),
        expected_version=postmortem.version,
    )
    postmortem.refresh_from_db()
    return postmortem


def published(postmortem, actor, publisher=None):
    write(postmortem, actor)
    pm.postmortem_submit(actor=actor, postmortem=postmortem)
    revision = pm.postmortem_publish(actor=publisher or actor, postmortem=postmortem)
    postmortem.refresh_from_db()
    return revision


def item_input(owner, **overrides):
    data = {
        "title": "Validate gateway configuration before pushing",
        "owner_id": owner.pk,
        "due_on": timezone.localdate() + timedelta(days=14),
        "category": "prevention",
        "impact": "high",
        "effort": "low",
    }
    data.update(overrides)
    return pm.ItemInput(**data)
