"""Pages of the API app: the admins' token settings, mounted at /settings/tokens/."""

from __future__ import annotations

from django.urls import path

from apps.dashboard.views import tokens as views

app_name = "api_tokens"

urlpatterns = [
    path("", views.token_list, name="list"),
    path("<int:pk>/revoke/", views.token_revoke, name="revoke"),
]
