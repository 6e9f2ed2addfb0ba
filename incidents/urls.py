from django.urls import path, register_converter
from django.urls.converters import StringConverter

from . import views
from .intake import pages as intake_pages


class ReferenceConverter(StringConverter):
    """A reference is printable text without a slash; one with a NUL or another control
    character is no incident (404), and never reaches the database (PostgreSQL refuses NUL)."""

    regex = r"[^/\x00-\x1f\x7f]{1,64}"


register_converter(ReferenceConverter, "incident_ref")

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_declare, name="declare"),
    path("suggest-severity/", views.suggest_severity, name="suggest_severity"),
    path("export.csv", views.incident_export, name="export"),
    path("integrations/", intake_pages.integrations, name="integrations"),
    path(
        "integrations/<int:pk>/revoke/",
        intake_pages.integration_revoke,
        name="integration_revoke",
    ),
    path("<incident_ref:reference>/", views.incident_detail, name="detail"),
    path("<incident_ref:reference>/edit/", views.incident_edit, name="edit"),
    path("<incident_ref:reference>/acknowledge/", views.incident_acknowledge, name="acknowledge"),
    path("<incident_ref:reference>/verify/", views.incident_verify, name="verify"),
    path("<incident_ref:reference>/false-alarm/", views.incident_false_alarm, name="false_alarm"),
]

urlpatterns += [
    path("<incident_ref:reference>/poll/", views.poll, name="poll"),
    path("<incident_ref:reference>/status/", views.change_status, name="change_status"),
    path("<incident_ref:reference>/roles/", views.assign_role, name="assign_role"),
    path("<incident_ref:reference>/roles/release/", views.release_role, name="release_role"),
    path("<incident_ref:reference>/page/", views.page_someone, name="page_someone"),
    path("<incident_ref:reference>/email-users/", views.email_users, name="incident_email_users"),
    path(
        "<incident_ref:reference>/page/<int:escalation_id>/acknowledge/",
        views.acknowledge_page,
        name="acknowledge_page",
    ),
    path("<incident_ref:reference>/notes/", views.add_note, name="add_note"),
    path("<incident_ref:reference>/updates/", views.post_update, name="post_update"),
    path("<incident_ref:reference>/events/<int:event_id>/key/", views.mark_key, name="mark_key"),
    path("<incident_ref:reference>/checklist/<int:item_id>/", views.tick_item, name="tick_item"),
    path(
        "<incident_ref:reference>/checklist/<int:item_id>/waive/",
        views.waive_item,
        name="waive_item",
    ),
    path("<incident_ref:reference>/public/", views.set_publicity, name="set_publicity"),
    path("<incident_ref:reference>/significant/", views.set_significant, name="set_significant"),
    path(
        "<incident_ref:reference>/components/<slug:component_id>/status/",
        views.set_component_status,
        name="set_component_status",
    ),
]
