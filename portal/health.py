"""Health for load balancers and monitors: no login, no cookies, no session.

/healthz is the load balancer's probe: 200 whenever this node can serve pages (its database
answers), 503 only when it cannot, so Redis, a worker or beat being down never takes every
node out of service. The body reports each dependency (database, broker, sweep, worker: "ok",
"stale" or "down") and an overall "ok" or "degraded". /healthz/ready (or /healthz?strict=1),
for monitoring, answers 503 while anything is degraded. Both answer within a second: every
check is bounded (the database check runs in a helper thread that is abandoned after
DATABASE_BUDGET), and a check still stuck from an earlier probe is not started again."""

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from . import resilience
from .celery import app as celery_app

log = logging.getLogger(__name__)

DATABASE_BUDGET = 0.7  # seconds
BROKER_BUDGET = 0.5
OK, STALE, DOWN = "ok", "stale", "down"

_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")
_inflight_lock = threading.Lock()
_inflight = None


def _database_snapshot() -> dict:
    """Runs in a helper thread (its own connection): reachability, the sweep's stamps, the
    failure counts and the late pages, in a handful of indexed queries."""
    from .models import Notification, SweepStatus, Timer
    from .oncall import audit

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        status = SweepStatus.objects.filter(pk=1).first()
        return {
            "database": OK,
            "last_sweep_at": status.last_finished_at if status else None,
            "last_worker_at": status.last_worker_at if status else None,
            "failed_timers": Timer.objects.filter(state=Timer.State.FAILED).count(),
            "failed_notifications": Notification.objects.filter(
                status=Notification.Status.FAILED
            ).count(),
            "late_pages": audit.late_pages().total,
        }
    except Exception as exc:
        log.warning("health: database unreachable: %s", exc)
        return {"database": DOWN}
    finally:
        # A connection per probe: nothing lingers in this helper thread between probes.
        connection.close()


def database_snapshot(budget: float = DATABASE_BUDGET) -> dict:
    global _inflight
    with _inflight_lock:
        if _inflight is not None and not _inflight.done():
            return {"database": DOWN, "database_error": "an earlier check is still waiting"}
        _inflight = future = _executor.submit(_database_snapshot)
    try:
        return future.result(timeout=budget)
    except FutureTimeout:
        log.warning("health: database did not answer within %.1f s", budget)
        return {"database": DOWN, "database_error": f"no answer within {budget} s"}


_redis: tuple[str, object] | None = None


def _redis_client(url: str):
    global _redis
    if _redis is None or _redis[0] != url:
        import redis

        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=BROKER_BUDGET,
            socket_timeout=BROKER_BUDGET,
            retry_on_timeout=False,
        )
        _redis = (url, client)
    return _redis[1]


def check_broker() -> str:
    url = celery_app.conf.broker_url or ""
    try:
        if url.startswith("filesystem"):
            # The filesystem transport "connects" to anything; what matters is the folder.
            folder = (celery_app.conf.broker_transport_options or {}).get("data_folder_out")
            return OK if folder and os.access(folder, os.W_OK) else DOWN
        if url.startswith(("redis://", "rediss://", "unix://")):
            try:
                _redis_client(url).ping()
            except Exception as exc:
                resilience.redis.trip(exc)
                raise
            resilience.redis.reset()
        else:
            with celery_app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, interval_start=0, timeout=BROKER_BUDGET)
    except Exception as exc:
        log.warning("health: broker unreachable: %s", exc)
        return DOWN
    return OK


def stale_window() -> timedelta:
    """A sweep (or a worker's sweep) older than this is stale."""
    return timedelta(seconds=settings.TIMER_SWEEP_SECONDS * settings.SWEEP_STALE_AFTER)


def _age_state(stamp: datetime | None, now: datetime) -> str:
    if stamp is None:
        return DOWN
    return OK if now - stamp <= stale_window() else STALE


def report(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    future = _executor.submit(check_broker)
    db = database_snapshot()
    try:
        broker = future.result(timeout=BROKER_BUDGET + 0.2)
    except FutureTimeout:
        broker = DOWN
    body = {"status": OK, "database": db["database"], "broker": broker}
    if db["database"] == OK:
        body["sweep"] = _age_state(db["last_sweep_at"], now)
        body["worker"] = _age_state(db["last_worker_at"], now)
        body["last_sweep_at"] = db["last_sweep_at"].isoformat() if db["last_sweep_at"] else None
        body["failed_timers"] = db["failed_timers"]
        body["failed_notifications"] = db["failed_notifications"]
        body["late_pages"] = db["late_pages"]
        # Pages more than PAGE_LATE_SECONDS late: degraded, never a reason to fail the probe.
        body["paging"] = OK if not db["late_pages"] else "late"
    else:
        body["sweep"] = body["worker"] = "unknown"
    if settings.REDIS_URL:
        body["cache"] = DOWN if resilience.redis.is_down() else OK
    checks = ("database", "broker", "sweep", "worker", "cache", "paging")
    if any(body.get(name, OK) != OK for name in checks):
        body["status"] = "degraded"
    return body


@login_not_required
@never_cache
@require_safe
def healthz(request, strict: bool = False):
    body = report()
    strict = strict or request.GET.get("strict") in ("1", "true", "yes")
    if strict:
        code = 200 if body["status"] == OK else 503
    else:
        code = 200 if body["database"] == OK else 503
    return JsonResponse(body, status=code)


# --- the staff banner ---------------------------------------------------------------------

_banner_cache: dict = {"at": None, "value": None}


def sweep_last_finished() -> datetime | None:
    """The last sweep's time, read at most once per sweep interval per process (pages must not
    pay a query each for it)."""
    from .models import SweepStatus

    now = timezone.now()
    cached_at = _banner_cache["at"]
    if cached_at is not None and (now - cached_at).total_seconds() < settings.TIMER_SWEEP_SECONDS:
        return _banner_cache["value"]
    try:
        value = SweepStatus.objects.filter(pk=1).values_list("last_finished_at", flat=True).first()
    except Exception:
        return None
    _banner_cache.update(at=now, value=value)
    return value


def staff_warnings(now: datetime | None = None) -> list[dict]:
    """What staff must see on every page while the platform is degraded."""
    now = now or timezone.now()
    warnings = []
    last = sweep_last_finished()
    if last is not None and _age_state(last, now) == STALE:
        minutes = int((now - last).total_seconds() // 60)
        ago = f"{minutes} min ago" if minutes else "less than a minute ago"
        warnings.append(
            {
                "title": "Scheduler stalled",
                "text": f"The last sweep of timers and notifications ran {ago}. Reminders, "
                "escalations and notifications wait until Celery beat runs again.",
            }
        )
    if settings.REDIS_URL and resilience.redis.is_down():
        warnings.append(
            {
                "title": "Redis unavailable",
                "text": "The portal is running on the database alone. Pages and the war room "
                "work; notifications go out through the database sweep.",
            }
        )
    return warnings


class HealthCheckMiddleware:
    """Answers the health endpoints before host validation, HTTPS redirects, sessions and CSRF:
    load balancers probe nodes by IP address and over plain HTTP, and must get no cookies."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/healthz":
            return healthz(request)
        if request.path_info == "/healthz/ready":
            return healthz(request, strict=True)
        return self.get_response(request)
