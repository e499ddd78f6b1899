"""The webhook settings pages, mounted at /settings/webhooks/."""

from __future__ import annotations

from django.urls import path

from apps.dashboard.views import webhooks as views

app_name = "webhooks"

urlpatterns = [
    path("", views.webhook_list, name="list"),
    path("new/", views.webhook_new, name="create"),
    path("<int:pk>/", views.webhook_detail, name="detail"),
    path("<int:pk>/secret/", views.webhook_secret, name="secret"),
    path("<int:pk>/toggle/", views.webhook_toggle, name="toggle"),
    path("<int:pk>/delete/", views.webhook_remove, name="delete"),
]
