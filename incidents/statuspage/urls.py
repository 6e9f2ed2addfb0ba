from django.urls import path

from . import views
from .subscriptions import views as subscriptions

urlpatterns = [
    path("", views.public, name="status_public"),
    path("history/", views.public, name="status_history"),
    path("incidents/<slug:public_id>/", views.public, name="status_incident"),
    path("maintenance/<slug:public_id>/", views.public, name="status_maintenance"),
    path("subscribe/", subscriptions.subscribe, name="subscribe"),
    path("subscribe/confirm/<str:token>/", subscriptions.confirm, name="subscription_confirm"),
    path("subscriptions/<str:token>/", subscriptions.manage, name="subscription_manage"),
    path(
        "subscriptions/<str:token>/unsubscribe/",
        subscriptions.unsubscribe,
        name="subscription_unsubscribe",
    ),
    path("internal/subscribers/", views.subscribers, name="status_subscribers"),
    path("internal/maintenance/", views.schedule_maintenance, name="status_schedule_maintenance"),
    path(
        "internal/maintenance/<slug:maintenance_id>/verify/",
        views.move_maintenance,
        {"action": "verify"},
        name="status_verify_maintenance",
    ),
    path(
        "internal/maintenance/<slug:maintenance_id>/complete/",
        views.move_maintenance,
        {"action": "complete"},
        name="status_complete_maintenance",
    ),
    path("internal/", views.internal, name="status_internal"),
    path(
        "internal/components/<slug:component_id>/",
        views.set_component_status,
        name="status_set_component",
    ),
]
