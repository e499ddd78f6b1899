from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from apps.core import auth_views
from apps.core import views as core_views
from apps.core.forms import AdminLoginForm
from apps.dashboard.views import team as team_views
from apps.imports import views as import_views
from apps.webhooks import views as webhook_views

# The admin's own login form is a second way to guess passwords: the same rate limit
# (django-axes' lockout covers both already, through the authentication backend).
admin.site.login = auth_views.limit_login(admin.site.login)  # type: ignore[method-assign,assignment]
admin.site.login_form = AdminLoginForm  # refuses a username longer than any user's

urlpatterns = [
    path("", include("apps.dashboard.urls")),
    path("teams/<slug:slug>/incidents/", include("apps.incidents.urls")),
    path("teams/<slug:slug>/releases/", include("apps.releases.urls")),
    path("teams/<slug:slug>/imports/", include("apps.imports.urls")),
    path("teams/<slug:slug>/metrics.csv", import_views.metrics_export, name="metrics_export"),
    path("teams/<slug:slug>/focus/", include("apps.dashboard.focus_urls")),
    path("teams/<slug:slug>/freshness/", team_views.team_freshness, name="team_freshness"),
    path("outcomes/", include("apps.dashboard.outcome_urls")),
    path("api/", include("apps.api.urls")),
    path("settings/tokens/", include("apps.dashboard.token_urls")),
    path("settings/webhooks/", include("apps.dashboard.webhook_urls")),
    path("webhooks/<slug:public_id>/", webhook_views.receive, name="webhook_receive"),
    path("health/", core_views.health, name="health"),
    path("health/live", core_views.health_live, name="health_live"),
    path("health/ready", core_views.health_ready, name="health_ready"),
    path("me/", core_views.me, name="me"),
    path("accounts/login/", auth_views.login, name="login"),
    path("accounts/logout/", auth_views.logout, name="logout"),
    path("admin/", admin.site.urls),
]

handler404 = "apps.core.views.page_not_found"
handler500 = "apps.core.views.server_error"
