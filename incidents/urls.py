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
