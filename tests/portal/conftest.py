"""Shared pieces for the portal's tests: local servers standing in for the outside world, and
a clean slate for the process-local platform state (the Redis breaker, the banner cache)."""

import contextlib
import socket
import threading
import time

import pytest

from portal import health, resilience
from tests.conftest import free_port  # noqa: F401  (its home; imported from here too)


def wait_for(predicate, timeout: float = 45.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


class FrozenServer:
    """A server that accepts connections and never answers: what a SIGSTOPped PostgreSQL or
    Redis looks like from the outside."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held = []
        self.stopping = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.stopping = True
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.fixture(autouse=True)
def _fresh_platform_state():
    health._banner_cache.update(at=None, value=None)
    resilience.redis.reset()
    yield
    health._banner_cache.update(at=None, value=None)
    resilience.redis.reset()


class TcpProxy:
    """Forwards a local port to a real server (PostgreSQL): `stop()` is the server going away
    for everyone that reaches it through here, open connections included."""

    def __init__(self, host: str, port: int):
        self.upstream = (host, port)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.open: list[socket.socket] = []
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            self.open += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def stop(self):
        self.stopped = True
        self.sock.close()
        for s in self.open:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
