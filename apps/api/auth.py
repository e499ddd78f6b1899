"""Bearer-token authentication of the API, and the scope a token acts in."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from apps.api.errors import ApiError
from apps.api.models import ApiToken, hash_token
from apps.teams.models import Team

# last_used_at is written at most this often per token, so reads stay reads.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer <token>`; the token is looked up by its SHA-256."""

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        token = token.strip()
        if not token:
            return None
        api_token = (
            ApiToken.objects.select_related("team")
            .filter(token_hash=hash_token(token), revoked_at__isnull=True)
            .first()
        )
        if api_token is None:
            return None
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at > LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=api_token.pk).filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
            ).update(last_used_at=now)
            api_token.last_used_at = now
        return api_token


def token_of(request: HttpRequest) -> ApiToken:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def require_admin(token: ApiToken, action: str) -> None:
    """403 unless the token is organization-wide."""
    if not token.is_admin:
        raise ApiError(
            403,
            f"{action} needs an organization (admin) token; this token belongs to team "
            f"'{token.team.slug if token.team else ''}'.",
            {"Authorization": ["This token is scoped to one team."]},
        )


def _no_such_team(slug: str) -> ApiError:
    # A team token gets the same answer for another team and for no team at all,
    # so it cannot learn which teams exist.
    return ApiError(404, f"No team '{slug}' for this token.", {"team": [f"No team '{slug}'."]})


def team_for_token(
    token: ApiToken, slug: str | None, *, unknown_status: int = 422, required: bool = True
) -> Team | None:
    """The team named by `slug`, as this token may act on it.

    A team token acts on its own team: omitting the team means its team, naming another
    (existing or not) is a 404. An organization token may name any team; an unknown slug is
    `unknown_status` (422 in a body, 400 in a query) naming `team`. Without a slug an
    organization token gets None (the whole organization) unless `required`.
    """
    if not token.is_admin:
        assert token.team is not None
        if slug is None or slug == token.team.slug:
            return token.team
        raise _no_such_team(slug)
    if slug is None:
        if required:
            raise ApiError(422, "Name the team.", {"team": ["This field is required."]})
        return None
    team = Team.objects.filter(slug=slug).first()
    if team is None:
        raise ApiError(unknown_status, f"No team '{slug}'.", {"team": [f"No team '{slug}'."]})
    return team
