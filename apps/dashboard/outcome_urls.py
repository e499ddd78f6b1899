from __future__ import annotations

from django.urls import path

from apps.dashboard.views import outcomes as views

app_name = "outcomes"

urlpatterns = [
    path("", views.outcomes_overview, name="overview"),
    path("new/", views.outcome_new, name="create"),
    path("<int:pk>/", views.outcome_detail, name="detail"),
    path("<int:pk>/edit/", views.outcome_edit, name="edit"),
    path("<int:pk>/measurements/", views.outcome_measurement_add, name="measurement"),
    path("<int:pk>/paste/", views.outcome_paste, name="paste"),
]
