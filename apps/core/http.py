"""Small helpers every page view uses: htmx fragments, redirects after a POST, and the
team a person may post for.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from apps.core.permissions import can_post_for, team_for_user
from apps.teams.models import Team


def is_fragment_request(request: HttpRequest) -> bool:
    """An htmx request that swaps part of the page (a history restore wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful POST: a full navigation for htmx, a plain redirect otherwise."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def team_for_poster(request: HttpRequest, slug: str) -> Team:
    """The team, if the user may post for it; otherwise 404 (never reveal that it exists)."""
    team = team_for_user(request.user, slug)
    if not can_post_for(request.user, team):
        raise Http404("No such team")
    return team
