"""The JSON API under /api/. Machines authenticate with tokens, not sessions, so every
route is exempt from the login redirect (and from CSRF, which cookies would need), and
every route is rate limited per token (RATE_LIMIT_API; per address without a token)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path, re_path

from apps.api.api import api
from apps.core.ratelimit import client_ip, rate_limit


def _caller(request: HttpRequest, *args: Any, **kwargs: Any) -> str:
    """Requests with the same credentials count together (hashed before it is a cache key)."""
    credentials = request.headers.get("Authorization", "").strip()
    return f"auth:{credentials}" if credentials else f"addr:{client_ip(request) or 'unknown'}"


_limited = rate_limit("api", setting="RATE_LIMIT_API", key=_caller)


def _json_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer django-ninja's plain-text 405 in the API's JSON error shape."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if response.status_code == 405 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            allowed = response.get("Allow", "")
            answer = JsonResponse(
                {
                    "detail": f"Method {request.method} is not allowed here.",
                    "errors": {"method": [f"Use one of: {allowed}."]},
                },
                status=405,
            )
            answer["Allow"] = allowed
            return answer
        return response

    return wrapped


def _one_unit(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A write and its answer are one unit: a request that answers 5xx has written nothing.

    django-ninja turns an exception into its answer inside the view, so the view runs in a
    transaction that is rolled back whenever the answer is a server error (the row stored,
    then the answer failing to be built from it, would otherwise stay).
    """

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return view(request, *args, **kwargs)
        with transaction.atomic():
            response = view(request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)
        return response

    return wrapped


def _public(patterns: list[Any]) -> list[Any]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _public(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            pattern.callback = login_not_required(
                _limited(_json_errors(_one_unit(pattern.callback)))
            )
    return patterns


@login_not_required
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    body = {"detail": f"No API endpoint at {request.path}.", "errors": {}}
    return HttpResponse(json.dumps(body), status=404, content_type="application/json")


api_patterns, app_name_, namespace = api.urls
urlpatterns = [
    path("v1/", (_public(api_patterns), app_name_, namespace)),
    re_path(r"^(?P<rest>.*)$", not_found),
]
