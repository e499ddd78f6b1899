"""/settings/tokens/: admins issue (shown once) and revoke tokens; anyone else gets a 404."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from apps.api.models import ApiToken, hash_token
from apps.api.services import api_token_create
from tests.factories import AdminFactory, MembershipFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/settings/tokens/"


@pytest.fixture
def admin_client(client: Client) -> Client:
    client.force_login(AdminFactory())
    return client


def _secret_in(html: str) -> str | None:
    match = re.search(r'id="new-token"[^>]*value="([^"]+)"', html)
    return match.group(1) if match else None


def test_admin_sees_the_tokens(admin_client) -> None:
    team = TeamFactory(name="Payments")
    api_token_create(name="deploy job", team=team)
    revoked, _ = api_token_create(name="old job", team=None)
    revoked.revoked_at = revoked.created_at
    revoked.save()
    response = admin_client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert "deploy job" in html
    assert "Team Payments" in html
    assert "old job" in html
    assert "Revoked" in html
    assert "never" in html  # last used
    assert response["Cache-Control"].startswith("max-age=0")


def test_admin_issues_a_team_token_shown_once(admin_client, client) -> None:
    TeamFactory(slug="payments", name="Payments")
    response = admin_client.post(URL, {"name": "GitHub Actions", "scope": "payments"})
    assert response.status_code == 200
    html = response.content.decode()
    secret = _secret_in(html)
    assert secret
    assert "shown only this once" in html
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(secret)
    assert token.team.slug == "payments"
    assert token.created_by.is_staff
    # Never again: the list shows only its first letters.
    again = admin_client.get(URL).content.decode()
    assert secret not in again
    assert token.hint in again
    # And it works.
    api = Client()
    answer = api.get("/api/v1/teams", headers={"Authorization": f"Bearer {secret}"})
    assert [t["slug"] for t in answer.json()] == ["payments"]


def test_admin_issues_an_organization_token(admin_client) -> None:
    response = admin_client.post(URL, {"name": "scripts", "scope": "__organization__"})
    assert _secret_in(response.content.decode())
    assert ApiToken.objects.get().is_admin


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "scope": "__organization__"},
        {"name": "x", "scope": ""},
        {"name": "x", "scope": "no-such-team"},
    ],
)
def test_form_errors_issue_nothing(admin_client, data) -> None:
    response = admin_client.post(URL, data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "field-errors" in html
    assert _secret_in(html) is None
    assert not ApiToken.objects.exists()


def test_admin_revokes_after_confirming(admin_client) -> None:
    token, secret = api_token_create(name="deploy job", team=TeamFactory())
    confirm = admin_client.get(f"{URL}{token.pk}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke" in confirm.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is None  # GET changes nothing
    response = admin_client.post(f"{URL}{token.pk}/revoke/")
    assert response.status_code == 302
    assert response["Location"] == URL
    token.refresh_from_db()
    assert token.revoked_at is not None
    listing = admin_client.get(URL).content.decode()
    assert "no longer works" in listing
    api = Client()
    assert (
        api.get("/api/v1/teams", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    )
    # Revoking again keeps the first time.
    first = token.revoked_at
    admin_client.post(f"{URL}{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at == first


def test_revoke_unknown_token_is_404(admin_client) -> None:
    assert admin_client.post(f"{URL}999/revoke/").status_code == 404


@pytest.mark.parametrize("role", ["member", "manager"])
def test_non_admins_get_404(client, role) -> None:
    membership = MembershipFactory(role=role)
    token, _ = api_token_create(name="x", team=membership.team)
    client.force_login(membership.user)
    assert client.get(URL).status_code == 404
    assert client.post(URL, {"name": "x", "scope": membership.team.slug}).status_code == 404
    assert client.get(f"{URL}{token.pk}/revoke/").status_code == 404
    assert client.post(f"{URL}{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


def test_user_without_teams_gets_404(client) -> None:
    client.force_login(UserFactory())
    assert client.get(URL).status_code == 404


def test_anonymous_goes_to_login(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    response = client.post(URL, {"name": "x", "scope": "__organization__"})
    assert response.status_code == 302
    assert not ApiToken.objects.exists()


def test_page_has_no_inline_script(admin_client) -> None:
    html = admin_client.post(URL, {"name": "x", "scope": "__organization__"}).content.decode()
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag
