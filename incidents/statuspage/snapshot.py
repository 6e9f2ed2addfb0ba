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
import threading
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from portal import hooks, timers

from . import api, feeds, public

log = logging.getLogger(__name__)

REBUILD_TIMER = "statuspage_rebuild"
TIMER_OBJECT = 0  # the one snapshot (0: no row of any table has it as its id)
GENERATION_KEY = "statuspage:generation"
BLOB_KEY = "statuspage:snapshot:{}"
POINTER_FILE = "statuspage/current.txt"
BLOB_FILE = "statuspage/snapshot-{}.json.z"
CACHE_SECONDS = 7 * 24 * 3600
CHECK_SECONDS = 0.5
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


def build(now: datetime | None = None) -> dict:
    """Every public document, rendered: {"generated_at": iso, "pages": {key: [type, text]}}."""
    now = now or timezone.now()
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
    _, by_pk = public._components()
    for number in range(1, min(count, public.SNAPSHOT_HISTORY_PAGES) + 1):
        months = public.history(number, today, by_pk)
        key = "/status/history/" if number == 1 else f"/status/history/?page={number}"
        pages[key] = [HTML, render_history(number, count, months, page, now)]
    for path, document in api.documents(state).items():
        pages[path] = [JSON, api.dumps(document)]
    pages["/history.atom"] = [ATOM, feeds.atom(state)]
    pages["/history.rss"] = [RSS, feeds.rss(state)]
    pages[NOT_FOUND] = [
        HTML,
        render_message("Page not found", "There is no such page on this status page.", page, now),
    ]
    meta = {"history_pages": count, "page": api.page(state)}
    return {"generated_at": now.isoformat(), "pages": pages, "meta": meta}


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
    snap = Snapshot(generation, parse_datetime(data["generated_at"]), entries)
    _memory.meta = data.get("meta", {})
    return snap


class _Memory:
    def __init__(self):
        self.snapshot: Snapshot | None = None
        self.checked = 0.0
        self.meta: dict = {}
        self.lock = threading.Lock()

    def offer(self, snap: Snapshot) -> None:
        with self.lock:
            if self.snapshot is None or snap.generation > self.snapshot.generation:
                self.snapshot = snap


_memory = _Memory()


def publish(data: dict) -> Snapshot:
    """Write a built snapshot to file storage, the shared cache and this node's memory."""
    blob = zlib.compress(json.dumps(data, ensure_ascii=False).encode(), 6)
    generation = _generation(data, blob)
    snap = decode(generation, blob)
    _memory.offer(snap)
    try:
        name = BLOB_FILE.format(generation)
        previous = _read_pointer()
        default_storage.save(name, ContentFile(blob))
        _write(POINTER_FILE, generation.encode())
        if previous and previous != generation:
            default_storage.delete(BLOB_FILE.format(previous))
    except Exception:
        log.exception("status snapshot: could not write it to file storage")
    cache.set(BLOB_KEY.format(generation), blob, CACHE_SECONDS)
    cache.set(GENERATION_KEY, generation, CACHE_SECONDS)
    return snap


def _write(name: str, content: bytes) -> None:
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(content))


def _read_pointer() -> str:
    try:
        with default_storage.open(POINTER_FILE, "rb") as f:
            return f.read().decode().strip()
    except Exception:  # missing, or storage unreachable
        return ""


def _load(generation: str) -> Snapshot | None:
    blob = cache.get(BLOB_KEY.format(generation))
    if blob is None:
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
    if _memory.snapshot is None:
        try:
            rebuild()
        except Exception:
            log.exception("status snapshot: none stored and the database cannot build one")
    return _memory.snapshot


def meta() -> dict:
    return _memory.meta


def forget() -> None:
    """Drop this node's copy (tests; a node that must re-read)."""
    with _memory.lock:
        _memory.snapshot = None
        _memory.checked = 0.0


# Rebuilding -----------------------------------------------------------------------------


@timers.register(REBUILD_TIMER)
def _rebuild_timer(timer, now) -> None:
    rebuild()


def rebuild_due() -> None:
    """After commit: rebuild now if the snapshot is marked dirty (else someone already did)."""
    try:
        timers.fire_now(REBUILD_TIMER, TIMER_OBJECT)
    except Exception:
        log.exception("status snapshot: rebuild after commit failed; the sweep will retry")


@hooks.connect(hooks.PUBLIC_STATE_CHANGED)
def mark_dirty(*, incident=None, cause: str = "", at: datetime | None = None, **_) -> None:
    """Inside the change's transaction: the snapshot is dirty (a timer row, so the sweep
    rebuilds it even if this process dies right after commit)."""
    if incident is not None and not incident.is_public and cause != "publicity":
        return  # nothing the public sees changed
    timers.schedule(REBUILD_TIMER, TIMER_OBJECT, timezone.now())
    transaction.on_commit(rebuild_due, robust=True)
