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
    StartForm,
    TimelineForm,
)
from ..models import Paper, PdfReport, RenderState, Status, org_today
from ..rules import requires_postmortem
from ..sections import SECTION_NAMES, SECTIONS
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
    checker = blameless.Checker.for_people()
    hints = {}
    for section in SECTIONS:
        found = checker.hints(getattr(postmortem, section.name))
        if found:
            hints[section.name] = found
    for why in postmortem.five_whys or []:
        hints.setdefault("five_whys", []).extend(checker.hints(why))
    return {"doc": doc, "hints": hints, "sections": sections_with_hints(doc, hints)}


def sections_with_hints(doc: dict, hints: dict) -> list:
    return [(s, text, hints.get(s.name, [])) for s, text in doc["section_list"]]


def detail_context(request, postmortem, **extra) -> dict:
    user = request.user
    reports = selectors.reports_of(postmortem)
    context = {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "comments": postmortem.comments.select_related("author__profile"),
        "revisions": postmortem.revisions.select_related("published_by__profile").order_by(
            "-number"
        ),
        "items": postmortem.action_items.select_related("owner__profile"),
        "reports": reports,
        "report_revision": postmortem.published_revision,
        "rendering": _rendering(reports),
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
                "retry_report",
            )
        },  # fmt: skip
        "comment_form": CommentForm(),
        "waive_form": ReasonForm(),
        "item_form": ActionItemForm(),
        "published": postmortem.status == Status.PUBLISHED,
        "today": org_today(),
    }
    context.update(_document_context(postmortem))
    context.update(extra)
    return context


@require_GET
@permission_required(VIEW, raise_exception=True)
def detail(request, reference: str):
    try:
        postmortem = selectors.postmortem_for(reference)
    except Http404:
        # An incident without one yet: the page that says whether it needs one and starts it.
        if Incident.objects.filter(reference=reference).exists():
            return redirect("postmortems:start", reference=reference)
        raise
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
        whys = max(whys, _posted_whys(request.POST))
        form = PostMortemForm(request.POST, whys=whys, postmortem=postmortem)
    else:
        initial = PostMortemForm.initial_from(postmortem)
        form = PostMortemForm(initial=initial, whys=whys, postmortem=postmortem)
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
            postmortem = selectors.postmortem_for(reference)
            current = _differences(form, postmortem)
            form.data = _restamped(request.POST, postmortem)
        except ApplicationError as error:
            apply_error(form, error)
        else:
            messages.success(request, "Post-mortem saved.")
            return redirect(postmortem)
    checker = blameless.Checker.for_people()
    texts = {n: str(form[n].value() or "") for n in _text_fields(form)}
    hints = {n: found for n, text in texts.items() if (found := checker.hints(text))}
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
            "why_hints": [s for n, found in hints.items() if n.startswith("why_") for s in found],
            "published": postmortem.status == Status.PUBLISHED,
        },
        status=_refused(request) if form.errors else 200,
    )


def _posted_whys(data) -> int:
    return sum(1 for key in data if key.startswith("why_") and data.get(key))


def _text_fields(form) -> list[str]:
    return [n for n in form.fields if n in SECTION_NAMES or n.startswith(("why_", "fishbone_"))]


def _differences(form, postmortem) -> dict[str, str]:
    """The texts someone else saved meanwhile that differ from what this person sent."""
    saved = PostMortemForm.initial_from(postmortem)
    return {
        name: saved.get(name) or ""
        for name in _text_fields(form)
        if (form.data.get(name) or "").strip() != (saved.get(name) or "").strip()
    }


def _restamped(data, postmortem):
    """After a conflict: the form carries the current version (the next save is a deliberate
    one, made with the other text in view), and the owner, meeting and participants as saved
    meanwhile; the texts this person typed stay."""
    data = data.copy()
    saved = PostMortemForm.initial_from(postmortem)
    data["version"] = postmortem.version
    data["owner"] = saved["owner"]
    data.setlist("participants", [str(pk) for pk in saved["participants"]])
    meeting = saved["meeting_at"]
    local = timezone.localtime(meeting) if meeting else None
    data["meeting_at_0"] = f"{local:%Y-%m-%d}" if local else ""
    data["meeting_at_1"] = f"{local:%H:%M}" if local else ""
    return data


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


def _rendering(reports) -> bool:
    return any(r.state in (RenderState.PENDING, RenderState.RENDERING) for r in reports)


def _reports_context(request, postmortem, number: int) -> dict:
    reports = selectors.reports_of(postmortem, number)
    return {
        "postmortem": postmortem,
        "incident": postmortem.incident,
        "reports": reports,
        "report_revision": number,
        "rendering": _rendering(reports),
        "papers": Paper.choices,
        "may": {"retry_report": authority.allows("retry_report", request.user, postmortem)},
    }


@require_GET
@permission_required(VIEW, raise_exception=True)
def reports_fragment(request, reference: str):
    """A revision's download buttons (the last published one unless ?revision=N); polled by
    htmx while a render is under way."""
    postmortem = selectors.postmortem_for(reference)
    number = request.GET.get("revision", "")
    number = int(number) if number.isdigit() and len(number) < 6 else 0
    if number:
        selectors.revision(postmortem, number)
    context = _reports_context(request, postmortem, number or postmortem.published_revision)
    return render(request, "postmortems/detail.html#reports", context)


@require_GET
@permission_required(VIEW, raise_exception=True)
def download(request, reference: str, number: int, paper: str):
    """The PDF when it is ready; until then a page that says where its render stands and
    offers the download when it is done (any revision, the old ones rendered on demand)."""
    if paper not in Paper.values:
        raise Http404("No such paper size.")
    postmortem = selectors.postmortem_for(reference, people=False)
    report = selectors.report(postmortem, number, paper)
    if report is None:
        selectors.revision_exists(postmortem, number)
        report = report_service.request_renders(postmortem, number, papers=[paper])[0]
    if report.state == RenderState.READY:
        try:
            handle = report_service.report_download(actor=request.user, report=report)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            name = f"{reference}-postmortem-r{number}-{paper}.pdf"
            return FileResponse(
                handle, as_attachment=True, filename=name, content_type="application/pdf"
            )
    context = _reports_context(request, postmortem, number)
    context["revision"] = selectors.revision(postmortem, number)
    return render(request, "postmortems/report_wait.html", context, status=202)


@require_POST
@permission_required(VIEW, raise_exception=True)
def retry_report(request, reference: str, report_id: int):
    postmortem = selectors.postmortem_for(reference)
    report = get_object_or_404(PdfReport, pk=report_id, postmortem=postmortem)
    try:
        report_service.report_retry(actor=request.user, report=report)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "The report is being rendered again.")
    return redirect(postmortem.get_absolute_url() + "#reports")
