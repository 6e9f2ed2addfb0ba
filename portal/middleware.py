import zoneinfo

from django.contrib.auth import middleware as auth_middleware
from django.http import HttpResponse
from django.utils import timezone

SESSION_KEY = "portal_tz"


class TimezoneMiddleware:
    """Shows every time in the viewer's zone (their profile setting); stored times are UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        tzname = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Kept in the session so that cheap requests (live polls) need no profile query.
            tzname = request.session.get(SESSION_KEY)
            if tzname is None:
                profile = getattr(user, "profile", None)
                tzname = profile.time_zone if profile else ""
                request.session[SESSION_KEY] = tzname
        if tzname:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tzname))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        return self.get_response(request)


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, plus: an htmx request (a poll, a live filter) whose session has expired gets
    HX-Redirect to the log-in page, instead of the log-in page swapped into a fragment."""

    def handle_no_permission(self, request, view_func):
        response = super().handle_no_permission(request, view_func)
        if request.headers.get("HX-Request") == "true":
            redirect = HttpResponse(status=204)
            redirect["HX-Redirect"] = response["Location"]
            return redirect
        return response
