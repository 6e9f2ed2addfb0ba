"""The checklist items the portal ticks itself when an event shows they are done (the table of
event kinds and item keys is checklists.AUTO_TICKS). Called by the service that wrote the
event, in its transaction."""

from .. import checklists
from ..models import Incident, IncidentChecklistItem, TimelineEvent


def auto_tick(incident: Incident, event: TimelineEvent) -> int:
    """Tick the checklist items this event is known to complete (checklists.AUTO_TICKS), by
    key, as done by the event's actor and at its time; the tick names the event. Part of the
    service that wrote the event (same transaction); items already ticked stay as they are."""
    keys = checklists.keys_for(event.kind, event.params)
    if not keys:
        return 0
    return IncidentChecklistItem.objects.filter(
        checklist__incident=incident, key__in=keys, done_at__isnull=True
    ).update(done_at=event.occurred_at, done_by=event.actor, done_event=event)
