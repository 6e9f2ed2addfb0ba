"""The runbook library's pages. Every change goes through runbooks.services; a refused
change re-renders its form with the reason, keeping what was typed."""

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from incidents.models import Component
from incidents.taxonomy import TYPES
from portal.errors import ApplicationError, ConflictError
from portal.models import Team

from . import diff, selectors, services
from .forms import DetailsForm, DraftForm, PublishForm, ReviewForm, TestForm
from .models import SECTION_KEYS, SECTIONS, Draft, ReviewState, Runbook, Version

VIEW = "runbooks.view_runbook"
EDIT = services.EDIT_PERM
IMAGE_MAX = 2 * 1024 * 1024
IMAGE_TYPES = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp"}


def _error(form, error: ApplicationError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@permission_required(VIEW, raise_exception=True)
def library(request):
    get = request.GET
    filters = selectors.Filters(
        q=get.get("q", ""),
        component=_int(get.get("component")),
        type=get.get("type", "") if get.get("type") in TYPES else "",
        team=get.get("team", "")[:100],
        state=get.get("state", "") if get.get("state") in dict(selectors.STATES) else "",
        review=get.get("review", "") if get.get("review") in dict(selectors.REVIEW) else "",
        tested=get.get("tested", "") if get.get("tested") in dict(selectors.TESTED) else "",
    )
    page = Paginator(selectors.library(filters), 50).get_page(get.get("page"))
    return render(
        request,
        "runbooks/library.html",
        {
            "page": page,
            "filters": filters,
            "overdue": list(selectors.overdue()[:20]) if not get else [],
            "components": Component.objects.order_by("name"),
            "types": [(code, label) for code, (label, _) in TYPES.items()],
            "teams": Team.objects.order_by("name"),
            "states": selectors.STATES,
            "reviews": selectors.REVIEW,
            "tested": selectors.TESTED,
        },
    )


def _details_initial(runbook: Runbook) -> dict:
    return {
        "title": runbook.title,
        "team": runbook.team,
        "components": list(runbook.components.all()),
        "incident_types": runbook.incident_types,
        "tags": ", ".join(runbook.tags),
        "review_interval_days": runbook.review_interval_days,
    }


@require_http_methods(["GET", "POST"])
@permission_required(EDIT, raise_exception=True)
def new(request):
    form = DetailsForm(request.POST or None)
    if form.is_bound and form.is_valid():
        try:
            runbook = services.runbook_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            _error(form, error)
        else:
            messages.success(request, f"{runbook.title} created: write its first draft.")
            return redirect("runbooks:edit", runbook.slug)
    return render(
        request, "runbooks/details.html", {"form": form, "runbook": None},
        status=400 if form.is_bound else 200,
    )  # fmt: skip


@require_http_methods(["GET", "POST"])
@permission_required(EDIT, raise_exception=True)
def details(request, slug: str):
    runbook = get_object_or_404(Runbook, slug=slug)
    form = DetailsForm(request.POST or None, initial=_details_initial(runbook))
    if form.is_bound and form.is_valid():
        try:
            services.runbook_update_details(
                actor=request.user, runbook=runbook, **form.cleaned_data
            )
        except ApplicationError as error:
            _error(form, error)
        else:
            messages.success(request, "Details saved.")
            return redirect(runbook)
    return render(
        request, "runbooks/details.html", {"form": form, "runbook": runbook},
        status=400 if form.is_bound else 200,
    )  # fmt: skip


def _sections(sections: dict) -> list[tuple[str, str, str]]:
    return [(key, title, sections.get(key, "")) for key, title in SECTIONS]


def _diagram_url(version: Version | None) -> str:
    if version is None or not version.image:
        return ""
    return reverse("runbooks:diagram", args=[version.runbook.slug, version.number])


@permission_required(VIEW, raise_exception=True)
def detail(request, slug: str):
    runbook = get_object_or_404(
        Runbook.objects.select_related("team", "current", "current__author"), slug=slug
    )
    versions = list(
        runbook.versions.select_related("review", "author__profile")
        .defer("sections")
        .order_by("-number")[:50]
    )
    return render(
        request,
        "runbooks/detail.html",
        {
            "runbook": runbook,
            "version": runbook.current,
            "sections": _sections(runbook.current.sections) if runbook.current else [],
            "diagram_url": _diagram_url(runbook.current),
            "draft": Draft.objects.filter(runbook=runbook)
            .select_related("updated_by__profile")
            .first(),
            "versions": versions,
            "tests": runbook.tests.select_related("version").defer("version__sections")[:20],
            "uses": runbook.uses.select_related("incident", "version").defer("version__sections")[
                :20
            ],
            "test_form": TestForm(),
        },
    )


@permission_required(VIEW, raise_exception=True)
def version(request, slug: str, number: int):
    found = get_object_or_404(
        Version.objects.select_related("runbook", "author__profile", "review"),
        runbook__slug=slug,
        number=number,
    )
    review = found.review
    previous = found.runbook.versions.filter(number__lt=number).order_by("-number").first()
    may_publish_unreviewed = request.user.has_perm(services.UNREVIEWED_PERM)
    return render(
        request,
        "runbooks/version.html",
        {
            "runbook": found.runbook,
            "version": found,
            "review": review,
            "previous": previous,
            "sections": _sections(found.sections),
            "diagram_url": _diagram_url(found),
            "comments": found.comments.select_related("author__profile"),
            "review_form": ReviewForm(),
            "publish_form": PublishForm(),
            "may_review": review.state == ReviewState.PENDING
            and found.author_id != request.user.pk,
            "may_publish": review.state == ReviewState.APPROVED
            or (review.state == ReviewState.PENDING and may_publish_unreviewed),
            "unreviewed": review.state == ReviewState.PENDING and may_publish_unreviewed,
        },
    )


@permission_required(VIEW, raise_exception=True)
def compare(request, slug: str):
    runbook = get_object_or_404(Runbook, slug=slug)
    numbers = list(runbook.versions.order_by("number").values_list("number", flat=True))
    if not numbers:
        messages.error(request, "This runbook has no versions to compare yet.")
        return redirect(runbook)
    new_no = _int(request.GET.get("to")) or numbers[-1]
    old_no = _int(request.GET.get("from")) or (new_no - 1 if new_no - 1 in numbers else new_no)
    old = runbook.versions.filter(number=old_no).first()
    new_version = runbook.versions.filter(number=new_no).first()
    if old is None or new_version is None:
        messages.error(request, "Choose two versions of this runbook to compare.")
        return redirect(runbook)
    view = "inline" if request.GET.get("view") == "inline" else "side"
    return render(
        request,
        "runbooks/diff.html",
        {
            "runbook": runbook,
            "old": old,
            "new": new_version,
            "numbers": numbers,
            "view": view,
            "sections": diff.compare(old.sections, new_version.sections),
        },
    )


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


@permission_required(VIEW, raise_exception=True)
def diagram(request, slug: str, number: int | None = None):
    """The architecture diagram of a version (or, without a number, of the draft)."""
    from django.http import FileResponse, Http404

    runbook = get_object_or_404(Runbook, slug=slug)
    if number is None:
        holder = Draft.objects.filter(runbook=runbook).first()
    else:
        holder = runbook.versions.filter(number=number).first()
    if holder is None or not holder.image or not default_storage.exists(holder.image):
        raise Http404("No diagram.")
    kind = holder.image.rsplit(".", 1)[-1]
    content_type = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}.get(kind)
    response = FileResponse(default_storage.open(holder.image), content_type=content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


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
