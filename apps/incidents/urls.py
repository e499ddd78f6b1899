from __future__ import annotations

from django.urls import path

from apps.core.lists import record_paths
from apps.incidents import views

app_name = "incidents"

urlpatterns = [
    *record_paths(views.incident_list, views.incident_create, views.incident_detail),
    path("export.csv", views.incident_export, name="export"),
    path("new/validate/", views.incident_validate, name="validate"),
    path("<int:pk>/resolve/", views.incident_resolve, name="resolve"),
    path("<int:pk>/cause/", views.incident_set_cause, name="set_cause"),
]
