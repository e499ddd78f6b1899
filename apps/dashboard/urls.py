from __future__ import annotations

from django.urls import path

from apps.dashboard.views.definitions import definitions
from apps.dashboard.views.overview import overview
from apps.dashboard.views.team import team_detail

# The namespace keeps its name ("teams:overview", "teams:detail"): the URLs are the same.
app_name = "teams"

urlpatterns = [
    path("", overview, name="overview"),
    path("definitions/", definitions, name="definitions"),
    path("teams/<slug:slug>/", team_detail, name="detail"),
]
