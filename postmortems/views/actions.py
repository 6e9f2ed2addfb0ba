"""The post-mortem page's actions: importing key events, comments, the workflow, the
waiver, sharing and adding action items. Each is a plain form POST that ends on the
post-mortem page with a message (or re-renders its form with the refusal)."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError

from .. import selectors, services
from ..forms import (
    ActionItemForm,
    CommentForm,
    ReasonForm,
    ShareForm,
    WorkflowForm,
)
from .pages import VIEW, _refused, apply_error, detail_context


def _back(request, postmortem, error: ApplicationError | None = None, ok: str = ""):
    """A small action's outcome: a message on the post-mortem page."""
    if error is not None:
        messages.error(request, error.message)
    elif ok:
        messages.success(request, ok)
    return redirect(postmortem)


@require_POST
@permission_required(VIEW, raise_exception=True)
def import_timeline(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    try:
        added = services.postmortem_import_timeline(actor=request.user, postmortem=postmortem)
    except ApplicationError as error:
        return _back(request, postmortem, error)
    return _back(
        request,
        postmortem,
        ok=f"Imported {added} new key event{'s' if added != 1 else ''}."
        if added
        else "Every key event is already in the timeline.",
    )


@require_POST
@permission_required(VIEW, raise_exception=True)
def comment(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            services.comment_add(
                actor=request.user,
                postmortem=postmortem,
                body=form.cleaned_data["body"],
                section=form.cleaned_data["section"],
            )
        except ApplicationError as error:
            apply_error(form, error)
        else:
            messages.success(request, "Comment added.")
            return redirect(postmortem.get_absolute_url() + "#comments")
    return render(
        request,
        "postmortems/detail.html",
        detail_context(request, postmortem, comment_form=form),
        status=_refused(request),
    )


WORKFLOW = {
    "submit": (services.postmortem_submit, "Sent to review."),
    "return": (services.postmortem_return, "Sent back to draft."),
    "publish": (services.postmortem_publish, "Published: readable by all staff."),
    "revise": (services.postmortem_revise, "A new revision is open as a draft."),
}


@require_POST
@permission_required(VIEW, raise_exception=True)
def workflow(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    form = WorkflowForm(request.POST)
    if not form.is_valid():
        return _back(request, postmortem, ApplicationError("Choose what to do."))
    action = form.cleaned_data["action"]
    service, ok = WORKFLOW[action]
    kwargs = {"actor": request.user, "postmortem": postmortem}
    if action in ("submit", "publish"):
        kwargs["expected_version"] = form.cleaned_data.get("version")
    if action == "publish":
        kwargs["note"] = form.cleaned_data.get("note", "")
    try:
        service(**kwargs)
    except ApplicationError as error:
        return _back(request, postmortem, error)
    return _back(request, postmortem, ok=ok)


@require_POST
@permission_required(VIEW, raise_exception=True)
def waive(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _back(request, postmortem, ApplicationError("Say why the incident may close first."))
    try:
        services.postmortem_waive(
            actor=request.user, postmortem=postmortem, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        return _back(request, postmortem, error)
    return _back(request, postmortem, ok="Waived: the incident may close before the review.")


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def share(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    form = ShareForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.postmortem_share(
                actor=request.user,
                postmortem=postmortem,
                team_ids=[t.pk for t in form.cleaned_data["teams"]],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as error:
            apply_error(form, error)
        else:
            return _back(request, postmortem, ok=f"Shared with {sent} people by email.")
    return render(
        request,
        "postmortems/share.html",
        {"postmortem": postmortem, "incident": postmortem.incident, "form": form},
        status=_refused(request) if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def add_item(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    form = ActionItemForm(request.POST or None, initial={"owner": request.user.pk})
    if request.method == "POST" and form.is_valid():
        try:
            services.action_item_create(
                actor=request.user, postmortem=postmortem, data=form.item_input()
            )
        except ApplicationError as error:
            apply_error(form, error)
        else:
            messages.success(request, "Action item added.")
            return redirect(postmortem.get_absolute_url() + "#action-items")
    return render(
        request,
        "postmortems/item_form.html",
        {"postmortem": postmortem, "incident": postmortem.incident, "form": form},
        status=_refused(request) if form.errors else 200,
    )
