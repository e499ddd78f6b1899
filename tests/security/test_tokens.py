"""API tokens: stored hashed, never logged, never exported, dead on the request after they
are revoked."""

from __future__ import annotations

import io
import logging
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from apps.api.models import ApiToken, hash_token
from apps.api.services import api_token_create
from tests.factories import AdminFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(AdminFactory())
    return client


@pytest.fixture
def everything_logged(caplog: Any) -> Any:
    """Every logger at DEBUG, SQL included: what a verbose production log would hold."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")
    connection.force_debug_cursor = True
    try:
        yield caplog
    finally:
        connection.force_debug_cursor = False


def _issue(admin_client: Client, scope: str = "payments") -> str:
    html = admin_client.post("/settings/tokens/", {"name": "deploy", "scope": scope}).content
    match = re.search(r'id="new-token"[^>]*value="([^"]+)"', html.decode())
    assert match, "the new token is shown once"
    return match.group(1)


def test_only_the_hash_is_stored() -> None:
    token, secret = api_token_create(name="ci", team=TeamFactory())
    token.refresh_from_db()
    assert token.token_hash == hash_token(secret)
    stored = [str(getattr(token, f.attname)) for f in ApiToken._meta.concrete_fields]
    assert not any(secret in value for value in stored)
    assert token.hint == secret[:10]  # the prefix and six letters, to tell tokens apart


def test_issuing_and_using_a_token_logs_no_token(
    admin_client: Client, everything_logged: Any, capfd: Any
) -> None:
    TeamFactory(slug="payments")
    secret = _issue(admin_client)
    ok = Client().get("/api/v1/teams", headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200
    wrong = Client().get("/api/v1/teams", headers={"Authorization": f"Bearer {secret}x"})
    assert wrong.status_code == 401

    out, err = capfd.readouterr()
    logged = everything_logged.text + out + err
    assert "SELECT" in everything_logged.text  # the SQL log was on
    assert secret not in logged
    assert secret[10:] not in logged  # nor the part the hint does not show


def test_the_management_command_prints_the_token_once_and_logs_nothing(
    everything_logged: Any,
) -> None:
    TeamFactory(slug="payments")
    out = io.StringIO()
    call_command("create_api_token", "--team", "payments", "--name", "ci", stdout=out)
    secret = re.search(r"exd_[A-Za-z0-9_-]+", out.getvalue())
    assert secret
    assert secret.group(0) not in everything_logged.text


def test_tokens_are_not_in_a_database_dump(admin_client: Client) -> None:
    TeamFactory(slug="payments")
    secret = _issue(admin_client)
    dump = io.StringIO()
    call_command("dumpdata", "api", stdout=dump)
    assert '"model": "api.apitoken"' in dump.getvalue()
    assert secret not in dump.getvalue()


def test_the_admin_shows_neither_the_token_nor_its_hash(admin_client: Client) -> None:
    TeamFactory(slug="payments")
    secret = _issue(admin_client)
    token = ApiToken.objects.get()
    for url in ("/admin/api/apitoken/", f"/admin/api/apitoken/{token.pk}/change/"):
        html = admin_client.get(url).content.decode()
        assert token.name in html
        assert secret not in html
        assert token.token_hash not in html


def test_a_revoked_token_fails_on_the_very_next_request(admin_client: Client) -> None:
    TeamFactory(slug="payments")
    secret = _issue(admin_client)
    machine = Client()
    auth = {"Authorization": f"Bearer {secret}"}
    assert machine.get("/api/v1/teams", headers=auth).status_code == 200
    token = ApiToken.objects.get()
    assert admin_client.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 302
    response = machine.get("/api/v1/teams", headers=auth)
    assert response.status_code == 401
    assert (
        machine.post(
            "/api/v1/incidents",
            {"title": "x", "started_at": "2026-01-01T00:00:00Z"},
            content_type="application/json",
            headers=auth,
        ).status_code
        == 401
    )


def test_a_token_revoked_in_the_admin_fails_on_the_next_request(admin_client: Client) -> None:
    TeamFactory(slug="payments")
    secret = _issue(admin_client)
    auth = {"Authorization": f"Bearer {secret}"}
    assert Client().get("/api/v1/teams", headers=auth).status_code == 200
    token = ApiToken.objects.get()
    admin_client.post("/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert Client().get("/api/v1/teams", headers=auth).status_code == 401
