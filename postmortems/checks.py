from django.conf import settings
from django.core import checks

from portal.business_days import calendar_error


@checks.register()
def business_days_calendar(app_configs, **kwargs):
    """A misspelt country would otherwise fail the first post-mortem due date, at 3 a.m."""
    error = calendar_error(settings.BUSINESS_DAYS_COUNTRY, settings.BUSINESS_DAYS_SUBDIVISION)
    if error:
        return [
            checks.Error(
                f"BUSINESS_DAYS_COUNTRY={settings.BUSINESS_DAYS_COUNTRY!r} / "
                f"BUSINESS_DAYS_SUBDIVISION={settings.BUSINESS_DAYS_SUBDIVISION!r}: {error}",
                hint="Use an ISO 3166 country code the holidays library knows (US, GB, DE, ...).",
                id="postmortems.E001",
            )
        ]
    return []
