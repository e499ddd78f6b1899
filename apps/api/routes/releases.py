from __future__ import annotations

from typing import Any

from django.db.models import Count
from django.http import HttpRequest
from ninja import Query, Router, Status

from apps.api.auth import team_for_token, token_of
from apps.api.routes.common import (
    READ_ERRORS,
    WRITE_ERRORS,
    answers,
    row_in_team,
    upsert_answer,
    window_list,
)
from apps.api.schemas import ReleaseIn, ReleaseOut, ReleasePage, WindowQuery
from apps.api.selectors import incident_by_ref, releases_list
from apps.imports.columns import RELEASE_HEADER, release_export_rows
from apps.releases.models import Release, Source
from apps.releases.services import release_upsert

router = Router(tags=["releases"])


@router.post(
    "/releases",
    **answers({200: ReleaseOut, 201: ReleaseOut, **WRITE_ERRORS}),
    summary="Record a release (idempotent by external_id)",
)
def post_release(request: HttpRequest, payload: ReleaseIn) -> Status[Release]:
    """201 with a new release; 200 when `external_id` names one posted before (it is updated,
    never duplicated). On an update, fields left out keep their values.
    `fixes_incident` names an incident of the same team by external_id or id.
    """
    team = team_for_token(token_of(request), payload.team)
    assert team is not None
    sent = payload.model_fields_set
    fields: dict[str, Any] = {
        "service": payload.service,
        "version": payload.version,
        "deployed_at": payload.deployed_at,
    }
    for name in ("status", "first_commit_at", "change_count"):
        if name in sent:
            fields[name] = getattr(payload, name)
    if "deployed_by" in sent:
        fields["deployed_by"] = payload.deployed_by or ""
    if "fixes_incident" in sent:
        fields["fixes_incident"] = None
        if payload.fixes_incident is not None:
            fields["fixes_incident"] = row_in_team(
                incident_by_ref,
                team=team,
                ref=payload.fixes_incident,
                field="fixes_incident",
                noun="incident",
                detail="The incident it fixes was not found in this team.",
            )
    external_id = (payload.external_id or "").strip() or None
    return upsert_answer(
        lambda: release_upsert(team=team, source=Source.API, external_id=external_id, **fields),
        Release.objects.select_related("team", "fixes_incident").annotate(
            caused_incident_count=Count("caused_incidents")
        ),
    )


@router.get(
    "/releases",
    **answers({200: ReleasePage, **READ_ERRORS}, csv=True),
    summary="Releases deployed in a window, newest first",
)
def list_releases(request: HttpRequest, filters: Query[WindowQuery]) -> dict[str, Any]:
    """Releases deployed in `[start, end)` (dates in the organization's time zone).
    Without `team`, an organization token lists every team's releases."""
    return window_list(
        request,
        filters,
        releases_list,
        noun="releases",
        header=RELEASE_HEADER,
        cells=release_export_rows,
    )
