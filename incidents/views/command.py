"""The war room's actions and its live poll. Every action is a plain form POST that redirects
back to the incident (works without JavaScript); with htmx it answers with the page's live
fragments swapped out-of-band, so the person acting sees the result at once."""

import json
import re

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from portal.errors import ApplicationError, ConflictError

from .. import selectors, services
from ..forms import (
    ChecklistTickForm,
    ComponentStatusForm,
    KeyForm,
    NoteForm,
    PublicityForm,
    RoleAssignForm,
    RoleReleaseForm,
    SignificantForm,
    StatusChangeForm,
    StatusUpdateForm,
    WaiveForm,
)
from ..models import Component, IncidentChecklistItem, Status, TimelineEvent
from .pages import VIEW, WORK, detail_context, error_lines, stamp


def live_response(
    request,
    reference: str,
    *,
    error: str = "",
    success: str = "",
    after_event: int | None = None,
):
    """The page's live fragments, swapped out-of-band. The action buttons and forms are
    swapped only when the status they depend on changed (or for the person acting), so that
    a form someone is filling in is not wiped by another person's note."""
    incident = selectors.incident_detail(reference)
    context = detail_context(
        request,
        incident,
        oob=True,
        flash_error=error,
        flash_ok=success,
        # After a refusal the forms keep what was typed (they are not sent); otherwise every
        # fragment is, and the page keeps any form that holds input or focus (live.js).
        with_actions=not error,
        after_event=after_event,
    )
    return render(request, "incidents/_live.html", context, status=422 if error else 200)


# The page's forms that keep what was typed: the context name a refused plain POST re-renders
# them under, and what their stamp is (selectors.form_stamp) when a refusal restamps them.
_KEPT_FORMS = {
    StatusChangeForm: ("status_form", "status"),
    StatusUpdateForm: ("update_form", "update"),
    NoteForm: ("note_form", None),
    RoleAssignForm: ("role_form", "role"),
    PublicityForm: ("publicity_form", None),
    SignificantForm: ("significant_form", None),
}


def _restamp(reference: str, form) -> dict | None:
    """After a refusal because the incident changed under a form: what the form is for now,
    so that the page moves its stamp and the next save is a deliberate one."""
    _, kind = _KEPT_FORMS.get(type(form), (None, None))
    return selectors.form_stamp(reference, kind, form.data) if kind else None


def _done(request, reference: str, *, error: str = "", success: str = "", form=None, restamp=None):
    """htmx: the live fragments. Without JavaScript: a success redirects back to the incident;
    a refusal answers 422 with the whole page, the message on top and the typed input kept."""
    if request.htmx:
        response = live_response(request, reference, error=error, success=success)
        if restamp:
            response["HX-Trigger"] = json.dumps({"portal:restamp": restamp})
        return response
    if error:
        incident = selectors.incident_detail(reference)
        slot, _ = _KEPT_FORMS.get(type(form), (None, None))
        extra = {slot: form} if slot else {}
        context = detail_context(request, incident, flash_error=error, **extra)
        return render(request, "incidents/detail.html", context, status=422)
    if success:
        messages.success(request, success)
    return redirect("incidents:detail", reference)


def _form_error(form) -> str:
    return " ".join(error_lines(form))


def _run(request, reference: str, form, call, success: str):
    """Validate the form, call the service, answer (redirect or live fragments)."""
    if not form.is_valid():
        return _done(request, reference, error=_form_error(form), form=form)
    try:
        call(form.cleaned_data)
    except ConflictError as error:
        restamp = _restamp(reference, form)
        return _done(request, reference, error=error.message, form=form, restamp=restamp)
    except ApplicationError as error:
        return _done(request, reference, error=error.message, form=form)
    return _done(request, reference, success=success)


def _act(request, reference: str, service, success: str):
    """An action without input: the service's refusal answers like a form's (422 for htmx,
    a message after the redirect without JavaScript)."""
    incident = selectors.incident_by_reference(reference)
    try:
        service(actor=request.user, incident=incident)
    except ApplicationError as error:
        return _done(request, reference, error=error.message)
    return _done(request, reference, success=success)


@require_POST
@permission_required(WORK, raise_exception=True)
def incident_acknowledge(request, reference: str):
    return _act(request, reference, services.incident_acknowledge, "Incident acknowledged.")


