from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from incidents import views as incident_views
from incidents.intake import views as intake_views
from incidents.statuspage import views as status_views

from . import health, views

urlpatterns = [
    path("", incident_views.dashboard, name="dashboard"),
    path("healthz", health.healthz, name="healthz"),
    path(
        "accounts/login/",
        login_not_required(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", views.profile, name="profile"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read"),
    path("notifications/health/", views.notification_health, name="notification_health"),
    path("admin/", admin.site.urls),
    path("incidents/", include("incidents.urls")),
    path("postmortems/", include("postmortems.urls")),
    path("runbooks/", include("runbooks.urls")),
    path("oncall/", include("portal.oncall.urls")),
    path("status/", include("incidents.statuspage.urls")),
    # Public, at the site root where Statuspage clients and feed readers expect them.
    path("history.atom", status_views.public, name="status_atom"),
    path("history.rss", status_views.public, name="status_rss"),
    path("api/v2/<path:endpoint>", status_views.public, name="status_api"),
    # Alert intake: monitoring posts here, authenticated by the secret in the URL.
    path("integrations/<str:token>/", intake_views.receive, name="integration_receive"),
]
