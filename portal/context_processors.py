from django.conf import settings
from django.utils import timezone


def site(request):
    return {"SITE_NAME": settings.SITE_NAME, "TIME_ZONE_NAME": timezone.get_current_timezone_name()}
