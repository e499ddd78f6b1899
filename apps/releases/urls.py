from __future__ import annotations

from django.urls import path

from apps.core.lists import record_paths
from apps.releases import views

app_name = "releases"

urlpatterns = [
    *record_paths(views.release_list, views.release_create, views.release_detail),
    path("export.csv", views.release_export, name="export"),
    path("<int:pk>/status/", views.release_status, name="status"),
    path("<int:pk>/link-incident/", views.release_link_incident, name="link_incident"),
]
