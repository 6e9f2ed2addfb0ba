"""On-call pages (issue 11): who is on call, schedules with their calendar and covers, secret
calendar feeds, and acknowledging a page from its link."""

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from ..errors import ApplicationError
from ..models import display_name
from . import calendar, contacts, forms, schedule_services, selectors, services, tokens
from .forms import ContactMethodForm, OverrideForm, VerifyForm
from .models import CalendarFeed, ContactMethod, Escalation, OnCallSchedule, ScheduleOverride

CALENDAR_DAYS = 28


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def acknowledge(request, token: str):
    """GET shows what would be acknowledged and a button; only the POST acknowledges (mail
    scanners and link previews follow links). The signed token names the person; no log-in,
    so a page can be answered from a phone at 3 a.m."""
    try:
        escalation_id, user_id = tokens.read(token)
    except tokens.InvalidToken as error:
        return render(request, "portal/oncall/acknowledge.html", {"error": str(error)}, status=400)
    escalation = Escalation.objects.select_related("acknowledged_by").filter(pk=escalation_id)
    escalation = escalation.first()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if escalation is None or user is None:
        return render(
            request,
            "portal/oncall/acknowledge.html",
            {"error": "This page no longer exists, or its person is no longer active."},
            status=404,
        )
    context = {
        "escalation": escalation,
        "person_name": display_name(user),
        "token": token,
    }
    if request.method == "POST":
        try:
            escalation = services.escalation_acknowledge(user=user, escalation=escalation)
        except ApplicationError as error:
            context["error"] = error.message
            escalation.refresh_from_db()
            if escalation.acknowledged_by_id:
                context["acknowledged_by"] = display_name(escalation.acknowledged_by)
            return render(request, "portal/oncall/acknowledge.html", context, status=409)
        context.update(escalation=escalation, done=True)
    if escalation.acknowledged_by_id:
        context["acknowledged_by"] = display_name(escalation.acknowledged_by)
    return render(request, "portal/oncall/acknowledge.html", context)


def _people_by_id() -> dict:
    return {u.pk: u for u in forms.people()}


@require_http_methods(["GET"])
def index(request):
    now = timezone.now()
    names = _people_by_id()
    return render(
        request,
        "portal/oncall/index.html",
        {
            "schedules": selectors.overview(now),
            "roles": selectors.role_holders(now),
            "names": {pk: display_name(u) for pk, u in names.items()},
            "feeds": CalendarFeed.objects.filter(owner=request.user, revoked_at__isnull=True)
            .select_related("schedule")
            .order_by("-created_at"),
            "now": now,
        },
    )


def _schedule_context(request, schedule: OnCallSchedule, form=None) -> dict:
    now = timezone.now()
    zone = selectors.zone_of(schedule.time_zone)
    first = now.astimezone(zone).date()
    # From the start of today (local), so today's shift shows its real start.
    start = datetime.combine(first, time.min, tzinfo=zone)
    end = start + timedelta(days=CALENDAR_DAYS)
    coming = selectors.schedule_shifts(schedule, start, end)
    current = next((s for s in coming if s.starts_at <= now < s.ends_at), None)
    following = coming[coming.index(current) + 1] if current and current != coming[-1] else None
    names = {pk: display_name(u) for pk, u in _people_by_id().items()}
    days = []
    for offset in range(CALENDAR_DAYS):
        day = first + timedelta(days=offset)
        begin = datetime.combine(day, time.min, tzinfo=zone)
        day_end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
        days.append(
            {
                "day": day,
                # A change inside the day shows its local time ("from 09:00").
                "shifts": [
                    {
                        "shift": s,
                        "from": s.starts_at.astimezone(zone) if s.starts_at > begin else None,
                        "until": s.ends_at.astimezone(zone) if s.ends_at < day_end else None,
                    }
                    for s in coming
                    if s.starts_at < day_end and s.ends_at > begin
                ],
            }
        )
    return {
        "schedule": schedule,
        "zone": zone.key,
        "now_shift": current,
        "next_shift": following,
        "window_end": end,
        "shifts": coming,
        "gaps": [s for s in coming if s.person is None and s.ends_at > now],
        "weeks": [days[i : i + 7] for i in range(0, len(days), 7)],
        "names": names,
        "rotations": schedule.rotations.prefetch_related("members__user__profile"),
        "overrides": schedule.overrides.filter(ends_at__gt=now).select_related("user__profile"),
        "form": form or OverrideForm(),
        "feeds": CalendarFeed.objects.filter(
            owner=request.user, schedule=schedule, revoked_at__isnull=True
        ),
    }


@require_http_methods(["GET"])
def schedule_detail(request, slug: str):
    schedule = get_object_or_404(OnCallSchedule.objects.select_related("team"), slug=slug)
    return render(request, "portal/oncall/schedule.html", _schedule_context(request, schedule))


