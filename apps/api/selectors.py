"""Reads of the API: rows named by reference, windowed lists, tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Case, Count, F, IntegerField, QuerySet, Value, When

from apps.api.models import ApiToken
from apps.core import bounds
from apps.core.timezones import window_bounds
from apps.incidents.models import Incident
from apps.releases.models import Release, Source
from apps.teams.models import Team
from apps.webhooks.models import Webhook


def _by_ref(qs: QuerySet[Any], ref: int | str, *, team: Team) -> Any:
    """A row of `qs` by numeric id (an int) or external_id (text; digits fall back to id).

    The same external_id may exist under several sources; the API's own wins. A row a
    webhook wrote is found by the provider's id too (a PagerDuty incident id, a GitHub
    deployment id), as it was before webhook records were keyed per webhook.
    """
    if isinstance(ref, int):
        return qs.filter(pk=ref).first() if 0 < ref <= bounds.MAX_ROW_ID else None
    ref = ref.strip()
    if not ref:
        return None
    row = (
        qs.filter(external_id=ref)
        .order_by(
            Case(
                When(source=Source.API, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            "-id",
        )
        .first()
    )
    if row is None:
        keys = [w.record_key(ref) for w in Webhook.objects.filter(team=team).only("pk")]
        if keys:
            # Two webhooks of the team may have sent the id: the latest row wins.
            row = qs.filter(source=Source.WEBHOOK, external_id__in=keys).order_by("-id").first()
    if row is None and (number := bounds.row_id(ref)) is not None:
        row = qs.filter(pk=number).first()
    return row


def incident_by_ref(*, team: Team, ref: int | str) -> Incident | None:
    return _by_ref(Incident.objects.filter(team=team), ref, team=team)


def release_by_ref(*, team: Team, ref: int | str) -> Release | None:
    return _by_ref(Release.objects.filter(team=team), ref, team=team)


def _window_filter(
    field: str, start: dt.date | None, end: dt.date | None
) -> dict[str, dt.datetime]:
    lookups: dict[str, dt.datetime] = {}
    if start is not None:
        lookups[f"{field}__gte"] = window_bounds(start, start)[0]
    if end is not None:
        lookups[f"{field}__lt"] = window_bounds(end, end)[0]
    return lookups


def incidents_list(
    *, team: Team | None, start: dt.date | None, end: dt.date | None
) -> QuerySet[Incident]:
    """Incidents that started in `[start, end)` (org time zone), newest first."""
    qs = Incident.objects.select_related("team", "caused_by").filter(
        **_window_filter("started_at", start, end)
    )
    if team is not None:
        qs = qs.filter(team=team)
    return qs.order_by("-started_at", "-id")


def releases_list(
    *, team: Team | None, start: dt.date | None, end: dt.date | None
) -> QuerySet[Release]:
    """Releases deployed in `[start, end)` (org time zone), newest first."""
    qs = (
        Release.objects.select_related("team", "fixes_incident")
        .filter(**_window_filter("deployed_at", start, end))
        .annotate(caused_incident_count=Count("caused_incidents"))
    )
    if team is not None:
        qs = qs.filter(team=team)
    return qs.order_by("-deployed_at", "-id")


def tokens_list() -> QuerySet[ApiToken]:
    """Active tokens first, then revoked ones; newest first within each."""
    return ApiToken.objects.select_related("team", "created_by").order_by(
        F("revoked_at").asc(nulls_first=True), "-created_at"
    )
