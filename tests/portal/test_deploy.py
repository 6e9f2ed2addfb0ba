"""Production mode: `check --deploy` is clean, and the security headers are on."""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import subprocess_database_url
from tests.portal.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x7$Kq!2vT9#mLp4@Rz8&Wn5^Yb3*Hc6%Jd1(Fg0)Se-As=Dq+Zw_Ex",
    "ALLOWED_HOSTS": "incidents.example.org",
}  # DATABASE_URL and REDIS_URL come from the environment: PostgreSQL and Redis in CI.


def run_manage(*args, env_overrides=None):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never does.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {**inherited, **PROD_ENV, **(env_overrides or {})}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_in_production_mode():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    result = run_manage("check", env_overrides={"SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_security_headers_and_csp(client, db):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    html = response.content.decode()
    assert "<script>" not in html and " style=" not in html
    assert '"includeIndicatorStyles": false' in html


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_production_stack_serves_with_gunicorn_and_whitenoise(tmp_path):
    """DEBUG=0: collectstatic, then gunicorn serves hashed static files through whitenoise,
    pages over HTTPS only (HSTS, secure cookies), and /healthz over plain HTTP."""
    static_root = tmp_path / "static"
    overrides = {
        "DATABASE_URL": subprocess_database_url(),
        "STATIC_ROOT": str(static_root),
        "ALLOWED_HOSTS": "127.0.0.1",
        "USE_X_FORWARDED_PROTO": "1",
    }
    result = run_manage("collectstatic", "--noinput", env_overrides=overrides)
    assert result.returncode == 0, result.stderr
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "portal.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1"],
        cwd=ROOT,
        env={**inherited, **PROD_ENV, **overrides},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    https = {"X-Forwarded-Proto": "https"}
    try:
        for _ in range(60):
            try:
                health = get(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.25)
        assert health.status == 200
        body = json.loads(health.read())
        assert body["database"] == "ok" and body["broker"] == "ok"
        # No beat runs here: the node serves (200) while the sweep is reported down.
        assert body["sweep"] == "down" and body["status"] == "degraded"

        plain = get(f"{base}/accounts/login/")
        assert plain.status == 301 and plain.headers["Location"].startswith("https://")

        login = get(f"{base}/accounts/login/", https)
        assert login.status == 200
        assert "max-age=31536000" in login.headers["Strict-Transport-Security"]
        assert "Secure" in login.headers["Set-Cookie"]
        html = login.read().decode()
        css = re.search(r"/static/vendor/bootstrap/bootstrap\.min\.[0-9a-f]{12}\.css", html)
        assert css, "static URLs are not hashed"
        asset = get(f"{base}{css.group(0)}", https)
        assert asset.status == 200
        assert "immutable" in asset.headers["Cache-Control"]
    finally:
        server.terminate()
        server.wait(timeout=15)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url, headers=None):
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        return opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10)
    except urllib.error.HTTPError as error:
        return error
