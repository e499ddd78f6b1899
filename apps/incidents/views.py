from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.core.permissions import team_for_user
from apps.incidents.models import Incident


def incident_list(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_user(request.user, slug)
    return render(request, "incidents/list.html", {"team": team})


def incident_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_user(request.user, slug)
    return render(request, "incidents/form.html", {"team": team})


def incident_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for_user(request.user, slug)
    incident = get_object_or_404(Incident, team=team, pk=pk)
    return render(request, "incidents/detail.html", {"team": team, "incident": incident})


def incident_resolve(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    return incident_detail(request, slug, pk)
