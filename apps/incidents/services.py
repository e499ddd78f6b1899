"""Writes of incidents. Every write marks the affected weeks dirty in the same transaction.

An incident touches more than the week it started in: it counts as open in every week
until it is resolved, and the release it names as its cause becomes failed in the week
that release was deployed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.records import Ingested, Ingestion, Source, merged_fields, record_save
from apps.core.timezones import week_start_of
from apps.core.validation import Findings, RecordWarning
from apps.incidents.models import Incident
from apps.incidents.selectors import incident_imperfections, incident_warnings
from apps.metrics.services import buckets_mark_dirty, weeks_spanning
from apps.releases.models import Release
from apps.teams.models import Team

INCIDENT_FIELDS = (
    "title",
    "severity",
    "service",
    "started_at",
    "start_unknown",
    "detected_at",
    "resolved_at",
    "cause",
    "caused_by",
    "summary",
    "resolved_by",
)
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# Relations the service checks itself (same team), so the model check leaves them out.
CHECKED_BY_SERVICE = ["team", "caused_by"]


def incident_validate(*, team: Team, data: dict[str, Any]) -> list[RecordWarning]:
    """Raise ValidationError naming each field that cannot be stored truthfully; return the
    flags of what is stored but imperfect. `data` holds model field values.
    """
    found = Findings()
    now = timezone.now()
    if not (data.get("title") or "").strip():
        found.refuse("title", "Give the incident a title.")
    found.require_offsets(data, ("started_at", "detected_at", "resolved_at"))
    started_at = data.get("started_at")
    detected_at = data.get("detected_at")
    resolved_at = data.get("resolved_at")
    if started_at is None:
        found.refuse("started_at", "Say when the impact began.")
    elif found.ok("started_at"):
        if started_at > now + FUTURE_TOLERANCE:
            found.refuse("started_at", "An incident cannot start in the future.")
        if detected_at is not None and found.ok("detected_at") and detected_at < started_at:
            found.refuse("detected_at", "It cannot be detected before it started.")
        if resolved_at is not None and found.ok("resolved_at"):
            if resolved_at < started_at:
                found.refuse("resolved_at", "It cannot be resolved before it started.")
            elif resolved_at > now + FUTURE_TOLERANCE:
                found.refuse("resolved_at", "It cannot be resolved in the future.")
    if found.ok("started_at", "detected_at", "resolved_at"):
        for flag in incident_imperfections(
            detected_at=detected_at,
            resolved_at=resolved_at,
            start_unknown=bool(data.get("start_unknown")),
        ):
            found.flag(flag.field, flag.message)
    severity = data.get("severity")
    if severity is not None and severity not in Incident.Severity.values:
        found.refuse("severity", f"Must be one of {', '.join(Incident.Severity.values)}.")
    cause = data.get("cause") or Incident.Cause.UNKNOWN
    caused_by: Release | None = data.get("caused_by")
    if cause not in Incident.Cause.values:
        found.refuse("cause", f"Must be one of {', '.join(Incident.Cause.values)}.")
    elif cause == Incident.Cause.RELEASE:
        if caused_by is None:
            found.refuse("caused_by", "Choose the release that caused it.")
        elif caused_by.team_id != team.id:
            found.refuse("caused_by", "Choose a release of this team.")
        elif (
            started_at is not None and found.ok("started_at") and caused_by.deployed_at > started_at
        ):
            found.refuse("caused_by", "That release was deployed after the incident started.")
    elif caused_by is not None:
        found.refuse("caused_by", "Only an incident caused by a release names one.")
    return found.result()


def _affected(incident: Incident) -> tuple[set[dt.date], Release | None]:
    weeks = set(weeks_spanning(incident.started_at, incident.resolved_at))
    release = incident.caused_by
    if release is not None:
        weeks.add(week_start_of(release.deployed_at))
    return weeks, release


@transaction.atomic
def incident_create(
    *,
    team: Team,
    source: str = Source.FORM,
    external_id: str | None = None,
    reported_by: Any = None,
    **fields: Any,
) -> Incident:
    fields.setdefault(
        "cause", Incident.Cause.RELEASE if fields.get("caused_by") else Incident.Cause.UNKNOWN
    )
    incident_validate(team=team, data=fields)
    incident = Incident(
        team=team, source=source, external_id=external_id or None, reported_by=reported_by, **fields
    )
    record_save(incident, exclude=CHECKED_BY_SERVICE)
    weeks, _ = _affected(incident)
    buckets_mark_dirty(team_id=team.id, weeks=weeks)
    return incident


@transaction.atomic
def incident_update(*, incident: Incident, **fields: Any) -> Incident:
    if (
        incident.start_unknown
        and "start_unknown" not in fields
        and fields.get("started_at", incident.started_at) != incident.started_at
    ):
        # A start given (by an event or a person) is the start: the incident counts again.
        fields["start_unknown"] = False
    merged = merged_fields(incident, INCIDENT_FIELDS, fields)
    if "caused_by" in fields and "cause" not in fields:
        merged["cause"] = (
            Incident.Cause.RELEASE
            if fields["caused_by"]
            else (
                incident.cause
                if incident.cause != Incident.Cause.RELEASE
                else Incident.Cause.UNKNOWN
            )
        )
        fields["cause"] = merged["cause"]
    incident_validate(team=incident.team, data=merged)
    before, _ = _affected(incident)
    for name, value in fields.items():
        setattr(incident, name, value)
    record_save(incident, exclude=CHECKED_BY_SERVICE)
    after, _ = _affected(incident)
    buckets_mark_dirty(team_id=incident.team_id, weeks=before | after)
    return incident


@transaction.atomic
def incident_resolve(
    *,
    incident: Incident,
    resolved_at: dt.datetime | None = None,
    resolved_by: str = "",
    **fields: Any,
) -> Incident:
    """Resolve it (now, unless given), with any other `fields` changed at the same time."""
    return incident_update(
        incident=incident,
        resolved_at=resolved_at or timezone.now(),
        resolved_by=resolved_by or incident.resolved_by,
        **fields,
    )


# Idempotent ingestion (the API, webhooks): the incident with a key is updated, never
# duplicated. The webhooks find it first (`incident_locked`), decide, then write over it.
INGESTION = Ingestion(
    Incident,
    create=incident_create,
    update=lambda incident, **fields: incident_update(incident=incident, **fields),
    warnings=incident_warnings,
    related=("team", "caused_by"),
)


def incident_locked(*, team: Team, source: str, external_id: str | None) -> Incident | None:
    """The incident with this ingestion key, locked until the caller's transaction ends."""
    return INGESTION.locked(team=team, source=source, external_id=external_id)


def incident_write(
    existing: Incident | None, *, team: Team, source: str, external_id: str | None, **fields: Any
) -> tuple[Incident, bool]:
    """Update `existing`, the incident with this key found by `incident_locked` in the
    caller's transaction, or create it when there is none. Returns the row and whether it
    is new."""
    return INGESTION.write(existing, team=team, source=source, external_id=external_id, **fields)


def incident_upsert(
    *, team: Team, source: str, external_id: str | None, **fields: Any
) -> tuple[Incident, bool]:
    """Idempotent ingestion: the same (team, source, external_id) updates, never duplicates."""
    return INGESTION.upsert(team=team, source=source, external_id=external_id, **fields)


def incident_ingest(
    *, existing: Incident | None, team: Team, source: str, external_id: str | None, **fields: Any
) -> Ingested[Incident]:
    """`incident_write` over the row the caller found with `incident_locked`, answering
    with the incident's flags too: for webhooks, which tell the sender what was stored but
    is imperfect."""
    return INGESTION.ingest(existing, team=team, source=source, external_id=external_id, **fields)
