"""/healthz for load balancers and monitors: no login, no cookies, no session."""

import logging
import os

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .celery import app as celery_app

log = logging.getLogger(__name__)


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        log.warning("healthz: database unreachable: %s", exc)
        return "error"
    return "ok"


def check_broker() -> str:
    try:
        options = celery_app.conf.broker_transport_options or {}
        folder = options.get("data_folder_out")
        if celery_app.conf.broker_url.startswith("filesystem") and folder:
            # The filesystem transport "connects" to anything; what matters is the folder.
            return "ok" if os.access(folder, os.W_OK) else "error"
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
    except Exception as exc:
        log.warning("healthz: broker unreachable: %s", exc)
        return "error"
    return "ok"


@login_not_required
@never_cache
@require_safe
def healthz(request):
    checks = {"database": check_database(), "broker": check_broker()}
    healthy = all(v == "ok" for v in checks.values())
    body = {"status": "ok" if healthy else "degraded", **checks}
    return JsonResponse(body, status=200 if healthy else 503)


class HealthCheckMiddleware:
    """Answers /healthz before host validation, HTTPS redirects, sessions and CSRF: load
    balancers probe nodes by IP address and over plain HTTP, and must get no cookies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return healthz(request)
        return self.get_response(request)
