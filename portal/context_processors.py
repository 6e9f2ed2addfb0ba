from django.conf import settings
from django.utils import timezone


def site(request):
    return {"SITE_NAME": settings.SITE_NAME, "TIME_ZONE_NAME": timezone.get_current_timezone_name()}


def notifications(request):
    """The bell's unread count (one query per page for logged-in users)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .notifications import unread_count

    return {"unread_notifications": unread_count(user)}


def platform(request):
    """Banners staff must see while the platform is degraded (a stalled scheduler, Redis
    unavailable); read from process-local state, refreshed at most once per sweep interval."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    from .health import staff_warnings

    return {"platform_warnings": staff_warnings()}
