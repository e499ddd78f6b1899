from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status

from apps.api.auth import team_for_token, token_of
from apps.api.errors import ApiError
from apps.api.routes.common import (
    READ_ERRORS,
    WRITE_ERRORS,
    answers,
    row_in_team,
    upsert_answer,
    window_list,
)
from apps.api.schemas import IncidentIn, IncidentOut, IncidentPage, WindowQuery
from apps.api.selectors import incidents_list, release_by_ref
from apps.imports.columns import INCIDENT_HEADER, incident_export_rows
from apps.incidents.models import Incident
from apps.incidents.services import incident_upsert
from apps.releases.models import Source

router = Router(tags=["incidents"])


def _cause_fields(payload: IncidentIn, team: Any, existing: Incident | None) -> dict[str, Any]:
    """`cause` and `caused_by` from `caused_by_release` and `deploy_caused`.

    A release named: caused by it. `deploy_caused: false`: not caused by a deployment.
    Neither: unknown on a new incident, unchanged on an update.
    """
    sent = payload.model_fields_set
    if "caused_by_release" in sent and payload.caused_by_release is not None:
        if payload.deploy_caused is False:
            raise ApiError(
                422,
                "An incident not caused by a deployment names no release.",
                {"deploy_caused": ["Must not be false when caused_by_release is given."]},
            )
        release = row_in_team(
            release_by_ref,
            team=team,
            ref=payload.caused_by_release,
            field="caused_by_release",
            noun="release",
            detail="The release that caused it was not found in this team.",
        )
        return {"cause": Incident.Cause.RELEASE, "caused_by": release}
    if payload.deploy_caused is False:
        return {"cause": Incident.Cause.NOT_DEPLOY, "caused_by": None}
    if "caused_by_release" in sent or "deploy_caused" in sent:
        # Link removed, or "caused by a deployment" without saying which: unknown yet.
        return {"cause": Incident.Cause.UNKNOWN, "caused_by": None}
    if existing is None:
        return {"cause": Incident.Cause.UNKNOWN, "caused_by": None}
    return {}


@router.post(
    "/incidents",
    **answers({200: IncidentOut, 201: IncidentOut, **WRITE_ERRORS}),
    summary="Record an incident (idempotent by external_id)",
)
def post_incident(request: HttpRequest, payload: IncidentIn) -> Status[Incident]:
    """201 with a new incident; 200 when `external_id` names one posted before (it is
    updated, never duplicated). On an update, fields left out keep their values, so a paging
    tool can post the incident when it opens and again with `resolved_at` when it closes.
    `caused_by_release` names a release of the same team by external_id or id;
    `deploy_caused: false` records "not caused by a deployment".
    """
    team = team_for_token(token_of(request), payload.team)
    assert team is not None
    external_id = (payload.external_id or "").strip() or None
    existing = (
        Incident.objects.filter(team=team, source=Source.API, external_id=external_id).first()
        if external_id
        else None
    )
    sent = payload.model_fields_set
    fields: dict[str, Any] = {"title": payload.title, "started_at": payload.started_at}
    for name in ("severity", "detected_at", "resolved_at"):
        if name in sent:
            fields[name] = getattr(payload, name)
    for name in ("service", "resolved_by", "summary"):
        if name in sent:
            fields[name] = getattr(payload, name) or ""
    fields.update(_cause_fields(payload, team, existing))
    return upsert_answer(
        lambda: incident_upsert(team=team, source=Source.API, external_id=external_id, **fields),
        Incident.objects.select_related("team", "caused_by"),
    )


@router.get(
    "/incidents",
    **answers({200: IncidentPage, **READ_ERRORS}, csv=True),
    summary="Incidents that started in a window, newest first",
)
def list_incidents(request: HttpRequest, filters: Query[WindowQuery]) -> dict[str, Any]:
    """Incidents that started in `[start, end)` (dates in the organization's time zone).
    Without `team`, an organization token lists every team's incidents."""
    return window_list(
        request,
        filters,
        incidents_list,
        noun="incidents",
        header=INCIDENT_HEADER,
        cells=incident_export_rows,
    )
