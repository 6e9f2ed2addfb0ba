"""The internal status page (staff): every component with its status and a way to change it,
every active incident, and the recent status changes."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.errors import ApplicationError

from .. import services
from ..forms import ComponentStatusForm
from ..models import Component, ComponentStatus
from ..views.pages import VIEW, WORK, error_lines
from . import selectors


def _page(request, *, error: str = "", status: int = 200):
    return render(
        request,
        "incidents/statuspage/internal.html",
        {
            "status": selectors.internal_status(),
            "component_statuses": ComponentStatus.choices,
            "flash_error": error,
        },
        status=status,
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def internal(request):
    return _page(request)


@require_POST
@permission_required(WORK, raise_exception=True)
def set_component_status(request, component_id: str):
    """From the components page, not for an incident (an incident's page sets the statuses of
    its own components, with a timeline event)."""
    component = get_object_or_404(Component, public_id=component_id)
    form = ComponentStatusForm(request.POST)
    error = " ".join(error_lines(form)) if not form.is_valid() else ""
    if not error:
        try:
            services.component_set_status(
                actor=request.user, component=component, status=form.cleaned_data["status"]
            )
        except ApplicationError as refusal:
            error = refusal.message
    if error:
        return _page(request, error=error, status=422)
    messages.success(request, f"{component.name}: {component.get_status_display()}.")
    return redirect("status_internal")
