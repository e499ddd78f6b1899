from __future__ import annotations

from django.db.models import F, Prefetch, Q, QuerySet
from django.http import HttpRequest
from ninja import Path, Query, Router, Schema, Status

from apps.api.auth import require_admin, team_for_token, token_of
from apps.api.errors import ApiError
from apps.api.models import ApiToken
from apps.api.routes.common import READ_ERRORS, WRITE_ERRORS, answers
from apps.api.schemas import (
    Error,
    MeasurementIn,
    MeasurementOut,
    OutcomeIn,
    OutcomeOut,
    PathId,
    TeamSlug,
    team_filter,
)
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.outcomes.services import outcome_create, outcome_measurement_record

router = Router(tags=["outcomes"])


class OutcomeQuery(Schema):
    team: TeamSlug | None = team_filter(
        "a team token gets its team's outcomes, an organization token every outcome (the "
        "organization's and every team's)."
    )


def _with_measurements(qs: QuerySet[Outcome]) -> QuerySet[Outcome]:
    return qs.select_related("team").prefetch_related(
        Prefetch("measurements", queryset=OutcomeMeasurement.objects.order_by("measured_on"))
    )


@router.post(
    "/outcomes",
    **answers({201: OutcomeOut, 403: Error, **WRITE_ERRORS}),
    summary="Create an outcome (a KPI the team exists to move)",
)
def create_outcome(request: HttpRequest, payload: OutcomeIn) -> Status[Outcome]:
    """201 with the outcome. Without `team` it belongs to the whole organization, which
    needs an organization token. A team outcome may ladder up to an organization-wide one
    (`parent`, its id); anything else there is a 422 naming `parent`."""
    token = token_of(request)
    if payload.team is None:
        require_admin(token, "An organization-wide outcome")
        team = None
    else:
        team = team_for_token(token, payload.team)
    parent = None if payload.parent is None else _parent(token, payload.parent)
    outcome = outcome_create(
        team=team, parent=parent, **payload.model_dump(exclude={"team", "parent"})
    )
    return Status(201, _with_measurements(Outcome.objects.all()).get(pk=outcome.pk))


def _parent(token: ApiToken, outcome_id: int) -> Outcome:
    """The outcome named as `parent`, among those the token may see (the organization's,
    and its own team's); whether it may be one is the outcome services' rule."""
    visible = Outcome.objects.all()
    if not token.is_admin:
        visible = visible.filter(Q(team__isnull=True) | Q(team_id=token.team_id))
    parent = visible.filter(pk=outcome_id).first()
    if parent is None:
        raise ApiError(
            422,
            f"No outcome {outcome_id} for this token.",
            {"parent": [f"No outcome {outcome_id}."]},
        )
    return parent


@router.post(
    "/outcomes/{outcome_id}/measurements",
    **answers({200: MeasurementOut, 201: MeasurementOut, **WRITE_ERRORS}),
    summary="Record an outcome's value on a day (the same day again updates it)",
)
def record_measurement(
    request: HttpRequest, outcome_id: Path[PathId], payload: MeasurementIn
) -> Status[OutcomeMeasurement]:
    """201 with a new measurement; 200 when that day already had one (it is updated)."""
    token = token_of(request)
    outcome = Outcome.objects.select_related("team").filter(pk=outcome_id).first()
    if outcome is None or not (token.is_admin or outcome.team_id == token.team_id):
        raise ApiError(
            404,
            f"No outcome {outcome_id} for this token.",
            {"outcome_id": [f"No outcome {outcome_id}."]},
        )
    measurement, created = outcome_measurement_record(
        outcome=outcome, measured_on=payload.measured_on, value=payload.value
    )
    measurement.outcome = outcome
    return Status(201 if created else 200, measurement)


@router.get(
    "/outcomes",
    **answers({200: list[OutcomeOut], **READ_ERRORS}),
    summary="Outcomes with their measurements and progress",
)
def list_outcomes(request: HttpRequest, query: Query[OutcomeQuery]) -> list[Outcome]:
    token = token_of(request)
    team = team_for_token(token, query.team, unknown_status=400, required=False)
    qs = Outcome.objects.all()
    if team is not None:
        qs = qs.filter(team=team)
    # The organization's outcomes first, then by team.
    qs = qs.order_by(F("team__name").asc(nulls_first=True), "name", "id")
    return list(_with_measurements(qs))
