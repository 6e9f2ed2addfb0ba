"""Alert intake while Redis is down (issue 12): the alert is stored and its incident
declared on PostgreSQL alone, within the usual bounds; the page waits in the outbox and goes
out through the database sweep (what beat runs while the broker is away) once delivery
runs again."""

import json
import time

import pytest

from incidents.intake import services
from incidents.models import Alert, Incident
from portal import notifications
from portal.channels import http, register_sender
from portal.models import Channel, Notification
from tests.portal.conftest import FrozenServer, free_port
from tests.portal.oncall_fixtures import on_call_team, verified

from .test_intake import ALERTMANAGER

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["stopped", "frozen"])
def redis_down(request, settings):
    server = FrozenServer() if request.param == "frozen" else None
    url = f"redis://127.0.0.1:{server.port if server else free_port()}/0"
    settings.REDIS_URL = url
    settings.CACHES = {
        "default": {
            "BACKEND": "portal.cache.ResilientRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "portal",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 1.0},
        }
    }
    yield request.param
    if server is not None:
        server.close()


def test_intake_stores_and_pages_with_redis_down(
    client, make_user, redis_down, http_provider, restore_senders
):
    team = on_call_team(make_user)
    verified(team.primary, "sms", "+4915100000001")
    sms = http_provider()
    provider = http.Provider("sms", f"{sms.url}/sms", "", http.DEFAULT_BODY)
    register_sender(Channel.SMS, provider.send, provider=provider.provider, timeout=5)
    _, token = services.integration_create(actor=None, name="Prom", kind="alertmanager")
    started = time.monotonic()
    response = client.post(
        f"/integrations/{token}/", data=json.dumps(ALERTMANAGER), content_type="application/json"
    )
    assert response.status_code == 202, response.content
    assert time.monotonic() - started < 6
    assert Alert.objects.count() == 1 and Incident.objects.count() == 1
    page = Notification.objects.get(reason="page", channel="sms")
    assert page.status == "pending" and sms.requests == []
    # Delivery runs again (the database sweep): the page goes out, once.
    notifications.dispatch_due()
    notifications.dispatch_due()
    assert [r["json"]["to"] for r in sms.requests] == ["+4915100000001"]
