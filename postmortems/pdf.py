"""PDF rendering with WeasyPrint, safe with untrusted text (DESIGN.md: "PDF rendering in
postmortems/pdf.py behind a restricted URL fetcher").

- The URL fetcher serves only the portal's own static files under STATIC_BASE (the report's
  stylesheet and its vendored fonts). file://, http(s):// to anywhere, data: and every other
  scheme are refused, so a post-mortem cannot make the renderer read a local file, call an
  internal service or smuggle content in (img src, CSS url(), @import, @font-face).
- Each render runs in a forked child with an address-space limit and a wall-clock limit: a
  huge or hostile document fails cleanly with a message (RenderError) and the worker that
  asked lives on."""

import logging
import os
import resource
import select
import signal
import struct
import threading
import time
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.staticfiles import finders

log = logging.getLogger(__name__)

# Bumped whenever the report templates change: the cached files are keyed by it.
TEMPLATE_VERSION = "1"
# The only URLs the renderer may load: <STATIC_BASE><path under static/>, for these paths.
STATIC_BASE = "https://portal-static.invalid/static/"
ALLOWED_PREFIXES = ("portal/pdf/", "vendor/fonts/")
MIME = {".css": "text/css", ".ttf": "font/ttf", ".svg": "image/svg+xml", ".png": "image/png"}

# How many renders this process ran (the cache tests and the benchmark read it).
RENDERS = 0


class RenderError(Exception):
    """The render failed or was stopped; the message is for people."""


class RefusedURL(ValueError):
    pass


def fetch_asset(url: str) -> tuple[bytes, str]:
    """(content, MIME type) of one of the report's own assets; RefusedURL for anything else."""
    if not url.startswith(STATIC_BASE):
        raise RefusedURL(f"refused to load {url[:80]!r}: reports load only their own assets")
    relative = url[len(STATIC_BASE) :].split("?", 1)[0].split("#", 1)[0]
    path = PurePosixPath(relative)
    if ".." in path.parts or path.is_absolute() or not relative.startswith(ALLOWED_PREFIXES):
        raise RefusedURL(f"refused to load {url[:80]!r}")
    found = finders.find(str(path))
    if not found:
        raise RefusedURL(f"no such report asset {relative!r}")
    with open(found, "rb") as handle:
        data = handle.read()
    return data, MIME.get(path.suffix, "application/octet-stream")


def _fetcher():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class AssetFetcher(URLFetcher):
        """WeasyPrint's fetcher with its network and file handlers never used: every URL goes
        through fetch_asset. A refusal is a warning in WeasyPrint's log and the resource is
        left out; the render goes on."""

        def fetch(self, url, headers=None):
            data, mime = fetch_asset(url)
            return URLFetcherResponse(url, data, {"Content-Type": mime})

    return AssetFetcher(fail_on_errors=False, allowed_protocols=["https"])


def _render_here(html: str) -> tuple[bytes, int]:
    from weasyprint import HTML
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    document = HTML(string=html, base_url=STATIC_BASE, url_fetcher=_fetcher()).render(
        font_config=fonts
    )
    return document.write_pdf(), len(document.pages)


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * resource.getpagesize()
    except OSError:
        return 0


def _child(html: str, write_fd: int, memory: int) -> None:
    status = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        limit = _vm_bytes() + memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        try:
            pdf, pages = _render_here(html)
            payload = b"K" + struct.pack(">I", pages) + pdf
        except MemoryError:
            payload = b"M"
        except Exception as error:  # reported to the parent, which raises RenderError
            payload = b"E" + f"{type(error).__name__}: {error}"[:500].encode()
        view = memoryview(payload)
        while view:
            view = view[os.write(write_fd, view) :]
        status = 0
    finally:
        os._exit(status)


def render(html: str, *, time_limit: float | None = None, memory_mb: int | None = None):
    """(pdf bytes, page count) of the HTML, rendered in a child process within the limits
    (settings PDF_RENDER_TIME_LIMIT seconds, PDF_RENDER_MEMORY_MB megabytes). Raises
    RenderError with a message for people when it fails or is stopped."""
    global RENDERS
    time_limit = time_limit or settings.PDF_RENDER_TIME_LIMIT
    memory = (memory_mb or settings.PDF_RENDER_MEMORY_MB) * 1024 * 1024
    RENDERS += 1
    # Load WeasyPrint and its libraries here, once per process: the child inherits them and
    # its memory limit is spent on the document, not on loading Pango.
    import weasyprint  # noqa: F401
    import weasyprint.text.fonts  # noqa: F401

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read_fd)
        _child(html, write_fd, memory)
    os.close(write_fd)
    chunks: list[bytes] = []
    deadline = time.monotonic() + time_limit
    timed_out = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_fd], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(read_fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
        if timed_out:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    if timed_out:
        raise RenderError(
            f"The report took longer than {time_limit:g} seconds to render and was stopped. "
            "Shorten the longest sections or the timeline and publish again."
        )
    data = b"".join(chunks)
    if not data or data[:1] == b"M":
        signalled = os.WIFSIGNALED(status)
        raise RenderError(
            "The report needed more memory than a render may use "
            f"({memory // (1024 * 1024)} MB)"
            + (" and was stopped" if signalled else "")
            + ". Shorten the longest sections or the timeline and publish again."
        )
    if data[:1] == b"E":
        log.warning("PDF render failed: %s", data[1:].decode(errors="replace"))
        raise RenderError("The report could not be rendered: " + data[1:].decode(errors="replace"))
    (pages,) = struct.unpack(">I", data[1:5])
    return data[5:], pages


# Renders made inside a web request (the monthly summary: a few pages) run one at a time per
# process and stop well inside a web server's request timeout (gunicorn's default is 30 s).
REQUEST_TIME_LIMIT = 20.0
_request_slot = threading.Semaphore(1)


def render_in_request(html: str) -> tuple[bytes, int]:
    if not _request_slot.acquire(blocking=False):
        raise RenderError(
            "Another report is being rendered by this server right now; try again in a moment."
        )
    try:
        return render(html, time_limit=min(settings.PDF_RENDER_TIME_LIMIT, REQUEST_TIME_LIMIT))
    finally:
        _request_slot.release()


def render_direct(html: str) -> tuple[bytes, int]:
    """WeasyPrint in this process, no limits: the benchmark's baseline."""
    return _render_here(html)
