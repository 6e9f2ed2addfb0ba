import json

import pytest

from portal import health


def test_healthz_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"status": "ok", "database": "ok", "broker": "ok"}
    assert not response.cookies, "healthz must not set cookies"
    assert "no-store" in response["Cache-Control"]


def test_healthz_degraded_when_broker_down(client, db, monkeypatch):
    monkeypatch.setattr(health, "check_broker", lambda: "error")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content) == {
        "status": "degraded",
        "database": "ok",
        "broker": "error",
    }


def test_healthz_degraded_when_database_down(client, db, monkeypatch):
    class Unreachable:
        def cursor(self):
            raise OSError("connection refused")

    monkeypatch.setattr(health, "connection", Unreachable())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["database"] == "error"


def test_broker_check_detects_an_unreachable_redis(monkeypatch):
    from celery import Celery

    monkeypatch.setattr(health, "celery_app", Celery(broker="redis://127.0.0.1:1/0"))
    assert health.check_broker() == "error"


def test_broker_check_passes_on_the_configured_broker():
    assert health.check_broker() == "ok"


@pytest.mark.parametrize("method", ["post", "put", "delete", "patch"])
def test_healthz_only_answers_get(client, db, method):
    assert getattr(client, method)("/healthz").status_code == 405


def test_healthz_answers_head_and_any_host_over_plain_http(client, db, settings):
    settings.ALLOWED_HOSTS = ["incidents.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert client.head("/healthz", HTTP_HOST="10.1.2.3").status_code == 200
    # Every other page still validates the host.
    assert client.get("/accounts/login/", HTTP_HOST="10.1.2.3").status_code == 400
