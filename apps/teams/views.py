from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.core.permissions import team_for_user, visible_teams


def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "teams/overview.html", {"teams": visible_teams(request.user)})


def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_user(request.user, slug)
    return render(request, "teams/detail.html", {"team": team})
