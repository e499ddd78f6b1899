from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.core.permissions import team_for_user
from apps.releases.models import Release


def release_list(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_user(request.user, slug)
    return render(request, "releases/list.html", {"team": team})


def release_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_user(request.user, slug)
    return render(request, "releases/form.html", {"team": team})


def release_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for_user(request.user, slug)
    release = get_object_or_404(Release, team=team, pk=pk)
    return render(request, "releases/detail.html", {"team": team, "release": release})
