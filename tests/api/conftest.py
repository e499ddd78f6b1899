from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from apps.api.services import api_token_create
from apps.teams.models import Team
from tests.factories import TeamFactory


class Api:
    """A test client speaking JSON with a bearer token."""

    def __init__(self, client: Client, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(f"/api/v1{path}", params, headers=self._headers())

    def post(self, path: str, body: Any = None, *, raw: str | bytes | None = None) -> Any:
        data = raw if raw is not None else json.dumps(body)
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self._headers()
        )


@pytest.fixture
def team(db: None) -> Team:
    return TeamFactory(slug="payments", name="Payments")


@pytest.fixture
def other_team(db: None) -> Team:
    return TeamFactory(slug="search", name="Search")


@pytest.fixture
def make_api(client: Client) -> Callable[[str | None], Api]:
    return lambda token: Api(client, token)


@pytest.fixture
def team_api(team: Team, make_api: Callable[[str | None], Api]) -> Api:
    _, secret = api_token_create(name="ci", team=team)
    return make_api(secret)


@pytest.fixture
def other_api(other_team: Team, make_api: Callable[[str | None], Api]) -> Api:
    _, secret = api_token_create(name="ci", team=other_team)
    return make_api(secret)


@pytest.fixture
def admin_api(db: None, make_api: Callable[[str | None], Api]) -> Api:
    _, secret = api_token_create(name="org", team=None)
    return make_api(secret)


def assert_error(response: Any, status: int, *fields: str) -> dict[str, Any]:
    """The response is a JSON error of `status` naming every one of `fields`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    for field in fields:
        assert field in body["errors"], body
        assert all(isinstance(m, str) and m for m in body["errors"][field])
    return body
