"""The JSON API under /api/. Machines authenticate with tokens, not sessions, so every
route is exempt from the login redirect (and from CSRF, which cookies would need)."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path

from apps.api.api import api


def _exempt_from_login(patterns: list[Any]) -> list[Any]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _exempt_from_login(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            pattern.callback.login_required = False
    return patterns


api_patterns, app_name_, namespace = api.urls
urlpatterns = [
    path("v1/", (_exempt_from_login(api_patterns), app_name_, namespace)),
]
