"""Thin views: GET calls a selector and renders; POST runs form -> service -> redirect, or
re-renders with the errors. htmx requests get the page's own partials."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from portal import panels
from portal.errors import ApplicationError, ConflictError
from portal.oncall import audit

from .. import authority, exports, selectors, services, war_room
from ..forms import (
    DeclareForm,
    EditForm,
    FalseAlarmForm,
    IncidentFilterForm,
    NoteForm,
    PublicityForm,
    SignificantForm,
    StatusChangeForm,
    StatusUpdateForm,
)
from ..models import ComponentStatus, Incident
from ..severity import SEVERITIES
from ..statuspage import rules as status_rules

VIEW = "incidents.view_incident"
DECLARE = "incidents.add_incident"
WORK = "incidents.change_incident"
REPORTS = "incidents.view_reports"


def _partial(request, template: str, partial: str) -> str:
    # A history restore (Back after hx-push-url with no cached page) needs the whole page.
    if request.htmx and not request.htmx.history_restore_request:
        return f"{template}#{partial}"
    return template


def _filters(form: IncidentFilterForm) -> dict:
    """The valid filters; an invalid one is reported on the page and ignored alone."""
    form.is_valid()
    return form.cleaned_data


def _refused_status(request) -> int:
    # htmx swaps 422 (base.html's responseHandling), so the refusal shows in the fragment.
    return 422 if request.htmx else 400


def error_lines(form) -> list[str]:
    return [
        f"{form.fields[f].label or f}: {e}" if f != "__all__" else str(e)
        for f, errors in form.errors.items()
        for e in errors
    ]


def _apply_error(form, error: ApplicationError) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


@require_GET
@permission_required(VIEW, raise_exception=True)
@vary_on_headers("HX-Request")
def dashboard(request):
    data = selectors.dashboard(request.user)
    return render(
        request,
        _partial(request, "incidents/dashboard.html", "board"),
        {"board": data, "severities": SEVERITIES.values(), "late_pages": audit.late_pages()},
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
@vary_on_headers("HX-Request")
def incident_list(request):
    form = IncidentFilterForm(request.GET)
    paginator = Paginator(selectors.incident_list(_filters(form)), settings.INCIDENTS_PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        _partial(request, "incidents/list.html", "results"),
        {"form": form, "page": page, "query": query.urlencode(), "now": timezone.now()},
        status=_refused_status(request) if form.errors else 200,
    )


@require_GET
@permission_required(REPORTS, raise_exception=True)
def incident_export(request):
    form = IncidentFilterForm(request.GET)
    filters = _filters(form)
    if form.errors:
        # An export quietly wider than the filters asked for would mislead; say what is wrong.
        return HttpResponseBadRequest(
            "The export was refused: " + " ".join(error_lines(form)),
            content_type="text/plain; charset=utf-8",
        )
    # Prefetched per chunk of 500: the query count grows with chunks, never with rows.
    incidents = selectors.with_commander(selectors.incident_list(filters))
    response = StreamingHttpResponse(
        exports.incident_rows(incidents.iterator(chunk_size=500)), content_type="text/csv"
    )
    response["Content-Disposition"] = 'attachment; filename="incidents.csv"'
    return response


@require_http_methods(["GET", "POST"])
@permission_required(DECLARE, raise_exception=True)
def incident_declare(request):
    form = DeclareForm(request.POST if request.method == "POST" else None, user=request.user)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            incident = services.incident_declare(
                actor=request.user,
                title=data["title"],
                summary=data["summary"],
                type=data["type"],
                subtype=data["subtype"] or "",
                severity=data["severity"],
                severity_reason=data["severity_reason"],
                components=list(data["components"]),
                detected_at=data["detected_at"],
                start_in_triage=data["start_in_triage"],
                commander=data["commander"],
                **form.impact_data(),
            )
        except ApplicationError as error:
            _apply_error(form, error)
        else:
            messages.success(request, f"{incident.reference} declared.")
            return redirect(incident)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "incidents/declare.html",
        {"form": form, "suggestion": _suggestion(form), "severities": SEVERITIES.values()},
        status=status,
    )


def _suggestion(form):
    if form.is_bound:
        form.is_valid()
    return form.suggestion()


@require_POST
@permission_required(DECLARE, raise_exception=True)
def suggest_severity(request):
    """htmx: the proposed severity for the impact entered so far."""
    form = DeclareForm(request.POST)
    return render(
        request,
        "incidents/declare.html#suggestion",
        {"form": form, "suggestion": _suggestion(form)},
    )


def _publicity(incident: Incident) -> dict:
    return {
        "is_public": incident.is_public,
        "public_title": incident.public_title,
        "public_impact": incident.public_impact,
        "estimated_resolution_at": incident.estimated_resolution_at,
        "in_app_notice": {None: "", True: "yes", False: "no"}[incident.in_app_notice],
    }


def detail_context(request, incident: Incident, *, after_event: int | None = None, **extra):
    # The timeline order is a per-person preference that live refreshes and actions keep.
    if request.GET.get("order") in ("newest", "oldest"):
        request.session["timeline_order"] = request.GET["order"]
    newest_first = request.session.get("timeline_order") == "newest"
    show_all = request.GET.get("all") == "1"
    timeline = selectors.timeline(
        incident,
        newest_first=newest_first,
        limit=None if show_all else selectors.TIMELINE_PAGE,
        after=after_event,
    )
    room = selectors.war_room(incident, [e.pk for e in timeline.events], request.user)
    role_form = extra.get("role_form")
    # The stamp of the row loaded first, not re-read now: a change committed while this page
    # was being built makes the next poll refresh instead of being lost.
    state = (incident.changed_at, selectors.newest_notice(request.user))
    update_form = StatusUpdateForm()
    return {
        "incident": incident,
        "timeline": timeline,
        "room": room,
        "impact": selectors.impact_summary(incident),
        "component_statuses": ComponentStatus.choices,
        "steps": war_room.steps(incident),
        "panels": panels.render_all(panels.INCIDENT, request, incident),
        "you_are": war_room.viewer_roles(room.roles, request.user),
        "checklist_views": war_room.checklists(incident),
        "update_offer": room.update_offer,
        # The role form never defaults to taking command: the first free role, else the
        # Technical Lead; after a refusal, what was chosen (and its holder, to confirm).
        "role_default": war_room.role_default(room.roles, role_form),
        "role_holder_confirmed": war_room.holder_to_confirm(room.roles, role_form),
        "role_form": role_form,
        "newest_first": newest_first,
        "false_alarm_form": FalseAlarmForm(),
        "status_form": StatusChangeForm(initial={"from_status": incident.status}),
        "note_form": NoteForm(),
        "update_form": update_form,
        "significant_form": extra.get("significant_form")
        or SignificantForm(initial={"significant": not incident.significant}),
        "may_mark_significant": authority.allows(
            "mark_significant",
            request.user,
            incident,
            commander=next((r.holder for r in room.roles if r.role == "commander"), None),
        ),
        "publicity_form": extra.get("publicity_form")
        or PublicityForm(initial=_publicity(incident)),
        "public": {
            "title": status_rules.public_title(incident),
            "impact": status_rules.public_impact(incident),
            "sensitive": status_rules.is_sensitive(incident),
            "auto": incident.severity in status_rules.AUTO_PUBLIC_SEVERITIES,
            "may_publish": incident.status not in status_rules.NEVER_PUBLIC_STATUSES,
        },
        # Built once, not reversed per timeline event.
        "events_url": reverse("incidents:detail", args=[incident.reference]) + "events/",
        "poll_since": stamp(state[0]) if state else "0",
        "poll_notice": str((state[1] if state else 0) or 0),
        "now": timezone.now(),
        **extra,
    }


def stamp(value) -> str:
    return str(int(value.timestamp() * 1_000_000)) if value else "0"


@require_GET
@permission_required(VIEW, raise_exception=True)
@vary_on_headers("HX-Request")
def incident_detail(request, reference: str):
    incident = selectors.incident_detail(reference)
    return render(
        request,
        _partial(request, "incidents/detail.html", "timeline"),
        detail_context(request, incident),
    )


@require_http_methods(["GET", "POST"])
@permission_required(WORK, raise_exception=True)
def incident_edit(request, reference: str):
    incident = selectors.incident_detail(reference)
    form = EditForm(request.POST if request.method == "POST" else None, incident=incident)
    conflict = None
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        try:
            services.incident_update(
                actor=request.user,
                incident=incident,
                expected_version=data["version"],
                severity=data["severity"],
                severity_reason=data["severity_reason"],
                components=list(data["components"]),
                **{
                    name: data[name] if name != "subtype" else data[name] or ""
                    for name in EditForm.EDITABLE
                },
            )
        except ConflictError as error:
            conflict = error
            incident = selectors.incident_detail(reference)
            form = EditForm(
                EditForm.merge_conflict(request.POST, incident, error.fields), incident=incident
            )
            form.is_valid()
        except ApplicationError as error:
            _apply_error(form, error)
        else:
            messages.success(request, "Incident updated.")
            return redirect(incident)
    status = 409 if conflict else 400 if request.method == "POST" else 200
    return render(
        request,
        "incidents/edit.html",
        {"form": form, "incident": incident, "conflict": conflict},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@permission_required(WORK, raise_exception=True)
def incident_false_alarm(request, reference: str):
    incident = selectors.incident_by_reference(reference)
    form = FalseAlarmForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        try:
            services.incident_mark_false_alarm(
                actor=request.user, incident=incident, note=form.cleaned_data["note"]
            )
        except ApplicationError as error:
            _apply_error(form, error)
        else:
            messages.success(request, "Closed as a false alarm.")
            return redirect(incident)
    return render(
        request,
        "incidents/false_alarm.html",
        {"form": form, "incident": incident},
        status=400 if request.method == "POST" else 200,
    )
