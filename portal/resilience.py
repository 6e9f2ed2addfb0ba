"""Process-local circuit breakers for the portal's own dependencies (DESIGN.md decision 10).

Redis is a cache and a broker, never a dependency of a page. When a call to it fails (down,
or frozen past its socket timeout) the breaker opens for a while: callers skip Redis (cache
misses, no enqueue; the database sweep delivers instead) instead of paying the timeout on
every request, and staff see a "Redis unavailable" banner. After the pause one call tries
again; success closes it."""

import logging
import threading
import time

log = logging.getLogger(__name__)


class Breaker:
    def __init__(self, name: str, pause: float = 15.0):
        self.name = name
        self.pause = pause
        self._lock = threading.Lock()
        self._open_until = 0.0
        self._down_since = 0.0
        self.last_error = ""

    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    def is_down(self) -> bool:
        """Failed recently and not yet seen working again (for the banner and health)."""
        return self._down_since > 0.0

    def trip(self, exc: BaseException | str) -> None:
        with self._lock:
            now = time.monotonic()
            if not self._down_since:
                log.error("%s unavailable: %s", self.name, exc)
                self._down_since = now
            self._open_until = now + self.pause
            self.last_error = str(exc)[:500]

    def reset(self) -> None:
        if self._down_since:
            with self._lock:
                if self._down_since:
                    log.warning("%s is back", self.name)
                self._down_since = 0.0
                self._open_until = 0.0
                self.last_error = ""


redis = Breaker("Redis")
