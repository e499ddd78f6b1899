from __future__ import annotations

from django.urls import path

from apps.dashboard.views import pages as views

app_name = "teams"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("definitions/", views.definitions, name="definitions"),
    path("teams/<slug:slug>/", views.team_detail, name="detail"),
]
