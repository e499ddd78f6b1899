from __future__ import annotations

from django.urls import path

from apps.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("<int:pk>/", views.import_detail, name="detail"),
    path("<int:pk>/start/", views.import_start, name="start"),
    path("<int:pk>/rerun/", views.import_rerun, name="rerun"),
    path("<int:pk>/refused.csv", views.import_refused_csv, name="refused"),
]
