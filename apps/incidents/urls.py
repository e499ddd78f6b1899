from __future__ import annotations

from django.urls import path

from apps.incidents import views

app_name = "incidents"

urlpatterns = [
    path("", views.incident_list, name="list"),
    path("new/", views.incident_create, name="create"),
    path("new/validate/", views.incident_validate, name="validate"),
    path("<int:pk>/", views.incident_detail, name="detail"),
    path("<int:pk>/resolve/", views.incident_resolve, name="resolve"),
    path("<int:pk>/cause/", views.incident_set_cause, name="set_cause"),
]
