"""The permission matrix: every URL for anonymous, no-role, responder, manager and admin users.
Anonymous gets the login redirect; a role without the permission gets 403."""

import pytest
from django.urls import reverse

LOGIN = "/accounts/login/"


@pytest.fixture
def incident(declare):
    return declare(start_in_triage=True)


def urls(ref):
    # (method, url, roles allowed)
    work = {"responder", "manager", "admin"}
    return [
        ("get", reverse("dashboard"), work),
        ("get", reverse("incidents:list"), work),
        ("get", reverse("incidents:declare"), work),
        ("post", reverse("incidents:declare"), work),
        ("post", reverse("incidents:suggest_severity"), work),
        ("get", reverse("incidents:export"), {"manager", "admin"}),
        ("get", reverse("incidents:detail", args=[ref]), work),
        ("get", reverse("incidents:edit", args=[ref]), work),
        ("post", reverse("incidents:edit", args=[ref]), work),
        ("post", reverse("incidents:acknowledge", args=[ref]), work),
        ("post", reverse("incidents:verify", args=[ref]), work),
        ("get", reverse("incidents:false_alarm", args=[ref]), work),
        ("post", reverse("incidents:false_alarm", args=[ref]), work),
        ("get", reverse("profile"), {"norole", "responder", "manager", "admin"}),
    ]


ROLES = ["anonymous", "norole", "responder", "manager", "admin"]


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, role, incident, norole, manager, admin_user, responder):
    users = {"norole": norole, "responder": responder, "manager": manager, "admin": admin_user}
    if role != "anonymous":
        client.force_login(users[role])
    for method, url, allowed in urls(incident.reference):
        response = getattr(client, method)(url)
        if role == "anonymous":
            assert response.status_code == 302, url
            assert response["Location"].startswith(LOGIN), url
        elif role in allowed:
            # Allowed: a page, a redirect after an action, or a 400 for the empty POST.
            assert response.status_code in (200, 302, 400), (url, response.status_code)
        else:
            assert response.status_code == 403, (role, url)


@pytest.mark.parametrize("role", ROLES)
def test_django_admin_only_for_admins(client, role, norole, manager, admin_user, responder):
    users = {"norole": norole, "responder": responder, "manager": manager, "admin": admin_user}
    if role != "anonymous":
        client.force_login(users[role])
    response = client.get("/admin/")
    if role == "admin":
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_healthz_and_login_are_public(client, db):
    assert client.get("/healthz").status_code == 200
    assert client.get(LOGIN).status_code == 200
