from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.api.models import ApiToken, hash_token
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_team_token_is_printed_once_and_stored_hashed(client) -> None:
    team = TeamFactory(slug="payments")
    out, err = _run("--team", "payments", "--name", "deploy pipeline")
    secret = out.strip()
    assert out.count(secret) == 1
    assert secret not in err
    token = ApiToken.objects.get()
    assert token.team == team
    assert token.name == "deploy pipeline"
    assert token.token_hash == hash_token(secret)
    assert secret not in {token.token_hash, token.hint}
    assert "shown once" in err
    response = client.get("/api/v1/teams", headers={"Authorization": f"Bearer {secret}"})
    assert [t["slug"] for t in response.json()] == ["payments"]


def test_admin_token(client) -> None:
    TeamFactory(slug="payments")
    out, _ = _run("--admin")
    token = ApiToken.objects.get()
    assert token.team is None
    assert token.is_admin
    assert token.name
    response = client.post(
        "/api/v1/teams",
        {"slug": "new", "name": "New"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {out.strip()}"},
    )
    assert response.status_code == 201


def test_unknown_team_is_a_clear_error() -> None:
    TeamFactory(slug="payments")
    with pytest.raises(CommandError, match=r"No team with slug 'nope'.*payments"):
        _run("--team", "nope")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("args", [(), ("--admin", "--team", "payments")])
def test_scope_is_required_and_exclusive(args) -> None:
    with pytest.raises(CommandError):
        _run(*args)
