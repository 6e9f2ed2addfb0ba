from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from . import delivery, notifications, services
from .forms import ProfileForm
from .middleware import SESSION_KEY


@require_http_methods(["GET", "POST"])
def profile(request):
    current = services.profile_for(request.user)
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=current)
    if form.is_bound and form.is_valid():
        profile = services.profile_update(user=request.user, **form.cleaned_data)
        request.session[SESSION_KEY] = profile.time_zone
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return profile_render(request, form=form, status=400 if request.method == "POST" else 200)


def profile_render(request, *, form=None, status: int = 200, **extra):
    """The profile page; the on-call views render it too, with their forms' errors."""
    from .oncall.views import contact_context

    if form is None:
        form = ProfileForm(instance=services.profile_for(request.user))
    context = {"form": form, "teams": request.user.teams.all()}
    context.update(contact_context(request.user))
    context.update(extra)
    return render(request, "portal/profile.html", context, status=status)


@require_http_methods(["GET"])
def notification_list(request):
    return render(
        request,
        "portal/notifications.html",
        {"notices": notifications.inbox(request.user)},
    )


@require_http_methods(["POST"])
def notifications_read(request):
    notifications.mark_all_read(request.user)
    return redirect("notifications")


@require_http_methods(["GET"])
@permission_required("portal.view_notification", raise_exception=True)
def notification_health(request):
    """For admins: providers short-circuited, backlog, outcomes, failures, late pages."""
    return render(
        request,
        "portal/notification_health.html",
        {"health": delivery.delivery_health(), "now": timezone.now()},
    )
