from django.urls import path

from . import views

app_name = "runbooks"

urlpatterns = [
    path("", views.library, name="library"),
    path("new/", views.new, name="new"),
    path("follow/<str:reference>/", views.follow, name="follow"),
    path("propose/<int:item>/", views.propose, name="propose"),
    path("<slug:slug>/", views.detail, name="detail"),
    path("<slug:slug>/details/", views.details, name="details"),
    path("<slug:slug>/edit/", views.edit, name="edit"),
    path("<slug:slug>/draft/", views.start_draft, name="start_draft"),
    path("<slug:slug>/draft/diagram/", views.diagram, name="draft_diagram"),
    path("<slug:slug>/compare/", views.compare, name="compare"),
    path("<slug:slug>/tests/", views.record_test, name="record_test"),
    path("<slug:slug>/reviewed/", views.mark_reviewed, name="mark_reviewed"),
    path("<slug:slug>/v<int:number>/", views.version, name="version"),
    path("<slug:slug>/v<int:number>/review/", views.review, name="review"),
    path("<slug:slug>/v<int:number>/publish/", views.publish, name="publish"),
    path("<slug:slug>/v<int:number>/diagram/", views.diagram, name="diagram"),
]
