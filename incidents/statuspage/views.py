"""The internal status page (staff): every component with its status and a way to change it,
every active incident, and the recent status changes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.errors import ApplicationError

from .. import services
from ..forms import ComponentStatusForm, MaintenanceForm
from ..models import Component, ComponentStatus, Maintenance
from ..views.pages import VIEW, WORK, error_lines
from . import selectors, serve
from .subscriptions import selectors as subscriber_selectors


def _page(request, *, error: str = "", status: int = 200, maintenance_form=None):
    return render(
        request,
        "incidents/statuspage/internal.html",
        {
            "status": selectors.internal_status(),
            "component_statuses": ComponentStatus.choices,
            "flash_error": error,
            "maintenance_form": maintenance_form or MaintenanceForm(),
        },
        status=status,
    )


@login_not_required
def public(request, **_):
    """The public paths are answered by serve.PublicStatusMiddleware before any view; this
    view exists so that they resolve (reverse(), APPEND_SLASH) and answers the same."""
    return serve.answer(request)


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


@require_POST
@permission_required(WORK, raise_exception=True)
def schedule_maintenance(request):
    form = MaintenanceForm(request.POST)
    if not form.is_valid():
        error = " ".join(error_lines(form))
        return _page(request, error=error, status=422, maintenance_form=form)
    d = form.cleaned_data
    try:
        services.maintenance_schedule(
            actor=request.user,
            title=d["title"],
            description=d["description"],
            components=list(d["components"]),
            starts_at=d["starts_at"],
            ends_at=d["ends_at"],
        )
    except ApplicationError as refusal:
        if refusal.field in form.fields:
            form.add_error(refusal.field, refusal.message)
        return _page(request, error=refusal.message, status=422, maintenance_form=form)
    messages.success(request, f"Maintenance “{d['title']}” scheduled.")
    return redirect("status_internal")


@require_POST
@permission_required(WORK, raise_exception=True)
def move_maintenance(request, maintenance_id: str, action: str):
    maintenance = get_object_or_404(Maintenance, public_id=maintenance_id)
    try:
        if action == "verify":
            services.maintenance_verify(actor=request.user, maintenance=maintenance)
            done = "is being verified"
        else:
            services.maintenance_complete(actor=request.user, maintenance_id=maintenance.pk)
            done = "is completed" if maintenance.started_at else "is cancelled"
    except ApplicationError as refusal:
        return _page(request, error=refusal.message, status=422)
    messages.success(request, f"Maintenance “{maintenance.title}” {done}.")
    return redirect("status_internal")


@require_GET
@permission_required(VIEW, raise_exception=True)
def subscribers(request):
    """Staff: how many subscribers, and per notice how many were sent, pending and failed."""
    return render(
        request,
        "incidents/statuspage/subscribers.html",
        {"audience": subscriber_selectors.audience(), "notices": subscriber_selectors.recent(50)},
    )
