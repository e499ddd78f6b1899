"""The access matrix: every URL pattern, every persona, every method the view accepts,
against the table in tests/security/access_table.py (PRODUCT.md, "Who may see what").

A pattern the table does not know fails the matrix, and so does a method a view accepts
beyond the ones its row lists (each unlisted method must be a 405).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.security.access_table import (
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    PERSONAS,
    PROBE,
    STAFF,
    UNAUTHORIZED,
    WEBHOOK,
    Row,
    row_for,
)
from tests.security.urlconf import Pattern, World, fill, url_patterns

ALL_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _client(world: World, persona: str) -> Client:
    if persona.startswith("token_"):
        return Client(headers={"Authorization": f"Bearer {getattr(world, persona)}"})
    client = Client()
    if persona != "anonymous":
        client.force_login(getattr(world, persona))
    return client


def _request(client: Client, method: str, path: str, row: Row | None, world: World) -> Any:
    if method == "GET":
        query = row.query(world) if row and row.query else {}
        return client.get(path, query)
    if row is not None and row.body is not None:
        return client.generic(
            method, path, json.dumps(row.body(world)), content_type="application/json"
        )
    if method == "POST":
        return client.post(path, {})
    return client.generic(method, path, "")


def classify(response: Any) -> str:
    status = response.status_code
    if status >= 500:
        return f"{status} (server error)"
    if status in (301, 302, 303, 307, 308):
        location = response.get("Location", "")
        if location.startswith(("/accounts/login/?next=", "/admin/login/")):
            return LOGIN
        return OK
    if status == 401:
        return UNAUTHORIZED
    if status == 403:
        return FORBIDDEN
    if status == 404:
        return NOT_FOUND
    if status == 405:
        return "405"
    return OK


def _matches(expected: str, got: str, response: Any) -> bool:
    if expected == WEBHOOK:
        return 400 <= response.status_code < 500 and got != LOGIN
    if expected == PROBE:
        return response.status_code in (200, 503)
    if expected == STAFF:
        return response.status_code < 500 and got != LOGIN
    return expected == got


def test_every_url_pattern_has_a_row() -> None:
    missing = [p.key for p in url_patterns() if row_for(p.route, p.name) is None]
    assert not missing, (
        "URL patterns without a row in tests/security/access_table.py (add one saying who "
        f"may use them): {missing}"
    )


def test_every_row_is_a_url_pattern() -> None:
    """A row whose view was renamed or removed would check nothing."""
    from tests.security.access_table import ROWS

    keys = {p.key for p in url_patterns()}
    stale = [row.key for row in ROWS if row.key not in keys]
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"


@pytest.mark.django_db
@pytest.mark.parametrize("persona", PERSONAS)
def test_access_matrix(persona: str) -> None:
    world = World.make()
    failures: list[str] = []
    client: Client | None = None
    for pattern in url_patterns():
        row = row_for(pattern.route, pattern.name)
        if row is None:
            continue  # test_every_url_pattern_has_a_row names it
        path = fill(pattern, world, row.values(world) if row.values else None)
        if client is None or "logout" in pattern.route:
            client = _client(world, persona)  # a fresh one after a logout
        for method in row.methods:
            response = _request(client, method, path, row, world)
            got = classify(response)
            expected = row.outcome(persona, method)
            if not _matches(expected, got, response):
                failures.append(
                    f"{method} {path} ({pattern.name or pattern.route}) as {persona}: "
                    f"expected {expected}, got {got} [{response.status_code}]"
                )
        if "logout" in pattern.route:
            client = None
    assert not failures, "\n".join(failures)


def _unlisted_methods(patterns: list[Pattern]) -> dict[str, set[str]]:
    """Route -> the methods no row of that route lists (ninja serves a path's methods from
    whichever of its patterns matches first, so they are pooled per route)."""
    listed: dict[str, set[str]] = {}
    for pattern in patterns:
        row = row_for(pattern.route, pattern.name)
        if row is not None and not pattern.route.startswith("admin/"):
            listed.setdefault(pattern.route, set()).update(row.methods)
    return {route: set(ALL_METHODS) - methods for route, methods in listed.items()}


@pytest.mark.django_db
def test_views_accept_only_the_methods_their_rows_list() -> None:
    world = World.make()
    all_patterns = url_patterns()
    patterns = {p.route: p for p in all_patterns}
    failures = []
    clients: dict[str, Client] = {}
    for route, methods in _unlisted_methods(all_patterns).items():
        pattern = patterns[route]
        row = row_for(pattern.route, pattern.name)
        assert row is not None
        if set(row.expect.values()) == {NOT_FOUND}:
            continue  # a catch-all: 404 to every method
        if set(row.expect.values()) == {OK}:
            persona = "anonymous"  # public (logged in, the login page just moves you on)
        elif route.startswith("api/"):
            persona = "token_org"
        else:
            persona = "admin"
        path = fill(pattern, world, row.values(world) if row and row.values else None)
        for method in sorted(methods):
            if persona not in clients:
                clients[persona] = _client(world, persona)
            response = _request(clients[persona], method, path, None, world)
            if response.status_code != 405:
                failures.append(f"{method} {path}: {response.status_code}, expected 405")
    assert not failures, "\n".join(failures)
