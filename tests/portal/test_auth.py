import pytest
from django.urls import reverse

from tests.conftest import PASSWORD

LOGIN = "/accounts/login/"


def attempt(client, username, password, ip):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_login_and_logout(client, responder):
    response = attempt(client, "rita", PASSWORD, "10.0.0.1")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    client.post(reverse("logout"))
    assert client.get("/").status_code == 302


def test_wrong_password_shows_error(client, responder):
    response = attempt(client, "rita", "nope", "10.0.0.1")
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_lockout_is_per_username_and_ip_and_cannot_lock_out_everywhere(
    client, responder, make_user
):
    make_user("other", "Responder")
    for _ in range(5):
        attempt(client, "rita", "wrong", "10.0.0.66")
    # Locked: rita from the attacker's address, even with the right password.
    locked = attempt(client, "rita", PASSWORD, "10.0.0.66")
    assert locked.status_code == 429
    assert "from this network address only" in locked.content.decode()
    # Rita from her own laptop still gets in ...
    assert attempt(client, "rita", PASSWORD, "10.0.0.7").status_code == 302
    client.post(reverse("logout"))
    # ... and other people on the attacker's network are not affected.
    assert attempt(client, "other", PASSWORD, "10.0.0.66").status_code == 302


def test_lockout_lifts_after_cool_off(client, responder, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt

    for _ in range(5):
        attempt(client, "rita", "wrong", "10.0.0.66")
    assert attempt(client, "rita", PASSWORD, "10.0.0.66").status_code == 429
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(hours=1)
    )
    assert attempt(client, "rita", PASSWORD, "10.0.0.66").status_code == 302


def test_profile_edit_and_validation(client, responder):
    client.force_login(responder)
    response = client.post(
        reverse("profile"),
        {"display_name": "Rita R.", "time_zone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "time_zone" in errors
    responder.profile.refresh_from_db()
    assert responder.profile.display_name == "Rita"
    response = client.post(
        reverse("profile"),
        {"display_name": "Rita R.", "time_zone": "Europe/Berlin"},
    )
    assert response.status_code == 302
    responder.profile.refresh_from_db()
    assert responder.profile.display_name == "Rita R."
    assert responder.profile.time_zone == "Europe/Berlin"
    page = client.get("/").content.decode()
    assert "Times in Europe/Berlin" in page


@pytest.mark.parametrize("path", ["/", "/incidents/", "/incidents/new/", "/accounts/profile/"])
def test_everything_but_health_and_login_requires_login(client, db, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_lockout_behind_a_proxy_uses_the_forwarded_client_address(client, responder, settings):
    """Behind one trusted proxy every request comes from the proxy's address; the lock must
    still apply to the attacker's address only, and a forged left-most entry must not help."""
    settings.PORTAL_PROXY_COUNT = 1

    def via_proxy(password, client_ip, forged=""):
        chain = f"{forged}, {client_ip}" if forged else client_ip
        return client.post(
            LOGIN,
            {"username": "rita", "password": password},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR=chain,
        )

    for i in range(5):
        via_proxy("wrong", "203.0.113.66", forged=f"198.51.100.{i}")
    assert via_proxy(PASSWORD, "203.0.113.66").status_code == 429
    assert via_proxy(PASSWORD, "203.0.113.7").status_code == 302


def test_expired_session_htmx_request_gets_hx_redirect(client, db):
    response = client.get("/", headers={"HX-Request": "true"})
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(LOGIN)
