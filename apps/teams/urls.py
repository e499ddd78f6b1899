from __future__ import annotations

from django.urls import path

from apps.teams import views

app_name = "teams"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("definitions/", views.definitions, name="definitions"),
    path("teams/<slug:slug>/", views.team_detail, name="detail"),
]
