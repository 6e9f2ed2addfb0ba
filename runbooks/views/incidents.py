"""Runbooks from elsewhere: following one in an incident, and an action item proposing an
update."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError

from .. import services
from ..models import Runbook
from .pages import EDIT, _int


@require_POST
@permission_required(EDIT, raise_exception=True)
def follow(request, reference: str):
    """Attach a runbook to an incident (from the incident page's Runbooks panel)."""
    from incidents.models import Incident

    incident = get_object_or_404(Incident, reference=reference)
    runbook = Runbook.objects.filter(pk=_int(request.POST.get("runbook"))).first()
    if runbook is None:
        messages.error(request, "Choose a runbook to follow.")
        return redirect(incident)
    try:
        use = services.runbook_follow(actor=request.user, incident=incident, runbook=runbook)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, f"Following {runbook.title} v{use.version.number}: its steps are a checklist."
        )
    return redirect(incident.get_absolute_url() + "#runbooks")


@require_http_methods(["GET", "POST"])
@permission_required(EDIT, raise_exception=True)
def propose(request, item: int):
    """An action item proposes a runbook update (spec "Identify runbook improvements from
    post-mortem"): a draft of the chosen runbook, linked back to the item."""
    from postmortems.models import ActionItem

    action_item = get_object_or_404(
        ActionItem.objects.select_related("postmortem__incident"), pk=item
    )
    incident = action_item.postmortem.incident
    error = ""
    if request.method == "POST":
        runbook = Runbook.objects.filter(pk=_int(request.POST.get("runbook"))).first()
        if runbook is None:
            error = "Choose the runbook to update."
        else:
            try:
                services.draft_start(actor=request.user, runbook=runbook, action_item=action_item)
            except ApplicationError as refused:
                error = refused.message
            else:
                messages.success(
                    request, f"A draft of {runbook.title}, proposed by “{action_item.title}”."
                )
                return redirect("runbooks:edit", runbook.slug)
    followed = set(incident.runbooks.values_list("runbook_id", flat=True))
    return render(
        request,
        "runbooks/propose.html",
        {
            "item": action_item,
            "incident": incident,
            "runbooks": Runbook.objects.order_by("title").only("title", "slug"),
            "suggested": followed
            | set(
                Runbook.objects.filter(components__in=incident.components.all()).values_list(
                    "pk", flat=True
                )
            ),
            "error": error,
        },
        status=400 if error else 200,
    )
