"""The incident page's panel: what the status page's subscribers were told about this
incident, with delivery counts, and the way to email affected users."""

from django.template.loader import render_to_string

from . import selectors


def incident_panel(request, incident) -> str:
    """Two queries at most: the notices, and their counts when there are any."""
    told = selectors.recent(10, incident=incident)
    if not told and not incident.is_public:
        return ""
    return render_to_string(
        "incidents/statuspage/_subscriber_panel.html",
        {"incident": incident, "notices": told},
        request=request,
    )
