"""The public snapshot: every public page, feed and API document, rendered at once whenever
something public changes, and served from memory (DESIGN.md "Scaling out"; issue 9).

- A change marks it dirty inside the change's transaction: the PUBLIC_STATE_CHANGED hook
  schedules the rebuild timer (a durable row). Right after commit the same request rebuilds
  (a claimed timer: two rebuilding at once cannot happen, and a change committed during a
  rebuild waits for it and then rebuilds again); if that fails, the sweep retries.
- A rebuild is published three ways: the shared cache (Redis), file storage (the same
  files on every node) and this process's memory.
- Serving reads memory. At most every CHECK_SECONDS a node asks the cache (else storage)
  for the current generation and loads it if newer. With the database or Redis down, the
  last good snapshot keeps being served, its generation time in a header and on the page."""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import hooks, timers

from . import api, embed, feeds, public

log = logging.getLogger(__name__)

REBUILD_TIMER = "statuspage_rebuild"
TIMER_OBJECT = 0  # the one snapshot (0: no row of any table has it as its id)
# The hourly rebuild: a timer of its own kind, so that marking the snapshot dirty never moves
# it and it never moves a pending rebuild.
HOURLY_TIMER = "statuspage_hourly"
GENERATION_KEY = "statuspage:generation"
# One key for the blob (with its generation), overwritten by each publish: nothing piles up.
BLOB_KEY = "statuspage:snapshot"
POINTER_FILE = "statuspage/current.txt"
BLOB_FILE = "statuspage/snapshot-{}.json.z"
CACHE_SECONDS = 7 * 24 * 3600
CHECK_SECONDS = 0.5
COLD_RETRY_SECONDS = 5.0
PAST_DAYS = 15

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
NOT_FOUND = "404"
LEGEND = (
    ("operational", "operational"),
    ("degraded_performance", "degraded"),
    ("partial_outage", "partial outage"),
    ("major_outage", "major outage"),
    ("under_maintenance", "maintenance"),
)


@dataclass(frozen=True)
class Entry:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str


@dataclass(frozen=True)
class Snapshot:
    generation: str
    generated_at: datetime
    entries: dict[str, Entry]


def render_page(template: str, state_page, generated_at: datetime, **context) -> str:
    with timezone.override(public.zone()):
        return render_to_string(
            f"incidents/statuspage/public/{template}",
            {"page": state_page, "generated_at": generated_at, **context},
        )


def render_incident(item, state_page, generated_at) -> str:
    return render_page("incident.html", state_page, generated_at, item=item, here="incident")


def render_history(number, pages, months, state_page, generated_at) -> str:
    return render_page(
        "history.html",
        state_page,
        generated_at,
        months=months,
        number=number,
        pages=pages,
        here="history",
    )


def render_message(heading: str, text: str, state_page, generated_at) -> str:
    return render_page("message.html", state_page, generated_at, heading=heading, text=text)


