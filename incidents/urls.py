from django.urls import path

from . import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_declare, name="declare"),
    path("suggest-severity/", views.suggest_severity, name="suggest_severity"),
    path("export.csv", views.incident_export, name="export"),
    path("<str:reference>/", views.incident_detail, name="detail"),
    path("<str:reference>/edit/", views.incident_edit, name="edit"),
    path("<str:reference>/acknowledge/", views.incident_acknowledge, name="acknowledge"),
    path("<str:reference>/verify/", views.incident_verify, name="verify"),
    path("<str:reference>/false-alarm/", views.incident_false_alarm, name="false_alarm"),
]

urlpatterns += [
    path("<str:reference>/poll/", views.poll, name="poll"),
    path("<str:reference>/status/", views.change_status, name="change_status"),
    path("<str:reference>/roles/", views.assign_role, name="assign_role"),
    path("<str:reference>/roles/release/", views.release_role, name="release_role"),
    path("<str:reference>/notes/", views.add_note, name="add_note"),
    path("<str:reference>/updates/", views.post_update, name="post_update"),
    path("<str:reference>/events/<int:event_id>/key/", views.mark_key, name="mark_key"),
    path("<str:reference>/checklist/<int:item_id>/", views.tick_item, name="tick_item"),
    path("<str:reference>/checklist/<int:item_id>/waive/", views.waive_item, name="waive_item"),
]
