"""Token authentication and scope: 401 without a valid token, a team token sees its team."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.api.models import ApiToken, hash_token
from apps.api.services import api_token_create, api_token_revoke
from apps.incidents.models import Incident
from apps.releases.models import Release
from tests.api.conftest import assert_error
from tests.factories import IncidentFactory, ReleaseFactory

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("get", "/teams"),
    ("get", "/incidents"),
    ("get", "/releases"),
    ("get", "/metrics"),
    ("post", "/teams"),
    ("post", "/incidents"),
    ("post", "/releases"),
]


def _ago(**kwargs: float) -> str:
    return (timezone.now() - dt.timedelta(**kwargs)).isoformat()


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_missing_token_is_401_json(make_api, team, method, path) -> None:
    response = getattr(make_api(None), method)(path, *([{}] if method == "post" else []))
    body = assert_error(response, 401, "Authorization")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "Bearer" in body["detail"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_wrong_token_is_401(make_api, team, method, path) -> None:
    response = getattr(make_api("exd_not-a-real-token"), method)(
        path, *([{}] if method == "post" else [])
    )
    assert_error(response, 401, "Authorization")


def test_other_scheme_is_401(client, team) -> None:
    _, secret = api_token_create(name="ci", team=team)
    response = client.get("/api/v1/teams", headers={"Authorization": f"Token {secret}"})
    assert_error(response, 401)


def test_revoked_token_is_401(make_api, team) -> None:
    token, secret = api_token_create(name="ci", team=team)
    api = make_api(secret)
    assert api.get("/teams").status_code == 200
    api_token_revoke(token=token)
    assert_error(api.get("/teams"), 401, "Authorization")


def test_token_is_stored_hashed_and_use_is_recorded(make_api, team) -> None:
    token, secret = api_token_create(name="ci", team=team)
    assert token.token_hash == hash_token(secret)
    assert secret not in {token.token_hash, token.name}
    assert secret.startswith(token.hint)
    assert token.last_used_at is None
    assert make_api(secret).get("/teams").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None
    first_use = token.last_used_at
    # A second request within the minute does not write again.
    assert make_api(secret).get("/teams").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first_use


def test_authentication_is_one_lookup_and_at_most_one_write(
    make_api, team, django_assert_max_num_queries
) -> None:
    _, secret = api_token_create(name="ci", team=team)
    api = make_api(secret)
    with django_assert_max_num_queries(2):  # the token (with its team) + last_used_at
        assert api.get("/teams").status_code == 200
    with django_assert_max_num_queries(1):
        assert api.get("/teams").status_code == 200


def test_session_login_does_not_authenticate_the_api(client, team) -> None:
    from tests.factories import AdminFactory

    client.force_login(AdminFactory())
    assert_error(client.get("/api/v1/teams"), 401)


def test_api_is_not_redirected_to_the_login_page(client, team) -> None:
    response = client.get("/api/v1/incidents")
    assert response.status_code == 401  # not a 302 to /accounts/login/


# --- scope -----------------------------------------------------------------------------


def test_team_token_lists_only_its_team(team_api, other_team) -> None:
    response = team_api.get("/teams")
    assert response.status_code == 200
    assert [t["slug"] for t in response.json()] == ["payments"]


def test_admin_token_lists_every_team(admin_api, team, other_team) -> None:
    response = admin_api.get("/teams")
    assert [t["slug"] for t in response.json()] == ["payments", "search"]


def test_team_token_cannot_read_another_team(team_api, team, other_team) -> None:
    IncidentFactory(team=other_team)
    ReleaseFactory(team=other_team)
    for path in ("/incidents", "/releases", "/metrics"):
        assert_error(team_api.get(path, team="search"), 404, "team")
    # An unknown team looks the same as another team's.
    for path in ("/incidents", "/releases", "/metrics"):
        assert_error(team_api.get(path, team="no-such-team"), 404, "team")


def test_team_token_without_team_reads_its_own(team_api, team, other_team) -> None:
    mine = IncidentFactory(team=team)
    IncidentFactory(team=other_team)
    response = team_api.get("/incidents")
    assert [i["id"] for i in response.json()["items"]] == [mine.id]
    ReleaseFactory(team=other_team)
    assert team_api.get("/releases").json()["count"] == 0


def test_team_token_cannot_write_another_team(team_api, team, other_team) -> None:
    release = {
        "team": "search",
        "service": "api",
        "version": "1",
        "deployed_at": _ago(hours=1),
    }
    assert_error(team_api.post("/releases", release), 404, "team")
    incident = {"team": "search", "title": "Down", "started_at": _ago(hours=1)}
    assert_error(team_api.post("/incidents", incident), 404, "team")
    assert not Release.objects.exists()
    assert not Incident.objects.exists()


def test_team_token_cannot_link_another_teams_rows(team_api, team, other_team) -> None:
    theirs = ReleaseFactory(team=other_team, external_id="r-9", source="api")
    incident = {"title": "Down", "started_at": _ago(hours=1), "caused_by_release": "r-9"}
    assert_error(team_api.post("/incidents", incident), 422, "caused_by_release")
    incident["caused_by_release"] = theirs.id
    assert_error(team_api.post("/incidents", incident), 422, "caused_by_release")
    assert not Incident.objects.exists()


def test_team_token_may_not_create_teams(team_api) -> None:
    body = assert_error(
        team_api.post("/teams", {"slug": "new", "name": "New"}), 403, "Authorization"
    )
    assert "organization" in body["detail"]


def test_admin_token_acts_on_any_team(admin_api, team, other_team) -> None:
    IncidentFactory(team=other_team)
    assert admin_api.get("/incidents", team="search").json()["count"] == 1
    assert admin_api.get("/incidents").json()["count"] == 1
    response = admin_api.post(
        "/incidents", {"team": "payments", "title": "Down", "started_at": _ago(hours=1)}
    )
    assert response.status_code == 201
    assert response.json()["team"] == "payments"


def test_admin_token_must_name_the_team_it_writes_for(admin_api, team) -> None:
    response = admin_api.post("/incidents", {"title": "Down", "started_at": _ago(hours=1)})
    assert_error(response, 422, "team")


def test_admin_token_unknown_team(admin_api, team) -> None:
    response = admin_api.post(
        "/incidents", {"team": "nope", "title": "Down", "started_at": _ago(hours=1)}
    )
    assert_error(response, 422, "team")
    assert_error(admin_api.get("/incidents", team="nope"), 400, "team")
    assert_error(admin_api.get("/metrics", team="nope"), 400, "team")


def test_a_deleted_teams_token_stops_working(make_api, team) -> None:
    _, secret = api_token_create(name="ci", team=team)
    team.delete()
    assert not ApiToken.objects.exists()
    assert_error(make_api(secret).get("/teams"), 401)
