"""Writes of the API app: issuing and revoking tokens."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.api.models import ApiToken, hash_token
from apps.teams.models import Team


@transaction.atomic
def api_token_create(
    *, name: str, team: Team | None, created_by: Any = None
) -> tuple[ApiToken, str]:
    """Issue a token; return it with its secret, which is not stored and never shown again.

    `team=None` makes an organization-wide (admin) token.
    """
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["Give the token a name (what will use it)."]})
    if len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        raise ValidationError({"name": ["Keep the name under 120 characters."]})
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        name=name,
        team=team,
        token_hash=hash_token(raw),
        hint=raw[:10],
        created_by=created_by if created_by is not None and created_by.is_authenticated else None,
    )
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token for good (idempotent: revoking twice keeps the first time)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db(fields=["revoked_at"])
    return token
