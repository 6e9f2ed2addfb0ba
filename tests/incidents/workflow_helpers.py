"""Helpers shared by the workflow tests (test_escalation_triggers, test_update_cadence,
test_authority)."""

from incidents.models import (
    EscalationTrigger,
    IncidentChecklistItem,
    RoleAssignment,
    Status,
    StatusUpdate,
    TimelineEvent,
)
from portal.models import Notification, Timer
from tests.incidents.test_lifecycle import bring_to, tick_verification

HX = {"HX-Request": "true"}
S = Status


def triggers(incident):
    return set(EscalationTrigger.objects.filter(incident=incident).values_list("kind", flat=True))


def pending(incident, kind):
    return Timer.objects.filter(object_id=incident.pk, kind=kind, state="pending").exists()


def written():
    """Everything a refused action must leave as it was."""
    return (
        TimelineEvent.objects.count(),
        StatusUpdate.objects.count(),
        Notification.objects.count(),
        EscalationTrigger.objects.count(),
        RoleAssignment.objects.filter(released_at__isnull=True).count(),
        RoleAssignment.objects.count(),
        list(Timer.objects.filter(state="pending").values_list("kind", "object_id", "due_at")),
        IncidentChecklistItem.objects.exclude(done_at=None).count(),
    )


def to_monitoring(incident, actor):
    """Monitoring, with the resolution checklist's verification items ticked."""
    incident = bring_to(incident, actor, S.MONITORING)
    tick_verification(incident, actor)
    return incident
