"""Action items: every open item with filters, "my action items", one item with its history,
and the weekly review."""

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import panels
from portal.errors import ApplicationError, ConflictError

from .. import authority, selectors, services
from ..forms import ActionItemForm, ItemFilterForm, ItemStatusForm
from ..models import ActionItem, org_today
from .pages import VIEW, _refused, apply_error

PAGE_SIZE = 50


@require_GET
@permission_required(VIEW, raise_exception=True)
def item_list(request):
    form = ItemFilterForm(request.GET)
    form.is_valid()
    filters = {k: v for k, v in form.cleaned_data.items() if k in form.fields}
    mine = request.GET.get("mine") == "1"
    if mine:
        filters["owner"] = request.user
    items = selectors.item_list(**filters)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request,
        "postmortems/items.html",
        {
            "form": form,
            "page": page,
            "mine": mine,
            "today": org_today(),
            "query": params.urlencode(),
        },
        status=_refused(request) if form.errors else 200,
    )


def _item_initial(item: ActionItem) -> dict:
    return {
        "version": item.version,
        "title": item.title,
        "done_when": item.done_when,
        "owner": item.owner_id,
        "due_on": item.due_on,
        "category": item.category,
        "impact": item.impact,
        "effort": item.effort,
        "ticket_url": item.ticket_url,
    }


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def item_detail(request, pk: int):
    item = get_object_or_404(
        ActionItem.objects.select_related("owner__profile", "postmortem__incident"), pk=pk
    )
    form = ActionItemForm(request.POST or None, initial=_item_initial(item))
    if request.method == "POST" and form.is_valid():
        try:
            services.action_item_update(
                actor=request.user,
                item=item,
                data=form.item_input(),
                # A form without its version is no proof of what its author saw.
                expected_version=form.cleaned_data.get("version") or 0,
            )
        except ConflictError as error:
            # What was typed stays; the current values are named; the form now carries the
            # current version, so the next save is a deliberate one.
            item.refresh_from_db()
            data = request.POST.copy()
            data["version"] = item.version
            form = ActionItemForm(data)
            form.is_valid()
            form.add_error(
                None,
                f"{error.message} Saved meanwhile: “{item.title}”, owner {item.owner}, due "
                f"{item.due_on:%Y-%m-%d}, {item.get_category_display().split(':')[0]}, "
                f"impact {item.impact}, effort {item.effort}.",
            )
        except ApplicationError as error:
            apply_error(form, error)
        else:
            messages.success(request, "Action item saved.")
            return redirect(item)
    return render(
        request,
        "postmortems/item_detail.html",
        {
            "item": item,
            "form": form,
            "status_form": ItemStatusForm(initial={"version": item.version, "status": item.status}),
            "changes": item.changes.select_related("actor__profile"),
            "may_edit": authority.allows("edit_item", request.user, item.postmortem, item),
            "today": org_today(),
            "panels": panels.render_all(panels.ACTION_ITEM, request, item),
        },
        status=_refused(request) if form.errors else 200,
    )


@require_POST
@permission_required(VIEW, raise_exception=True)
def item_status(request, pk: int):
    item = get_object_or_404(ActionItem.objects.select_related("postmortem__incident"), pk=pk)
    form = ItemStatusForm(request.POST)
    if form.is_valid():
        try:
            services.action_item_set_status(
                actor=request.user,
                item=item,
                status=form.cleaned_data["status"],
                reason=form.cleaned_data["reason"],
                expected_version=form.cleaned_data.get("version"),
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            item.refresh_from_db()
            messages.success(request, f"Marked {item.get_status_display().lower()}.")
    else:
        messages.error(request, "Choose a status from the list.")
    return redirect(request.POST.get("next") if _safe_next(request) else item)


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )


@require_GET
@permission_required(VIEW, raise_exception=True)
def weekly_review(request):
    return render(
        request,
        "postmortems/weekly.html",
        {"review": selectors.weekly_review(), "today": org_today()},
    )