def _database_now() -> datetime:
    """The database's clock: every node stamps its snapshots by the same clock, so "newer"
    means newer whichever node built it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement_timestamp()")
            return cursor.fetchone()[0]
    return timezone.now()


def build(now: datetime | None = None) -> dict:
    """Every public document, rendered: {"generated_at": iso, "pages": {key: [type, text]}}."""
    now = now or _database_now()
    state = public.state(now)
    page = state.page
    pages: dict[str, list[str]] = {}
    since = now - timedelta(days=PAST_DAYS)
    recent_resolved = [
        i for i in state.incidents if not i.is_open and (i.resolved_at or i.updated_at) >= since
    ]
    pages["/status/"] = [
        HTML,
        render_page(
            "page.html",
            page,
            now,
            state=state,
            indicator=state.indicator,
            recent_resolved=recent_resolved,
            uptime_days=public.UPTIME_DAYS,
            past_days=PAST_DAYS,
            legend=LEGEND,
            here="page",
        ),
    ]
    for item in state.incidents + state.maintenances:
        pages[item.path] = [HTML, render_incident(item, page, now)]
    today = now.astimezone(public.zone()).date()
    count = public.history_page_count(today)
    for number in range(1, min(count, public.SNAPSHOT_HISTORY_PAGES) + 1):
        months = public.history(number, today, state.components_by_pk)
        key = "/status/history/" if number == 1 else f"/status/history/?page={number}"
        pages[key] = [HTML, render_history(number, count, months, page, now)]
    for path, document in api.documents(state).items():
        pages[path] = [JSON, api.dumps(document)]
    pages[embed.DATA_PATH] = [JSON, api.dumps(embed.document(state))]
    pages["/history.atom"] = [ATOM, feeds.atom(state)]
    pages["/history.rss"] = [RSS, feeds.rss(state)]
    pages[NOT_FOUND] = [
        HTML,
        render_message("Page not found", "There is no such page on this status page.", page, now),
    ]
    return {"generated_at": now.isoformat(), "pages": pages}


def _generation(data: dict, blob: bytes) -> str:
    # Sortable by time, so that a node never goes back to an older snapshot.
    stamp = parse_datetime(data["generated_at"]).strftime("%Y%m%d%H%M%S%f")
    return f"{stamp}-{hashlib.sha256(blob).hexdigest()[:10]}"


def _entry(content_type: str, text: str) -> Entry:
    body = text.encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Entry(body, gzip.compress(body, compresslevel=6, mtime=0), content_type, etag)


def decode(generation: str, blob: bytes) -> Snapshot:
    data = json.loads(zlib.decompress(blob))
    entries = {key: _entry(kind, text) for key, (kind, text) in data["pages"].items()}
    return Snapshot(generation, parse_datetime(data["generated_at"]), entries)


class _Memory:
    def __init__(self):
        self.snapshot: Snapshot | None = None
        self.checked = 0.0
        self.retry_at = 0.0
        self.lock = threading.Lock()
        self.building = threading.Lock()

    def offer(self, snap: Snapshot) -> None:
        with self.lock:
            if self.snapshot is None or snap.generation > self.snapshot.generation:
                self.snapshot = snap


_memory = _Memory()


def publish(data: dict) -> Snapshot:
    """Write a built snapshot to file storage, the shared cache and this node's memory,
    unless a newer one is there already (then only this node's memory is offered it)."""
    blob = zlib.compress(json.dumps(data, ensure_ascii=False).encode(), 6)
    generation = _generation(data, blob)
    snap = decode(generation, blob)
    _memory.offer(snap)
    previous = _read_pointer()
    if previous and previous >= generation:
        return snap
    try:
        default_storage.save(BLOB_FILE.format(generation), ContentFile(blob))
        _write(POINTER_FILE, generation.encode())
        if previous:
            default_storage.delete(BLOB_FILE.format(previous))
    except Exception:
        log.exception("status snapshot: could not write it to file storage")
    cache.set(BLOB_KEY, (generation, blob), CACHE_SECONDS)
    cache.set(GENERATION_KEY, generation, CACHE_SECONDS)
    return snap


def _write(name: str, content: bytes) -> None:
    """Replace a small file at once: readers see the old or the new one, never none (on a
    filesystem, a rename; an S3 PUT replaces an object atomically)."""
    if isinstance(default_storage, FileSystemStorage):
        path = default_storage.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(temporary, "wb") as f:
            f.write(content)
        os.replace(temporary, path)
        return
    default_storage.save(name, ContentFile(content))  # S3: file_overwrite replaces it


def _read_pointer() -> str:
    try:
        with default_storage.open(POINTER_FILE, "rb") as f:
            return f.read().decode().strip()
    except Exception:  # missing, or storage unreachable
        return ""


def _load(generation: str) -> Snapshot | None:
    """The snapshot `generation` or a newer one: from the cache, else file storage."""
    cached = cache.get(BLOB_KEY)
    if cached is not None and cached[0] >= generation:
        generation, blob = cached
    else:
        try:
            with default_storage.open(BLOB_FILE.format(generation), "rb") as f:
                blob = f.read()
        except Exception:
            return None
    try:
        return decode(generation, blob)
    except Exception:
        log.exception("status snapshot %s unreadable", generation)
        return None


def rebuild(now: datetime | None = None) -> Snapshot:
    return publish(build(now))


def current() -> Snapshot | None:
    """This node's snapshot, refreshed from the cache (else storage) at most every
    CHECK_SECONDS. Never touches the database unless the node has no snapshot at all."""
    now = time.monotonic()
    snap = _memory.snapshot
    if snap is not None and now - _memory.checked < CHECK_SECONDS:
        return snap
    _memory.checked = now
    generation = cache.get(GENERATION_KEY) or _read_pointer()
    if generation and (snap is None or generation > snap.generation):
        loaded = _load(generation)
        if loaded is not None:
            _memory.offer(loaded)
    # A node with nothing to serve builds one itself, one request at a time, and after a
    # failure (database down, or bad data) not again for COLD_RETRY_SECONDS.
    cold = _memory.snapshot is None and now >= _memory.retry_at
    if cold and _memory.building.acquire(blocking=False):
        try:
            rebuild()
        except Exception:
            _memory.retry_at = time.monotonic() + COLD_RETRY_SECONDS
            log.exception("status snapshot: none stored and the database cannot build one")
        finally:
            _memory.building.release()
    return _memory.snapshot


def forget() -> None:
    """Drop this node's copy (tests; a node that must re-read)."""
    with _memory.lock:
        _memory.snapshot = None
        _memory.checked = 0.0
        _memory.retry_at = 0.0


# Rebuilding -----------------------------------------------------------------------------


@timers.register(HOURLY_TIMER)
@timers.register(REBUILD_TIMER)
def _rebuild_timer(timer, now) -> None:
    rebuild()
    # The page changes with the clock too (today's bar, the day rolling over, the past
    # incidents of the last 15 days, an estimated resolution passing): rebuilt at the next
    # full hour of its zone, or when the next estimate passes, even when nothing happens.
    now = timezone.now()
    estimate = (
        public.public_incidents()
        .active()
        .filter(estimated_resolution_at__gt=now)
        .order_by("estimated_resolution_at")
        .values_list("estimated_resolution_at", flat=True)
        .first()
    )
    due = _next_hour(now)
    if estimate is not None:
        due = min(due, estimate + timedelta(seconds=1))
    timers.schedule(HOURLY_TIMER, TIMER_OBJECT, due)


def _next_hour(now: datetime) -> datetime:
    local = now.astimezone(public.zone())
    return (local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)).astimezone(UTC)


def rebuild_due() -> None:
    """After commit: rebuild now if the snapshot is marked dirty (else someone already did)."""
    try:
        timers.fire_now(REBUILD_TIMER, TIMER_OBJECT)
    except Exception:
        log.exception("status snapshot: rebuild after commit failed; the sweep will retry")


# Changes of an incident the public does not see leave the page as it is. Component status
# is public whatever incident it was changed for.
INCIDENT_CAUSES = frozenset({"status", "status_update", "edit"})


def mark_dirty_now() -> None:
    """Inside a transaction: the snapshot is dirty (two transactions marking it at once both
    succeed: timers.schedule joins the other's pending timer)."""
    timers.schedule(REBUILD_TIMER, TIMER_OBJECT, timezone.now())
    transaction.on_commit(rebuild_due, robust=True)


@hooks.connect(hooks.PUBLIC_STATE_CHANGED)
def mark_dirty(*, incident=None, cause: str = "", at: datetime | None = None, **_) -> None:
    """Inside the change's transaction: the snapshot is dirty (a timer row, so the sweep
    rebuilds it even if this process dies right after commit)."""
    if incident is not None and not incident.is_public and cause in INCIDENT_CAUSES:
        return
    mark_dirty_now()
