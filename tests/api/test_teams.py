from __future__ import annotations

import pytest

from apps.teams.models import Team
from tests.api.conftest import assert_error

pytestmark = pytest.mark.django_db


def test_admin_creates_a_team(admin_api) -> None:
    response = admin_api.post("/teams", {"slug": "mobile", "name": "Mobile"})
    assert response.status_code == 201
    body = response.json()
    team = Team.objects.get(slug="mobile")
    assert body["id"] == team.id
    assert (body["slug"], body["name"], body["description"]) == ("mobile", "Mobile", "")
    assert "mobile" in [t["slug"] for t in admin_api.get("/teams").json()]


def test_same_slug_again_is_409(admin_api) -> None:
    admin_api.post("/teams", {"slug": "mobile", "name": "Mobile"})
    body = assert_error(admin_api.post("/teams", {"slug": "mobile", "name": "Apps"}), 409, "slug")
    assert "mobile" in body["errors"]["slug"][0]
    assert Team.objects.count() == 1


def test_same_name_again_is_409(admin_api) -> None:
    admin_api.post("/teams", {"slug": "mobile", "name": "Mobile"})
    assert_error(admin_api.post("/teams", {"slug": "apps", "name": "Mobile"}), 409, "name")


@pytest.mark.parametrize(
    "body",
    [
        {"slug": "has space", "name": "X"},
        {"slug": "", "name": "X"},
        {"slug": "x" * 61, "name": "X"},
        {"name": "X"},
    ],
)
def test_bad_slug_is_422(admin_api, body) -> None:
    assert_error(admin_api.post("/teams", body), 422, "slug")
    assert not Team.objects.exists()


def test_missing_name_is_422(admin_api) -> None:
    assert_error(admin_api.post("/teams", {"slug": "ok"}), 422, "name")


def test_team_token_gets_403_and_nothing_is_created(team_api) -> None:
    assert_error(team_api.post("/teams", {"slug": "mobile", "name": "Mobile"}), 403)
    assert not Team.objects.filter(slug="mobile").exists()
