"""Integration: the public status page holding up during the outage it reports. gunicorn with
production settings serves /status/ and the API from its snapshot; then the database goes
away (a proxy in front of the real PostgreSQL closes): the node keeps serving the last good
snapshot, its generation time in a header and on the page. A node started afterwards, with
the database and Redis both unreachable, serves it from file storage."""

import os
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest
from django.db import connection

from incidents import services
from tests.conftest import subprocess_database_url
from tests.portal.conftest import TcpProxy, free_port
from tests.portal.test_deploy import PROD_ENV, ROOT, get, run_manage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]
HTTPS = {"X-Forwarded-Proto": "https", "Accept-Encoding": "identity"}


def _serve(env) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "60"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(80):
        try:
            get(f"{base}/healthz")
            break
        except OSError:
            time.sleep(0.25)
    return server, base


def test_the_last_good_snapshot_is_served_with_the_database_stopped(
    declare, responder, components, tmp_path, settings
):
    if connection.vendor != "postgresql":
        pytest.skip("stops a PostgreSQL server behind a proxy (CI runs PostgreSQL)")
    # One file storage for this process and the nodes, as on a real deployment.
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }
    incident = declare(severity="P1", severity_reason="all", components=components[:1])
    services.status_update_post(
        actor=responder, incident=incident, impact="i", actions="a", audience="public",
        public_body="Logins are failing; we are on it.",
    )  # fmt: skip
    url = urlparse(subprocess_database_url())
    proxy = TcpProxy(url.hostname, url.port or 5432)
    through_proxy = url._replace(netloc=f"{url.netloc.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        PROD_ENV,
        ALLOWED_HOSTS="127.0.0.1",
        USE_X_FORWARDED_PROTO="1",
        STATIC_ROOT=str(tmp_path / "static"),
        MEDIA_ROOT=str(tmp_path / "media"),
        DATABASE_URL=through_proxy.geturl(),
        DATABASE_CONNECT_TIMEOUT="2",
    )
    result = run_manage("collectstatic", "--noinput", env_overrides=env)
    assert result.returncode == 0, result.stderr
    servers = []
    try:
        server, base = _serve(env)
        servers.append(server)
        first = get(f"{base}/status/", HTTPS)
        assert first.status == 200
        page = first.read().decode()
        generated = first.headers["X-Snapshot-Generated-At"]
        assert "Logins are failing; we are on it." in page and "Major System Outage" in page
        assert get(f"{base}/api/v2/summary.json", HTTPS).status == 200

        proxy.stop()  # the database is gone
        time.sleep(1.0)  # past the node's check interval
        for path in ("/status/", "/api/v2/summary.json", "/history.atom"):
            response = get(f"{base}{path}", HTTPS)
            assert response.status == 200, path
            assert response.headers["X-Snapshot-Generated-At"] == generated
        during = get(f"{base}/status/", HTTPS).read().decode()
        assert "Logins are failing; we are on it." in during
        assert "Updated <time" in during

        # A node started now: no database, no Redis; the snapshot comes from file storage.
        env_new = {**env, "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
        fresh, fresh_base = _serve(env_new)
        servers.append(fresh)
        response = get(f"{fresh_base}/status/", HTTPS)
        assert response.status == 200, (
            response.read()[:300],
            sorted(p.name for p in (tmp_path / "media").rglob("*")),
        )
        assert response.headers["X-Snapshot-Generated-At"] == generated
        assert "Logins are failing; we are on it." in response.read().decode()
    finally:
        proxy.stop()
        for server in servers:
            server.terminate()
            server.wait(timeout=15)
