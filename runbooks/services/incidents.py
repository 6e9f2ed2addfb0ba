"""Runbooks inside incidents: a responder attaches a runbook, the incident pins the exact
version current at that moment (a later edit never changes what it followed), and the
numbered steps of its recovery and verification sections become a checklist there, ticked on
the timeline like any other. Attaching records the runbook as used."""

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from incidents import services as incident_services
from incidents.models import Incident
from portal.errors import ApplicationError

from .. import content
from ..models import IncidentRunbook, Runbook
from ..selectors import for_type
from .base import _require

SUGGESTIONS = 5
STEP_LABELS = {"recovery": "Recovery", "verification": "Verify"}


@transaction.atomic
def runbook_follow(*, actor, incident: Incident, runbook: Runbook, now=None) -> IncidentRunbook:
    _require(actor, what="attach runbooks")
    runbook = (
        Runbook.objects.select_for_update(of=("self",)).select_related("current").get(pk=runbook.pk)
    )
    version = runbook.current
    if version is None:
        raise ApplicationError(f"{runbook.title} has no published version to follow yet.")
    existing = IncidentRunbook.objects.filter(incident=incident, runbook=runbook).first()
    if existing is not None:
        raise ApplicationError(
            f"This incident already follows {runbook.title} (version {existing.version.number})."
        )
    now = now or timezone.now()
    steps, numbers = [], {}
    for n, (key, text) in enumerate(content.checklist_steps(version.sections)):
        numbers[key] = numbers.get(key, 0) + 1
        steps.append((f"rb{version.pk}-{n}", f"{STEP_LABELS[key]} {numbers[key]}: {text}"))
    checklist = incident_services.checklist_attach(
        actor=actor,
        incident=incident,
        title=f"Runbook: {runbook.title} v{version.number}",
        steps=steps,
        source={
            "title": runbook.title,
            "version": version.number,
            "url": version.get_absolute_url(),
        },
        now=now,
    )
    use = IncidentRunbook.objects.create(
        incident=incident, runbook=runbook, version=version, checklist=checklist,
        attached_by=actor, attached_at=now,
    )  # fmt: skip
    Runbook.objects.filter(pk=runbook.pk).update(last_used_at=now)
    return use


def suggestions(incident: Incident, attached_ids: set[int]) -> list[Runbook]:
    """Published runbooks for the incident's components or its type (one query), those on
    its components first."""
    components = list(incident.components.all())  # prefetched by the incident page
    on_component = Exists(
        Runbook.components.through.objects.filter(
            runbook_id=OuterRef("pk"), component_id__in=[c.pk for c in components]
        )
    )
    return list(
        Runbook.objects.filter(current__isnull=False)
        .exclude(pk__in=attached_ids)
        .annotate(on_component=on_component)
        .filter(Q(on_component=True) | for_type(incident.type))
        .select_related("current")
        .defer("search_text", "current__sections")
        .order_by("-on_component", "title")[:SUGGESTIONS]
    )
