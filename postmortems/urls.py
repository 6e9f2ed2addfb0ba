from django.urls import path

from incidents import urls as _incident_urls  # noqa: F401  (registers the incident_ref converter)

from . import views

app_name = "postmortems"

urlpatterns = [
    # Fixed paths first: a reference never looks like them, but the pattern would match.
    path("items/", views.item_list, name="items"),
    path("items/<int:pk>/", views.item_detail, name="action_item"),
    path("items/<int:pk>/status/", views.item_status, name="item_status"),
    path("items/weekly/", views.weekly_review, name="weekly"),
    path("reports/metrics/", views.metrics, name="metrics"),
    path("reports/metrics.csv", views.metrics_csv, name="metrics_csv"),
    path("reports/monthly/", views.monthly, name="monthly"),
    path("reports/monthly.pdf", views.monthly_pdf, name="monthly_pdf"),
    path("", views.postmortem_list, name="list"),
    path("start/<incident_ref:reference>/", views.start, name="start"),
    path("<incident_ref:reference>/", views.detail, name="detail"),
    path("<incident_ref:reference>/edit/", views.edit, name="edit"),
    path("<incident_ref:reference>/timeline/", views.edit_timeline, name="timeline"),
    path("<incident_ref:reference>/timeline/import/", views.import_timeline, name="import"),
    path("<incident_ref:reference>/comments/", views.comment, name="comment"),
    path("<incident_ref:reference>/workflow/", views.workflow, name="workflow"),
    path("<incident_ref:reference>/waive/", views.waive, name="waive"),
    path("<incident_ref:reference>/share/", views.share, name="share"),
    path("<incident_ref:reference>/items/", views.add_item, name="add_item"),
    path("<incident_ref:reference>/revisions/<int:number>/", views.revision, name="revision"),
    path("<incident_ref:reference>/reports/", views.reports_fragment, name="reports"),
    path(
        "<incident_ref:reference>/reports/<int:report_id>/retry/",
        views.retry_report,
        name="retry_report",
    ),
    path(
        "<incident_ref:reference>/reports/<int:number>/<str:paper>.pdf",
        views.download,
        name="download",
    ),
]
