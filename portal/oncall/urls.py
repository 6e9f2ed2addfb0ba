from django.urls import path

from . import views

app_name = "oncall"

urlpatterns = [
    path("", views.index, name="index"),
    path("ack/<str:token>/", views.acknowledge, name="acknowledge"),
    path("contacts/", views.contact_add, name="contact_add"),
    path("contacts/<int:pk>/resend/", views.contact_resend, name="contact_resend"),
    path("contacts/<int:pk>/verify/", views.contact_verify, name="contact_verify"),
    path("contacts/<int:pk>/remove/", views.contact_remove, name="contact_remove"),
    path("feeds/", views.feed_add, name="feed_add"),
    path("feeds/<int:pk>/revoke/", views.feed_revoke, name="feed_revoke"),
    path("feeds/<str:token>.ics", views.feed_ical, name="feed_ical"),
    path("schedules/<slug:slug>/", views.schedule_detail, name="schedule"),
    path("schedules/<slug:slug>/covers/", views.override_add, name="override_add"),
    path(
        "schedules/<slug:slug>/covers/<int:pk>/remove/",
        views.override_remove,
        name="override_remove",
    ),
]
