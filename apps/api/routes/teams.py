from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from apps.api.auth import require_admin, token_of
from apps.api.errors import Conflict
from apps.api.routes.common import UNAVAILABLE, answers
from apps.api.schemas import Error, TeamIn, TeamOut
from apps.teams.models import Team
from apps.teams.services import TeamExists, team_create

router = Router(tags=["teams"])


@router.post(
    "/teams",
    **answers(
        {201: TeamOut, 400: Error, 401: Error, 403: Error, 409: Error, 422: Error, **UNAVAILABLE}
    ),
    summary="Create a team (organization token)",
)
def create_team(request: HttpRequest, payload: TeamIn) -> Status[Team]:
    """201 with the team. The same slug (or name) again is a 409."""
    require_admin(token_of(request), "Creating a team")
    try:
        team = team_create(slug=payload.slug, name=payload.name, description=payload.description)
    except TeamExists as exc:
        raise Conflict(exc.message_dict) from exc
    return Status(201, team)


@router.get(
    "/teams",
    **answers({200: list[TeamOut], 401: Error, **UNAVAILABLE}),
    summary="Teams of this token",
)
def list_teams(request: HttpRequest) -> list[Team]:
    """Every team for an organization token; its own team for a team token."""
    token = token_of(request)
    if token.is_admin:
        return list(Team.objects.order_by("name"))
    return [token.team]  # type: ignore[list-item]
