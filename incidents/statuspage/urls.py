from django.urls import path

from . import views

urlpatterns = [
    path("internal/", views.internal, name="status_internal"),
    path(
        "internal/components/<slug:component_id>/",
        views.set_component_status,
        name="status_set_component",
    ),
]
