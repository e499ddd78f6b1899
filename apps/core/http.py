"""Small helpers every page view uses: htmx fragments and redirects after a POST."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect


def is_fragment_request(request: HttpRequest) -> bool:
    """An htmx request that swaps part of the page (a history restore wants the whole page)."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str,
    status: int = 200,
) -> HttpResponse:
    """The whole page, or only its inline `partial` when htmx swaps that part of it."""
    name = f"{template}#{partial}" if is_fragment_request(request) else template
    return render(request, name, context, status=status)


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """After a successful POST: a full navigation for htmx, a plain redirect otherwise."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)
