"""CSRF: every unsafe method of the web UI (htmx requests included) needs the token; only
the API and webhooks, which authenticate by token or signature, are exempt."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client

from tests.security.urlconf import World, fill, url_patterns

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Routes that authenticate by a bearer token or a signature, never by a cookie.
EXEMPT_PREFIXES = ("api/", "webhooks/")
HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/"}


def _web_ui() -> list:  # type: ignore[type-arg]
    return [p for p in url_patterns() if not p.route.startswith(EXEMPT_PREFIXES)]


def test_csrf_middleware_is_on() -> None:
    assert "django.middleware.csrf.CsrfViewMiddleware" in settings.MIDDLEWARE


def test_only_api_and_webhook_views_are_csrf_exempt() -> None:
    exempt = [p.key for p in url_patterns() if getattr(p.callback, "csrf_exempt", False)]
    assert exempt, "the API's views are exempt: the walk should find them"
    stray = [key for key in exempt if not key[0].startswith(EXEMPT_PREFIXES)]
    assert not stray, f"csrf_exempt outside the API and webhooks: {stray}"


@pytest.mark.django_db
def test_every_unsafe_method_of_the_web_ui_needs_the_token() -> None:
    world = World.make()
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.admin)  # past every permission check: only CSRF can refuse
    failures = []
    patterns = _web_ui()
    assert any(p.name == "incidents:create" for p in patterns)
    for pattern in patterns:
        values = {"pk": world.objects["incident"].pk}
        path = fill(pattern, world, values)
        for method in UNSAFE:
            for headers in ({}, HTMX):
                response = client.generic(method, path, "", headers=headers)
                if response.status_code != 403 or b"CSRF" not in response.content:
                    failures.append(
                        f"{method} {path}{' (htmx)' if headers else ''}: "
                        f"{response.status_code}, expected a CSRF 403"
                    )
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_the_login_form_needs_the_token_too() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_with_the_token_an_htmx_post_goes_through() -> None:
    """The control: the 403s above are CSRF's, not the views' (htmx sends the token in the
    X-CSRFToken header that the page's hx-headers set)."""
    world = World.make()
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.member_a)
    page = client.get(f"/teams/{world.team_a.slug}/incidents/new/").content.decode()
    token = re.search(r'"X-CSRFToken": "([^"]+)"', page)
    assert token, "pages give htmx the CSRF token"
    response = client.post(
        f"/teams/{world.team_a.slug}/incidents/new/validate/",
        {"title": ""},
        headers={**HTMX, "X-CSRFToken": token.group(1)},
    )
    assert response.status_code != 403
