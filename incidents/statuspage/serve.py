"""Serving the public status page, feeds and API (issue 9), as a middleware high in the stack:
a request for a public path is answered from the in-memory snapshot before sessions, CSRF,
authentication or the database are touched, so no public response sets a cookie or varies on
one, and a spike of anonymous traffic costs no query.

What the snapshot does not hold (incidents older than a year, old history pages) is read from
the database on demand, rate-limited per client address. Unknown ids are 404 (JSON under
/api/), and with neither a snapshot nor a database the answer is a 503 that says so."""

from __future__ import annotations

import ipaddress
import json
import re
import threading
import time

from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import http_date

from portal.security import client_ip

from . import embed, public, snapshot

# /status/subscribe/ and /status/subscriptions/ are Django views (they take POSTs).
PUBLIC_PATH = re.compile(
    r"^/(?:status/(?!internal(?:/|$)|subscribe(?:/|$)|subscriptions/)"
    r"|history\.(?:atom|rss)$|api/v2/)"
)
INCIDENT_PATH = re.compile(r"^/status/(incidents|maintenance)/([a-z0-9]{1,16})/$")
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class RateLimit:
    """Per-process token buckets by client (an IPv6 client by its /64, which one host
    commonly holds whole): `per_minute` requests, refilled evenly. When more than
    `max_clients` are tracked, the least recently seen half is forgotten (they had the
    longest to refill), so rotating addresses cannot reset everyone's limit."""

    def __init__(self, per_minute: int, max_clients: int = 10_000):
        self.per_minute = per_minute
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def client(address: str) -> str:
        if ":" in address:
            try:
                return str(ipaddress.ip_network(f"{address}/64", strict=False))
            except ValueError:
                return address
        return address

    def allow(self, address: str) -> bool:
        key = self.client(address)
        now = time.monotonic()
        rate = self.per_minute / 60.0
        with self._lock:
            if len(self._buckets) > self.max_clients:
                by_age = sorted(self._buckets.items(), key=lambda item: item[1][1])
                self._buckets = dict(by_age[len(by_age) // 2 :])
            tokens, last = self._buckets.get(key, (float(self.per_minute), now))
            tokens = min(float(self.per_minute), tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            return True


# However many clients ask, a web process reads at most this many pages from the database
# at once; the others are told to come back (the snapshot answers everything else).
LIVE_READS = threading.BoundedSemaphore(4)

limiter = RateLimit(settings.STATUS_PAGE_RATE_LIMIT)


def _headers(response: HttpResponse, snap: snapshot.Snapshot | None, *, cache: bool) -> None:
    if cache:
        age = settings.STATUS_PAGE_MAX_AGE
        response["Cache-Control"] = (
            f"public, max-age={age}, stale-while-revalidate=30, stale-if-error=86400"
        )
    else:
        response["Cache-Control"] = "no-store"
    if snap is not None:
        response["X-Snapshot-Generated-At"] = snap.generated_at.isoformat()
        response["Last-Modified"] = http_date(snap.generated_at.timestamp())
    response["Access-Control-Allow-Origin"] = "*"
    response["X-Content-Type-Options"] = "nosniff"
    if response.get("Content-Type", "").startswith("text/html"):
        response["Content-Security-Policy"] = CSP
        response["X-Frame-Options"] = "DENY"


def _from_entry(request, entry: snapshot.Entry, snap, status: int = 200) -> HttpResponse:
    if status == 200 and entry.etag in _etags(request):
        response = HttpResponse(status=304)
        response["ETag"] = entry.etag
        response["Vary"] = "Accept-Encoding"
        _headers(response, snap, cache=True)
        return response
    gzip_ok = _accepts_gzip(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    body = entry.gzipped if gzip_ok else entry.body
    response = HttpResponse(
        b"" if request.method == "HEAD" else body, status=status, content_type=entry.content_type
    )
    if gzip_ok:
        response["Content-Encoding"] = "gzip"
    response["Content-Length"] = str(len(body))
    response["Vary"] = "Accept-Encoding"
    if status == 200:
        response["ETag"] = entry.etag
    _headers(response, snap, cache=status == 200)
    return response


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            q = params.strip().removeprefix("q=")
            try:
                return not params.strip() or float(q) > 0
            except ValueError:
                return False
    return False


def _etags(request) -> set[str]:
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    return {tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()}


def _plain(request, status: int, text: str, snap=None) -> HttpResponse:
    if request.path.startswith("/api/"):
        body = json.dumps({"error": text})
        response = HttpResponse(body, status=status, content_type=snapshot.JSON)
    elif snap is not None and snapshot.NOT_FOUND in snap.entries and status == 404:
        return _from_entry(request, snap.entries[snapshot.NOT_FOUND], snap, status=404)
    else:
        response = HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
    _headers(response, snap, cache=False)
    return response


def _live(request, key: str, snap) -> HttpResponse | None:
    """Read from the database what the snapshot does not hold; None means no such page."""
    match = INCIDENT_PATH.match(request.path)
    history = request.path == "/status/history/"
    if not match and not history:
        return None
    if not limiter.allow(client_ip(request)):
        response = _plain(request, 429, "Too many requests; try again in a minute.", snap)
        response["Retry-After"] = "60"
        return response
    if not LIVE_READS.acquire(blocking=False):
        response = _plain(request, 503, "The status page is busy; try again in a moment.", snap)
        response["Retry-After"] = "5"
        return response
    try:
        return _read_live(request, match, snap)
    finally:
        LIVE_READS.release()


def _read_live(request, match, snap) -> HttpResponse | None:
    now = timezone.now()
    try:
        state_page = public.Page.configured(now)
        if match:
            kind, public_id = match.groups()
            item = (
                public.one_incident(public_id)
                if kind == "incidents"
                else public.one_maintenance(public_id)
            )
            if item is None:
                return None
            text = snapshot.render_incident(item, state_page, now)
        else:
            number = _page_number(request)
            today = now.astimezone(public.zone()).date()
            pages = public.history_page_count(today)
            if number is None or number > pages:
                return None
            months = public.history(number, today)
            text = snapshot.render_history(number, pages, months, state_page, now)
    except Exception:
        return _plain(request, 503, "The status page is briefly unavailable; try again soon.", snap)
    response = HttpResponse(
        b"" if request.method == "HEAD" else text.encode(), content_type=snapshot.HTML
    )
    _headers(response, None, cache=True)
    return response


def _page_number(request) -> int | None:
    raw = request.GET.get("page", "1")
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
        return None
    number = int(raw)
    return number if number >= 1 else None


def _key(request) -> str | None:
    if request.path == "/status/history/":
        number = _page_number(request)
        if number is None:
            return None
        return request.path if number == 1 else f"{request.path}?page={number}"
    return request.path


def _script(request) -> HttpResponse:
    """The in-app banner's script: the same for everyone, cached for a day."""
    if embed.SCRIPT_ETAG in _etags(request):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(
            b"" if request.method == "HEAD" else embed.SCRIPT_BYTES,
            content_type="text/javascript; charset=utf-8",
        )
        response["Content-Length"] = str(len(embed.SCRIPT_BYTES))
    response["ETag"] = embed.SCRIPT_ETAG
    response["Cache-Control"] = (
        f"public, max-age={embed.SCRIPT_MAX_AGE}, stale-while-revalidate=86400"
    )
    response["Access-Control-Allow-Origin"] = "*"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def answer(request) -> HttpResponse:
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        response["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
        response["Access-Control-Allow-Headers"] = "*"
        response["Access-Control-Max-Age"] = "86400"
        _headers(response, None, cache=False)
        return response
    if request.method not in ("GET", "HEAD"):
        response = _plain(request, 405, "The status page is read-only.")
        response["Allow"] = "GET, HEAD, OPTIONS"
        return response
    path = request.path
    if path == embed.PATH:
        return _script(request)
    if path.startswith("/status/") and not path.endswith("/") and "." not in path[8:]:
        # As APPEND_SLASH would: /status/history -> /status/history/ (query kept); a file
        # (/status/embed.json) is answered as it is.
        query = request.META.get("QUERY_STRING", "")
        response = HttpResponse(status=301)
        response["Location"] = f"{path}/" + (f"?{query}" if query else "")
        _headers(response, None, cache=True)
        return response
    snap = snapshot.current()
    key = _key(request)
    if snap is not None and key in snap.entries:
        return _from_entry(request, snap.entries[key], snap)
    live = _live(request, key, snap) if key is not None else None
    if live is not None:
        return live
    if snap is None:
        return _plain(request, 503, "The status page is briefly unavailable; try again soon.")
    return _plain(request, 404, "Not found.", snap)


class PublicStatusMiddleware:
    """Answers /status/ (not /status/internal/), /history.atom, /history.rss and /api/v2/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if PUBLIC_PATH.match(request.path_info):
            return answer(request)
        return self.get_response(request)
