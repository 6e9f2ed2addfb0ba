"""The incident page's Runbooks panel (registered with incidents.panels): the runbooks the
incident follows, each pinned to its version, and those its components and type suggest."""

from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from .models import IncidentRunbook
from .services import suggestions


def incident_runbooks(request, incident) -> str:
    if not request.user.has_perm("runbooks.view_runbook"):
        return ""
    followed = list(
        IncidentRunbook.objects.filter(incident=incident)
        .select_related("runbook", "version")
        .defer("runbook__search_text", "version__sections")
    )
    may_attach = request.user.has_perm("runbooks.change_runbook") and incident.status not in (
        "closed",
        "false_alarm",
    )
    suggested = suggestions(incident, {f.runbook_id for f in followed}) if may_attach else []
    return render_to_string(
        "runbooks/_incident_panel.html",
        {
            "incident": incident,
            "followed": followed,
            "suggested": suggested,
            "may_attach": may_attach,
            # Without the request: the site's context processors (a query each) ran already.
            "csrf_token": get_token(request),
        },
    )