@require_POST
@permission_required(WORK, raise_exception=True)
def incident_verify(request, reference: str):
    return _act(
        request, reference, services.incident_verify, "Verified: the incident is now Investigating."
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def change_status(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    form = StatusChangeForm(request.POST)
    return _run(
        request,
        reference,
        form,
        lambda d: services.incident_change_status(
            actor=request.user,
            incident=incident,
            to=d["to"],
            note=d["note"],
            followup=d["followup"],
            resolution=form.resolution(),
            expected_status=d["from_status"],
        ),
        "Status changed.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def assign_role(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    return _run(
        request,
        reference,
        RoleAssignForm(request.POST),
        lambda d: services.role_assign(
            actor=request.user,
            incident=incident,
            role=d["role"],
            user=d["user"],
            expected_holder=d["holder"],
        ),
        "Role assigned.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def release_role(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    return _run(
        request,
        reference,
        RoleReleaseForm(request.POST),
        lambda d: services.role_release(actor=request.user, incident=incident, role=d["role"]),
        "Role released.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def add_note(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    return _run(
        request,
        reference,
        NoteForm(request.POST),
        lambda d: services.incident_add_note(
            actor=request.user, incident=incident, text=d["text"], tag=d["tag"] or ""
        ),
        "Note added.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def mark_key(request, reference: str, event_id: int):
    event = get_object_or_404(TimelineEvent, pk=event_id, incident__reference=reference)
    return _run(
        request,
        reference,
        KeyForm(request.POST),
        lambda d: services.event_mark_key(actor=request.user, event=event, key=d["key"]),
        "Key events updated.",
    )


def _item(reference: str, item_id: int) -> IncidentChecklistItem:
    return get_object_or_404(
        IncidentChecklistItem.objects.select_related("checklist__incident"),
        pk=item_id,
        checklist__incident__reference=reference,
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def tick_item(request, reference: str, item_id: int):
    item = _item(reference, item_id)
    return _run(
        request,
        reference,
        ChecklistTickForm(request.POST),
        lambda d: services.checklist_item_set(actor=request.user, item=item, done=d["done"]),
        "Checklist updated.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def waive_item(request, reference: str, item_id: int):
    item = _item(reference, item_id)
    return _run(
        request,
        reference,
        WaiveForm(request.POST),
        lambda d: services.checklist_item_waive(actor=request.user, item=item, reason=d["reason"]),
        "Item waived.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def set_component_status(request, reference: str, component_id: str):
    incident = selectors.incident_by_reference(reference)
    component = get_object_or_404(Component, public_id=component_id)
    return _run(
        request,
        reference,
        ComponentStatusForm(request.POST),
        lambda d: services.component_set_status(
            actor=request.user, component=component, status=d["status"], incident=incident
        ),
        f"{component.name} status changed.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def set_significant(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    return _run(
        request,
        reference,
        SignificantForm(request.POST),
        lambda d: services.incident_set_significant(
            actor=request.user,
            incident=incident,
            significant=d["significant"],
            reason=d["reason"],
        ),
        "Significance recorded.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def set_publicity(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    form = PublicityForm(
        request.POST, initial={"estimated_resolution_at": incident.estimated_resolution_at}
    )
    return _run(
        request,
        reference,
        form,
        lambda d: services.incident_set_publicity(
            actor=request.user,
            incident=incident,
            is_public=d["is_public"],
            public_title=d["public_title"],
            public_impact=d["public_impact"],
            estimated_resolution_at=d["estimated_resolution_at"],
            in_app_notice=d["in_app_notice"],
        ),
        "Status page settings saved.",
    )


@require_POST
@permission_required(WORK, raise_exception=True)
def post_update(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    return _run(
        request,
        reference,
        StatusUpdateForm(request.POST),
        lambda d: services.status_update_post(
            actor=request.user,
            incident=incident,
            impact=d["impact"],
            actions=d["actions"],
            audience=d["audience"],
            next_update_at=d["next_update_at"],
            cause=d["cause"],
            impact_unconfirmed=d["impact_unconfirmed"],
            cause_unconfirmed=d["cause_unconfirmed"],
            expected_number=d["for_number"],
            expected_status=d["for_status"] or None,
            public_body=d["public_body"],
        ),
        "Status update posted.",
    )


# The poll's counters as the page writes them: ASCII digits only (str.isdigit() also accepts
# '²' and other scripts' digits), a microsecond stamp possibly negative.
_COUNTERS = {
    "since": re.compile(r"-?[0-9]{1,20}"),
    "n": re.compile(r"[0-9]{1,19}"),
    "e": re.compile(r"[0-9]{1,19}"),
}


def _poll_params(request) -> dict[str, str]:
    params = {name: request.GET.get(name, "") for name in (*_COUNTERS, "s")}
    for name, pattern in _COUNTERS.items():
        if params[name] and not pattern.fullmatch(params[name]):
            raise BadRequest(f"The poll's {name!r} must be a number.")
    if params["s"] and params["s"] not in Status.values:
        raise BadRequest("The poll's 's' must be an incident status.")
    return params


@require_GET
def poll(request, reference: str):
    """Live refresh (DESIGN.md decision 7): nothing new costs one indexed query and a 204.
    The permission check (two more queries) runs only when there is something to show: an
    empty 204 tells nothing to someone who could not have obtained the stamp anyway."""
    params = _poll_params(request)
    state = selectors.poll_state(reference, request.user)
    if state is None:
        raise Http404("No such incident.")
    changed_at, notice = state
    if params["since"] == stamp(changed_at) and params["n"] == str(notice or 0):
        return HttpResponse(status=204)
    if not request.user.has_perm(VIEW):
        raise PermissionDenied
    return live_response(
        request,
        reference,
        after_event=int(params["e"]) if params["e"] else None,
    )
