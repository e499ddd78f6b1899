from __future__ import annotations

from django.urls import path

from apps.releases import views

app_name = "releases"

urlpatterns = [
    path("", views.release_list, name="list"),
    path("new/", views.release_create, name="create"),
    path("<int:pk>/", views.release_detail, name="detail"),
    path("<int:pk>/status/", views.release_status, name="status"),
    path("<int:pk>/link-incident/", views.release_link_incident, name="link_incident"),
]
