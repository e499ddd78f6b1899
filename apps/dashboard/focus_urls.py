"""A team's focus pages, under /teams/<slug>/focus/."""

from __future__ import annotations

from django.urls import path

from apps.dashboard.views import focus as views

app_name = "focus"

urlpatterns = [
    path("", views.focus_team, name="team"),
    path("propose/", views.focus_propose, name="propose"),
    path("<int:pk>/", views.focus_period_detail, name="period"),
    path("<int:pk>/edit/", views.focus_edit, name="edit"),
    path("<int:pk>/align/", views.focus_period_align, name="align"),
    path("<int:pk>/revisit/", views.focus_revisit, name="revisit"),
]
