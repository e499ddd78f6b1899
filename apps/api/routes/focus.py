from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Status

from apps.api.auth import require_admin, team_for_token, token_of
from apps.api.errors import ApiError, Conflict
from apps.api.routes.common import READ_ERRORS, UNAVAILABLE, answers, paged
from apps.api.schemas import (
    Error,
    EvaluatedPeriod,
    FocusPeriodIn,
    FocusPeriodOut,
    FocusPeriodPage,
    PageQuery,
    TeamSlug,
    team_filter,
)
from apps.focus.evaluations import focus_evaluations_of
from apps.focus.models import FocusKind, FocusPeriod
from apps.focus.services import FocusOverlapError, focus_period_create

router = Router(tags=["focus periods"])


class FocusQuery(PageQuery):
    team: TeamSlug | None = team_filter(
        "a team token gets its team's periods, an organization token every team's."
    )


def _periods() -> QuerySet[FocusPeriod]:
    return FocusPeriod.objects.select_related("team", "kind", "aligned_by")


def evaluated(periods: Sequence[FocusPeriod]) -> list[EvaluatedPeriod]:
    """The periods with their stored evaluations (apps.focus.evaluations); those not
    stored yet, or stale, are computed together (`focus_evaluate_many`: one page of periods
    at most, sharing their windows' queries) and stored for the next read."""
    evaluations = focus_evaluations_of(periods)
    return [EvaluatedPeriod(period, evaluations[period.pk]) for period in periods]


@router.get(
    "/focus-periods",
    **answers({200: FocusPeriodPage, **READ_ERRORS}),
    summary="Focus periods with their status and whether the focus worked",
)
def list_focus_periods(request: HttpRequest, query: Query[FocusQuery]) -> dict[str, Any]:
    """Each period with its "did it work" evaluation (METRICS.md): the metrics of its kind
    during the period against the equally long window just before it. By team, newest
    first, a page at a time (`limit`, `offset`); only the page's periods are evaluated."""
    team = team_for_token(token_of(request), query.team, unknown_status=400, required=False)
    qs = _periods()
    if team is not None:
        qs = qs.filter(team=team)
    page = paged(
        qs.order_by("team__name", "-starts_on", "-id"), limit=query.limit, offset=query.offset
    )
    page["items"] = evaluated(page["items"])
    return page


@router.post(
    "/focus-periods",
    **answers(
        {
            201: FocusPeriodOut,
            400: Error,
            401: Error,
            403: Error,
            409: Error,
            422: Error,
            **UNAVAILABLE,
        }
    ),
    summary="Declare a focus period (organization token)",
)
def create_focus_period(request: HttpRequest, payload: FocusPeriodIn) -> Status[EvaluatedPeriod]:
    """201 with the period (status `proposed`). A period overlapping another of the same
    team is a 409 naming the one it overlaps."""
    token = token_of(request)
    require_admin(token, "Declaring a focus period")
    team = team_for_token(token, payload.team)
    assert team is not None
    kind = FocusKind.objects.filter(slug=payload.kind).first()
    if kind is None:
        known = ", ".join(FocusKind.objects.order_by("slug").values_list("slug", flat=True))
        raise ApiError(
            422,
            f"Unknown focus kind '{payload.kind}'.",
            {"kind": [f"Unknown kind '{payload.kind}'; one of: {known}."]},
        )
    try:
        period = focus_period_create(
            team=team, kind=kind, **payload.model_dump(exclude={"team", "kind"})
        )
    except FocusOverlapError as exc:
        raise Conflict(exc.message_dict) from exc
    return Status(201, evaluated([_periods().get(pk=period.pk)])[0])
