"""The permission matrix: every URL for anonymous, no-role, responder, manager and admin users.
Anonymous gets the login redirect; a role without the permission gets 403."""

import pytest
from django.urls import reverse

from incidents.models import Incident, TimelineEvent
from portal.models import Timer

LOGIN = "/accounts/login/"


@pytest.fixture
def incident(declare):
    return declare(start_in_triage=True)


def urls(ref):
    """(method, url, roles allowed, the exact status an allowed role gets)."""
    from incidents.models import IncidentChecklistItem, TimelineEvent

    work = {"responder", "manager", "admin"}
    page = reverse("incidents:detail", args=[ref])
    item = IncidentChecklistItem.objects.filter(checklist__incident__reference=ref).first()
    event = TimelineEvent.objects.filter(incident__reference=ref).first()

    def war_room(name, *args):
        # Empty POSTs: refused with the incident page and a message (422), nothing written.
        return ("post", reverse(f"incidents:{name}", args=[ref, *args]), work, 422)

    return [
        ("get", reverse("incidents:poll", args=[ref]), work, 200),
        war_room("change_status"),
        war_room("assign_role"),
        war_room("release_role"),
        war_room("add_note"),
        war_room("post_update"),
        war_room("mark_key", event.pk),
        war_room("tick_item", item.pk),
        war_room("waive_item", item.pk),
        ("get", reverse("notifications"), {"norole", "responder", "manager", "admin"}, 200),
        ("get", reverse("dashboard"), work, 200),
        ("get", reverse("incidents:list"), work, 200),
        ("get", reverse("incidents:declare"), work, 200),
        ("post", reverse("incidents:declare"), work, 400),  # empty form: field errors
        ("post", reverse("incidents:suggest_severity"), work, 200),
        ("get", reverse("incidents:export"), {"manager", "admin"}, 200),
        ("get", page, work, 200),
        ("get", reverse("incidents:edit", args=[ref]), work, 200),
        ("post", reverse("incidents:edit", args=[ref]), work, 400),
        ("get", reverse("incidents:false_alarm", args=[ref]), work, 200),
        ("post", reverse("incidents:false_alarm", args=[ref]), work, 400),
        ("post", reverse("incidents:acknowledge", args=[ref]), work, page),
        ("post", reverse("incidents:verify", args=[ref]), work, page),
        ("get", reverse("profile"), {"norole", "responder", "manager", "admin"}, 200),
    ]


ROLES = ["anonymous", "norole", "responder", "manager", "admin"]


def rows():
    return (Incident.objects.count(), TimelineEvent.objects.count(), Timer.objects.count())


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, role, incident, norole, manager, admin_user, responder):
    users = {"norole": norole, "responder": responder, "manager": manager, "admin": admin_user}
    if role != "anonymous":
        client.force_login(users[role])
    for method, url, allowed, expected in urls(incident.reference):
        before = rows()
        response = getattr(client, method)(url)
        if role == "anonymous":
            assert response.status_code == 302, url
            assert response["Location"].startswith(f"{LOGIN}?next="), url
            assert rows() == before
        elif role in allowed:
            if isinstance(expected, str):  # an action: back to the incident page
                assert response.status_code == 302, (url, response.status_code)
                assert response["Location"] == expected, url
            else:
                assert response.status_code == expected, (role, url, response.status_code)
        else:
            assert response.status_code == 403, (role, url)
            assert rows() == before, (role, url)
    if role in ("responder", "manager", "admin"):
        # The two actions really happened, in order.
        kinds = list(incident.events.order_by("id").values_list("kind", flat=True))
        assert kinds == ["declared", "acknowledged", "verified"]


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
