"""Administrators look subscribers up and remove them (a request to be forgotten) in
/admin/, without ever seeing a subscriber's link token or webhook secret."""

import pytest

from incidents.models import Subscriber

pytestmark = pytest.mark.django_db


def test_an_admin_finds_and_removes_a_subscriber_without_seeing_its_secrets(admin_client):
    subscriber = Subscriber.objects.create(
        kind="webhook",
        email="ops@example.org",
        endpoint="https://93.184.216.34/hook",
        state="active",
        secret="f" * 64,
    )
    for url in (
        "/admin/incidents/subscriber/?q=ops%40example.org",
        f"/admin/incidents/subscriber/{subscriber.pk}/change/",
        "/admin/incidents/subscribernotice/",
    ):
        page = admin_client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        assert subscriber.token not in html and subscriber.secret not in html
    assert "ops@example.org" in admin_client.get("/admin/incidents/subscriber/").content.decode()
    removed = admin_client.post(
        f"/admin/incidents/subscriber/{subscriber.pk}/delete/", {"post": "yes"}
    )
    assert removed.status_code == 302 and not Subscriber.objects.exists()