@require_http_methods(["POST"])
def override_add(request, slug: str):
    schedule = get_object_or_404(OnCallSchedule, slug=slug)
    # The times typed are the schedule's local times.
    with timezone.override(selectors.zone_of(schedule.time_zone)):
        form = OverrideForm(request.POST)
        valid = form.is_valid()
    if valid:
        try:
            schedule_services.override_create(
                actor=request.user, schedule=schedule, **form.cleaned_data
            )
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Cover added.")
            return redirect("oncall:schedule", slug=schedule.slug)
    return render(
        request,
        "portal/oncall/schedule.html",
        _schedule_context(request, schedule, form),
        status=400,
    )


@require_http_methods(["POST"])
def override_remove(request, slug: str, pk: int):
    schedule = get_object_or_404(OnCallSchedule, slug=slug)
    override = get_object_or_404(ScheduleOverride, pk=pk, schedule=schedule)
    try:
        schedule_services.override_delete(actor=request.user, override=override)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Cover removed.")
    return redirect("oncall:schedule", slug=schedule.slug)


@require_http_methods(["POST"])
def feed_add(request):
    schedule = None
    if request.POST.get("schedule"):
        schedule = OnCallSchedule.objects.filter(slug=request.POST["schedule"]).first()
        if schedule is None:
            messages.error(request, "That schedule does not exist.")
            return redirect("oncall:index")
    try:
        schedule_services.feed_create(actor=request.user, schedule=schedule)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Calendar link made: subscribe to it from your calendar app.")
    if schedule is not None:
        return redirect("oncall:schedule", slug=schedule.slug)
    return redirect("oncall:index")


@require_http_methods(["POST"])
def feed_revoke(request, pk: int):
    feed = get_object_or_404(CalendarFeed, pk=pk)
    try:
        schedule_services.feed_revoke(actor=request.user, feed=feed)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Calendar link revoked: it no longer works.")
    if feed.schedule_id:
        return redirect("oncall:schedule", slug=feed.schedule.slug)
    return redirect("oncall:index")


@login_not_required
@require_http_methods(["GET", "HEAD"])
def feed_ical(request, token: str):
    feed = (
        CalendarFeed.objects.select_related("schedule", "owner")
        .filter(token=token, revoked_at__isnull=True, owner__is_active=True)
        .first()
    )
    if feed is None:
        return HttpResponse(
            "This calendar link does not exist or was revoked.",
            status=404,
            content_type="text/plain",
        )
    response = HttpResponse(calendar.feed_ical(feed), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="on-call.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_http_methods(["POST"])
def contact_add(request):
    form = ContactMethodForm(request.POST)
    if form.is_valid():
        try:
            contacts.contact_method_add(actor=request.user, **form.cleaned_data)
        except ApplicationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request, "Test message sent: type its code below to start receiving pages there."
            )
            return redirect("profile")
    return profile_page(request, contact_form=form, status=400)


@require_http_methods(["POST"])
def contact_resend(request, pk: int):
    method = get_object_or_404(ContactMethod, pk=pk, user=request.user)
    try:
        contacts.contact_method_send_code(actor=request.user, method=method)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"A new test message went to {method.address}.")
    return redirect("profile")


@require_http_methods(["POST"])
def contact_verify(request, pk: int):
    method = get_object_or_404(ContactMethod, pk=pk, user=request.user)
    form = VerifyForm(request.POST, prefix=f"m{method.pk}")
    if form.is_valid():
        try:
            contacts.contact_method_verify(
                actor=request.user, method=method, code=form.cleaned_data["code"]
            )
        except ApplicationError as error:
            form.add_error("code", error.message)
        else:
            messages.success(request, f"{method.address} is verified: pages can reach you there.")
            return redirect("profile")
    return profile_page(request, verify_forms={method.pk: form}, status=400)


@require_http_methods(["POST"])
def contact_remove(request, pk: int):
    method = get_object_or_404(ContactMethod, pk=pk, user=request.user)
    contacts.contact_method_delete(actor=request.user, method=method)
    messages.success(request, f"{method.address} removed.")
    return redirect("profile")


def contact_context(user, *, contact_form=None, verify_forms=None) -> dict:
    verify_forms = verify_forms or {}
    methods = list(ContactMethod.objects.filter(user=user))
    for method in methods:
        method.verify_form = verify_forms.get(method.pk) or VerifyForm(prefix=f"m{method.pk}")
    return {"contact_methods": methods, "contact_form": contact_form or ContactMethodForm()}


def profile_page(request, *, status=200, **forms_):
    from ..views import profile_render

    return profile_render(request, status=status, **contact_context(request.user, **forms_))
