"""The post-mortem pages. Thin views: GET calls a selector and renders; POST runs form ->
service -> redirect, or re-renders with the refusal and what was typed."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from incidents.models import Incident
from portal.errors import ApplicationError, ConflictError

from .. import authority, blameless, content, selectors, services
from ..forms import (
    ActionItemForm,
    CommentForm,
    PostMortemForm,
    ReasonForm,
    ShareForm,
    StartForm,
    TimelineForm,
    WorkflowForm,
)
from ..models import Paper, RenderState, Status
from ..rules import requires_postmortem
from ..sections import SECTIONS
from ..services import reports as report_service

VIEW = "incidents.view_incident"
PAGE_SIZE = 25


def apply_error(form, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


def _refused(request) -> int:
    return 422 if request.htmx else 400


@require_GET
@permission_required(VIEW, raise_exception=True)
@vary_on_headers("HX-Request")
def postmortem_list(request):
    status = request.GET.get("status", "")
    query = request.GET.get("q", "")
    mine = request.GET.get("mine") == "1"
    items = selectors.postmortem_list(
        status=status, query=query, mine_of=request.user if mine else None
    )
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "postmortems/list.html",
        {
            "page": page,
            "status": status,
            "q": query,
            "mine": mine,
            "statuses": Status.choices,
            "query": params.urlencode(),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def start(request, reference: str):
    incident = get_object_or_404(Incident, reference=reference)
    if hasattr(incident, "postmortem"):
        return redirect(incident.postmortem)
    required = requires_postmortem(incident.severity, significant=incident.significant)
    form = StartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            postmortem = services.postmortem_start(
                actor=request.user, incident=incident, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            apply_error(form, error)
        else:
            messages.success(request, "Post-mortem started as a draft.")
            return redirect(postmortem)
    return render(
        request,
        "postmortems/start.html",
        {"incident": incident, "form": form, "required": required},
        status=_refused(request) if form.errors else 200,
    )


def _document_context(postmortem) -> dict:
    doc = content.load(content.build(postmortem))
    names = blameless.known_names()
    hints = {}
    for section in SECTIONS:
        found = blameless.hints(getattr(postmortem, section.name), names)
        if found:
            hints[section.name] = found
    for why in postmortem.five_whys or []:
        found = blameless.hints(why, names)
        if found:
            hints.setdefault("five_whys", []).extend(found)
    return {"doc": doc, "hints": hints, "sections": sections_with_hints(doc, hints)}


def sections_with_hints(doc: dict, hints: dict) -> list:
    return [(s, text, hints.get(s.name, [])) for s, text in doc["section_list"]]


def detail_context(request, postmortem, **extra) -> dict:
    user = request.user
    reports = selectors.reports_of(postmortem)
    report_service.requeue_stale(reports)
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "comments": postmortem.comments.select_related("author__profile"),
        "revisions": postmortem.revisions.select_related("published_by__profile").order_by(
            "-number"
        ),
        "items": postmortem.action_items.select_related("owner__profile"),
        "reports": reports,
        "papers": Paper.choices,
        "may": {
            action: authority.allows(action, user, postmortem)
            for action in (
                "edit",
                "comment",
                "submit",
                "return",
                "publish",
                "revise",
                "waive",
                "share",
                "add_item",
            )
        },  # fmt: skip
        "comment_form": CommentForm(),
        "waive_form": ReasonForm(),
        "item_form": ActionItemForm(),
        "published": postmortem.status == Status.PUBLISHED,
        "today": timezone.localdate(),
    }
    context.update(_document_context(postmortem))
    context.update(extra)
    return context


@require_GET
@permission_required(VIEW, raise_exception=True)
def detail(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    return render(request, "postmortems/detail.html", detail_context(request, postmortem))


@require_GET
@permission_required(VIEW, raise_exception=True)
def revision(request, reference: str, number: int):
    postmortem = selectors.postmortem_for(reference)
    frozen = selectors.revision(postmortem, number)
    return render(
        request,
        "postmortems/revision.html",
        {
            "postmortem": postmortem,
            "incident": postmortem.incident,
            "revision": frozen,
            "doc": (doc := content.load(frozen.content)),
            "sections": sections_with_hints(doc, {}),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def edit(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    whys = len(postmortem.five_whys or [])
    if request.method == "POST":
        form = PostMortemForm(request.POST, whys=max(whys, _posted_whys(request.POST)))
    else:
        form = PostMortemForm(initial=PostMortemForm.initial_from(postmortem), whys=whys)
    current = {}
    if request.method == "POST" and form.is_valid():
        try:
            services.postmortem_update(
                actor=request.user,
                postmortem=postmortem,
                draft=form.draft(),
                expected_version=form.cleaned_data["version"],
            )
        except ConflictError as error:
            apply_error(form, error)
            # What the other person saved, beside what this person typed; the form now
            # carries the current version, so the next save is a deliberate one.
            postmortem = selectors.postmortem_for(reference)
            current = _differences(form, postmortem)
            data = request.POST.copy()
            data["version"] = postmortem.version
            form.data = data
        except ApplicationError as error:
            apply_error(form, error)
        else:
            messages.success(request, "Post-mortem saved.")
            return redirect(postmortem)
    names = blameless.known_names()
    hints = {
        name: found
        for name in form.fields
        if (found := blameless.hints(str(form[name].value() or ""), names))
        and not name.startswith(("version", "owner", "participants", "meeting"))
    }
    return render(
        request,
        "postmortems/edit.html",
        {
            "postmortem": postmortem,
            "incident": postmortem.incident,
            "form": form,
            "sections": [form[s.name] for s in SECTIONS],
            "whys": [form[name] for name in form.why_names],
            "fishbone": [f for f in form if f.name.startswith("fishbone_")],
            "current": current,
            "hints": hints,
            "published": postmortem.status == Status.PUBLISHED,
        },
        status=_refused(request) if form.errors else 200,
    )


def _posted_whys(data) -> int:
    return sum(1 for key in data if key.startswith("why_") and data.get(key))


def _differences(form, postmortem) -> dict[str, str]:
    initial = PostMortemForm.initial_from(postmortem)
    changed = {}
    for s in SECTIONS:
        if (form.data.get(s.name) or "").strip() != (initial.get(s.name) or ""):
            changed[s.name] = initial.get(s.name) or ""
    return changed


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def edit_timeline(request, reference: str):
    postmortem = selectors.postmortem_for(reference)
    entries = list(postmortem.entries.select_related("event").order_by("at", "id"))
    form = TimelineForm(
        request.POST or None, entries=entries, initial={"version": postmortem.version}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.postmortem_edit_timeline(
                actor=request.user,
                postmortem=postmortem,
                expected_version=form.cleaned_data["version"],
                changes=form.changes(),
                new_at=form.cleaned_data.get("new_at"),
                new_text=form.cleaned_data.get("new_text", ""),
            )
        except ApplicationError as error:
            apply_error(form, error)
        else:
            messages.success(request, "Timeline saved.")
            return redirect(postmortem.get_absolute_url() + "#timeline")
    return render(
        request,
        "postmortems/timeline.html",
        {
            "postmortem": postmortem,
            "incident": postmortem.incident,
            "form": form,
            "published": postmortem.status == Status.PUBLISHED,
        },
        status=_refused(request) if form.errors else 200,
    )


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


@require_GET
@permission_required(VIEW, raise_exception=True)
def reports_fragment(request, reference: str):
    """The download buttons; polled by htmx while a render is under way."""
    postmortem = selectors.postmortem_for(reference)
    reports = selectors.reports_of(postmortem)
    report_service.requeue_stale(reports)
    return render(
        request,
        "postmortems/detail.html#reports",
        {"postmortem": postmortem, "reports": reports, "incident": postmortem.incident},
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def download(request, reference: str, number: int, paper: str):
    postmortem = selectors.postmortem_for(reference)
    if paper not in Paper.values:
        raise Http404("No such paper size.")
    selectors.revision(postmortem, number)
    reports = report_service.request_renders(postmortem, number, papers=[paper])
    report = reports[0]
    if report.state != RenderState.READY:
        what = (
            f"The PDF could not be rendered: {report.error}"
            if report.state == RenderState.FAILED
            else "The PDF is being rendered; the download appears here when it is ready."
        )
        messages.info(request, what)
        return redirect(postmortem.get_absolute_url() + "#reports")
    try:
        handle = report_service.report_download(actor=request.user, report=report)
    except ApplicationError as error:
        return _back(request, postmortem, error)
    name = f"{reference}-postmortem-r{number}-{paper}.pdf"
    return FileResponse(handle, as_attachment=True, filename=name, content_type="application/pdf")
