"""Changing runbooks through the pages: the draft (its one form), review, publication, tests
and the review cycle. Every change goes through runbooks.services; a refused one re-renders
its form with the reason, keeping what was typed."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.files.storage import default_storage
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal.errors import ApplicationError, ConflictError

from .. import diff, services
from ..forms import DraftForm, PublishForm, ReviewForm, TestForm
from ..models import SECTION_KEYS, Draft, Runbook, Version
from .pages import EDIT, IMAGE_MAX, IMAGE_TYPES, _error, _int


def _draft_page(request, runbook, draft, form, theirs=None, status=200):
    return render(
        request,
        "runbooks/edit.html",
        {
            "runbook": runbook,
            "draft": draft,
            "form": form,
            "fields": [form[key] for key in SECTION_KEYS],
            "theirs": theirs or {},
        },
        status=status,
    )


def _store_image(upload) -> str:
    """The uploaded diagram in storage (its name), or ApplicationError if it is not a PNG,
    JPEG or WebP image of at most 2 MB (Pillow has read it: the content, not the name)."""
    kind = getattr(getattr(upload, "image", None), "format", "")
    if upload.size > IMAGE_MAX or kind not in IMAGE_TYPES:
        raise ApplicationError(
            "The diagram must be a PNG, JPEG or WebP image up to 2 MB.", field="image"
        )
    name = f"runbooks/diagrams/{uuid.uuid4().hex}.{IMAGE_TYPES[kind]}"
    return default_storage.save(name, upload)


def _save_draft(request, runbook, form, action: str):
    """The page's one POST: the diagram goes to storage first (removed again if the change
    is refused), then one service saves the text and diagram and, to submit, the version."""
    data = form.cleaned_data
    upload = data.get("image")
    stored = _store_image(upload) if upload else None
    image = stored if upload else ("" if data.get("remove_image") else None)
    try:
        return services.draft_update(
            actor=request.user,
            runbook=runbook,
            sections=form.sections(),
            expected_draft=data["draft"],
            expected_version=data["version"],
            image=image,
            change_note=data["change_note"] if action == "submit" else None,
        )
    except ApplicationError:
        if stored:
            default_storage.delete(stored)
        raise


@require_http_methods(["GET", "POST"])
@permission_required(EDIT, raise_exception=True)
def edit(request, slug: str):
    """The draft: save (versioned), with its diagram, and submit for review; or discard."""
    runbook = get_object_or_404(Runbook, slug=slug)
    draft = Draft.objects.filter(runbook=runbook).first()
    if draft is None:
        messages.info(request, "There is no draft: start one from the current version.")
        return redirect(runbook)
    if request.method == "GET":
        form = DraftForm(initial={"draft": draft.pk, "version": draft.version, **draft.sections})
        return _draft_page(request, runbook, draft, form)
    action = request.POST.get("action", "save")
    if action == "discard":
        try:
            services.draft_discard(
                actor=request.user,
                runbook=runbook,
                expected_draft=_int(request.POST.get("draft")),
                expected_version=_int(request.POST.get("version")),
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("runbooks:edit", runbook.slug)
        messages.success(request, "Draft discarded.")
        return redirect(runbook)
    form = DraftForm(request.POST, request.FILES)
    theirs = {}
    if form.is_valid():
        try:
            saved = _save_draft(request, runbook, form, action)
        except ConflictError as error:
            draft = Draft.objects.filter(runbook=runbook).first() or draft
            mine = form.sections()
            theirs = {
                d.key: d
                for d in diff.compare(draft.sections, mine)
                if draft.sections.get(d.key, "").strip() != mine[d.key].strip()
            }
            data = request.POST.copy()
            data["draft"], data["version"] = draft.pk, draft.version  # saving again overwrites
            form = DraftForm(data)
            form.is_valid()
            form.add_error(None, error.message)
        except ApplicationError as error:
            _error(form, error)
        else:
            if isinstance(saved, Version):
                messages.success(
                    request, f"Version {saved.number} submitted: a reviewer decides next."
                )
                return redirect(saved)
            messages.success(request, "Draft saved.")
            return redirect("runbooks:edit", runbook.slug)
    return _draft_page(request, runbook, draft, form, theirs, status=400)


@require_POST
@permission_required(EDIT, raise_exception=True)
def start_draft(request, slug: str):
    runbook = get_object_or_404(Runbook, slug=slug)
    number = _int(request.POST.get("from"))
    source = runbook.versions.filter(number=number).first() if number else None
    try:
        services.draft_start(actor=request.user, runbook=runbook, from_version=source)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(runbook)
    if source is not None:
        messages.success(request, f"A new draft holds version {source.number}'s text.")
    return redirect("runbooks:edit", runbook.slug)


@require_POST
@permission_required(EDIT, raise_exception=True)
def review(request, slug: str, number: int):
    found = get_object_or_404(Version, runbook__slug=slug, number=number)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose approve, request changes or comment.")
        return redirect(found)
    body = form.cleaned_data["body"]
    decision = form.cleaned_data["decision"]
    try:
        if decision == "approve":
            services.review_approve(actor=request.user, version=found, body=body)
            messages.success(request, f"Version {number} approved: it can be published.")
        elif decision == "request_changes":
            services.review_request_changes(actor=request.user, version=found, body=body)
            messages.success(request, "Changes requested: the text is back in a draft.")
        else:
            services.review_comment(actor=request.user, version=found, body=body)
            messages.success(request, "Comment added.")
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(found)


@require_POST
@permission_required(EDIT, raise_exception=True)
def publish(request, slug: str, number: int):
    found = get_object_or_404(Version, runbook__slug=slug, number=number)
    form = PublishForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.version_publish(actor=request.user, version=found, reason=reason)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(found)
    messages.success(request, f"Version {number} is now current; the owning team was told.")
    return redirect(found.runbook)


@require_POST
@permission_required(EDIT, raise_exception=True)
def record_test(request, slug: str):
    runbook = get_object_or_404(Runbook, slug=slug)
    form = TestForm(request.POST)
    if form.is_valid():
        try:
            services.test_record(actor=request.user, runbook=runbook, **form.cleaned_data)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Test recorded.")
    else:
        messages.error(
            request,
            "Nothing was recorded: "
            + " ".join(f"{form[f].label}: {' '.join(e)}" for f, e in form.errors.items()),
        )
    return redirect(runbook.get_absolute_url() + "#tests")


@require_POST
@permission_required(EDIT, raise_exception=True)
def mark_reviewed(request, slug: str):
    runbook = get_object_or_404(Runbook, slug=slug)
    try:
        runbook = services.runbook_mark_reviewed(actor=request.user, runbook=runbook)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Marked reviewed; the next review is scheduled.")
    return redirect(runbook)
