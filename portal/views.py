from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from . import services
from .forms import ProfileForm


@require_http_methods(["GET", "POST"])
def profile(request):
    current = services.profile_for(request.user)
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=current)
    if form.is_bound and form.is_valid():
        services.profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Profile saved.")
        return redirect("profile")
    return render(
        request,
        "portal/profile.html",
        {"form": form, "teams": request.user.teams.all()},
        status=400 if request.method == "POST" else 200,
    )
