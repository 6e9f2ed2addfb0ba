import asyncio
import email
import os
import socket
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from incidents import services
from incidents.models import Component, ComponentGroup
from portal import roles
from portal.models import Profile

PASSWORD = "correct-horse-battery"

# Property tests stay bounded: CI runs a fixed, reproducible set of examples; the inner loop
# fewer. HYPOTHESIS_PROFILE=ci is set by .ci/run.
_HYPOTHESIS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
}
hypothesis_settings.register_profile("ci", max_examples=60, derandomize=True, **_HYPOTHESIS)
hypothesis_settings.register_profile("dev", max_examples=25, **_HYPOTHESIS)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def subprocess_database_url() -> str:
    """DATABASE_URL of the test database, for processes the tests start (worker, gunicorn)."""
    from pathlib import Path

    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(s['NAME']).resolve()}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 3
        ):
            return True
    except OSError:
        return False


def pytest_collection_modifyitems(config, items):
    """Integration and browser tests are the slow ones: `make test-fast` leaves them out."""
    for item in items:
        if item.get_closest_marker("integration") or "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.slow)


def pytest_sessionstart(session):
    """When CI points the suite at PostgreSQL and Redis they must be there: fail, never skip."""
    for var, port in (("DATABASE_URL", 5432), ("REDIS_URL", 6379)):
        url = os.environ.get(var)
        if url and not url.startswith("sqlite") and not _reachable(url, port):
            pytest.exit(f"{var}={url} is set but unreachable; start the service.", returncode=3)


@pytest.fixture
def make_user(db):
    User = get_user_model()

    def make(username: str, role: str | None = None, *, staff: bool = False, tz: str = "UTC"):
        user = User.objects.create_user(username=username, password=PASSWORD, is_staff=staff)
        if role:
            user.groups.add(Group.objects.get(name=role))
        Profile.objects.create(user=user, display_name=username.title(), time_zone=tz)
        return user

    return make


@pytest.fixture
def responder(make_user):
    return make_user("rita", roles.RESPONDER)


@pytest.fixture
def manager(make_user):
    return make_user("manny", roles.MANAGER)


@pytest.fixture
def admin_user(make_user):
    return make_user("ada", roles.ADMIN, staff=True)


@pytest.fixture
def norole(make_user):
    return make_user("nora")


@pytest.fixture
def components(db):
    group = ComponentGroup.objects.create(name="Core platform")
    return [
        Component.objects.create(name=name, group=group, position=i)
        for i, name in enumerate(["Web app", "API", "Authentication", "Database"])
    ]


@pytest.fixture
def declare(responder):
    """Declare an incident through the service, with sensible defaults."""

    def _declare(**overrides):
        now = overrides.pop("now", timezone.now())
        kwargs = {
            "actor": responder,
            "title": "API returns 500s",
            "summary": "Error rate above 20%.",
            "type": "availability",
            "subtype": "availability.partial_degradation",
            "severity": "P2",
            "severity_reason": "",
            "detected_at": now - timedelta(minutes=5),
            "symptom": "degraded",
            "users_affected_percent": 15,
            "now": now,
        }
        kwargs.update(overrides)
        return services.incident_declare(**kwargs)

    return _declare


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture(autouse=True)
def _celery_in_process(request):
    """Outside the integration tests, tasks queued after commit (outbox deliveries) run in the
    test process instead of piling up in the shared broker. Integration tests use the broker
    and a real worker."""
    from portal.celery import app

    if request.node.get_closest_marker("integration"):
        yield
        return
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def race(*calls):
    """Run the calls at the same moment in threads, each on its own database connection, and
    return what each returned, or the exception it raised, in order."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait()
            results[i] = call()
        except Exception as exc:  # the outcome under test, reported to the caller
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture(autouse=True)
def _fresh_status_snapshot(request, settings, tmp_path_factory):
    """Each test starts with no public snapshot: none in this process's memory, the cache or
    file storage (a directory of its own), so no test is served another's."""
    from django.core.cache import cache

    from incidents.statuspage import snapshot

    if not request.node.get_closest_marker("configured_storage"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path_factory.mktemp("media"))},
            },
        }
    from incidents.statuspage import serve

    snapshot.forget()
    cache.delete_many([snapshot.GENERATION_KEY, snapshot.BLOB_KEY])
    serve.limiter = serve.RateLimit(settings.STATUS_PAGE_RATE_LIMIT)
    yield
    snapshot.forget()


@pytest.fixture(autouse=True)
def _fresh_business_hours():
    """The default policy's working hours are cached per process: each test reads its own."""
    from portal.oncall.routing import forget_business_hours

    forget_business_hours()
    yield
    forget_business_hours()


class HttpProvider:
    """A local HTTP server standing in for Slack or an SMS / voice provider: records each
    request (path, headers, JSON body) and answers with the status codes queued in `answers`
    (200 once they run out)."""

    def __init__(self):
        import http.server
        import json
        import threading
        import time

        provider = self
        self.requests: list[dict] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with provider.lock:
                    status = provider.answers.pop(0) if provider.answers else 200
                    provider.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "json": json.loads(body or b"null"),
                            "at": time.time(),
                            "status": status,
                        }
                    )
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 400 else b"invalid_payload")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def http_provider():
    servers: list[HttpProvider] = []

    def start() -> HttpProvider:
        server = HttpProvider()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def restore_senders():
    """Put the registered senders back after a test that replaces some."""
    from portal.channels import _senders

    saved = dict(_senders)
    yield
    _senders.clear()
    _senders.update(saved)


# -- A real SMTP server standing in for the mail relay (the outside world) ------------------


class Inbox:
    """A real SMTP server's inbox (aiosmtpd), optionally stalling `stall` s per message."""

    def __init__(self, stall: float = 0.0):
        self.stall = stall
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        if self.stall:
            await asyncio.sleep(self.stall)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def subjects(self) -> list[str]:
        return sorted(str(m["Subject"]) for m in self.messages)


@pytest.fixture
def smtp_server():
    """Starts SMTP servers on free ports: `start(stall=0.0) -> (inbox, port)`."""
    from aiosmtpd.controller import Controller

    controllers = []

    def start(stall: float = 0.0) -> tuple[Inbox, int]:
        inbox = Inbox(stall)
        controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
        controller.start()
        controllers.append(controller)
        return inbox, controller.port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def smtp(settings, smtp_server):
    """A local SMTP server that the portal's mail backend sends to: `start(stall=0.0)`."""

    def start(stall: float = 0.0):
        inbox, port = smtp_server(stall)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        return inbox

    return start


def free_port() -> int:
    """A port nothing listens on (once this returns): a stopped server, or one to start."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
