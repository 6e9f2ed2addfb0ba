"""The incident page's Runbooks panel (registered with incidents.panels): the runbooks the
incident follows, each pinned to its version, and those its components and type suggest."""

from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from .models import Draft, IncidentRunbook, Version
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


def action_item_updates(request, item) -> str:
    """On an action item: the runbook drafts and versions it proposed, and the way to propose
    one (spec "Identify runbook improvements from post-mortem")."""
    if not request.user.has_perm("runbooks.view_runbook"):
        return ""
    return render_to_string(
        "runbooks/_action_item_panel.html",
        {
            "item": item,
            "versions": Version.objects.filter(action_item=item)
            .select_related("runbook", "review")
            .defer("sections", "runbook__search_text"),
            "drafts": Draft.objects.filter(action_item=item)
            .select_related("runbook")
            .defer("sections", "runbook__search_text"),
            "may_propose": request.user.has_perm("runbooks.change_runbook"),
        },
    )
