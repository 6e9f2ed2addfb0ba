"""The runbook library's pages: the list and its search, a runbook, a version, a
comparison, the details form and the diagram."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from incidents.models import Component
from incidents.taxonomy import TYPES
from portal.errors import ApplicationError, ConflictError
from portal.models import Team

from .. import diff, selectors, services
from ..forms import DetailsForm, PublishForm, ReviewForm, TestForm
from ..models import SECTIONS, Draft, ReviewState, Runbook, Version

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
        "stamp": services.details_stamp(runbook),
    }


@require_http_methods(["GET", "POST"])
@permission_required(EDIT, raise_exception=True)
def new(request):
    form = DetailsForm(request.POST or None)
    if form.is_bound and form.is_valid():
        try:
            data = {k: v for k, v in form.cleaned_data.items() if k != "stamp"}
            runbook = services.runbook_create(actor=request.user, **data)
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
        data = dict(form.cleaned_data)
        stamp = data.pop("stamp") or None
        try:
            services.runbook_update_details(
                actor=request.user, runbook=runbook, expected_stamp=stamp, **data
            )
        except ConflictError as error:
            runbook.refresh_from_db()
            data = request.POST.copy()
            data["stamp"] = services.details_stamp(runbook)  # saving again overwrites, knowingly
            form = DetailsForm(data)
            form.is_valid()
            now = (
                f"They read: “{runbook.title}”, owned by "
                f"{runbook.team.name if runbook.team else 'no team'}, reviewed every "
                f"{runbook.review_interval_days} days."
            )
            form.add_error(None, f"{error.message} {now}")
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
