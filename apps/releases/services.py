"""Writes of releases. Every write marks the affected weeks dirty in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.records import Ingested, Ingestion, Source, merged_fields, record_save
from apps.core.timezones import week_start_of
from apps.core.validation import Findings, RecordWarning
from apps.incidents.models import Incident
from apps.incidents.services import incident_update
from apps.metrics.services import buckets_mark_dirty
from apps.releases.models import Release
from apps.releases.selectors import release_imperfections, release_warnings
from apps.teams.models import Team

RELEASE_FIELDS = (
    "service",
    "version",
    "deployed_at",
    "status",
    "first_commit_at",
    "change_count",
    "deployed_by",
    "fixes_incident",
)
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
# Relations the service checks itself (same team), so the model check leaves them out.
CHECKED_BY_SERVICE = ["team", "fixes_incident"]


def release_validate(*, team: Team, data: dict[str, Any]) -> list[RecordWarning]:
    """Raise ValidationError naming each field that cannot be stored truthfully; return the
    flags of what is stored but imperfect. `data` holds model field values.
    """
    found = Findings()
    deployed_at: dt.datetime | None = data.get("deployed_at")
    first_commit_at: dt.datetime | None = data.get("first_commit_at")
    found.require_offsets(data, ("deployed_at", "first_commit_at"))
    if (
        deployed_at is not None
        and found.ok("deployed_at")
        and deployed_at > timezone.now() + FUTURE_TOLERANCE
    ):
        found.refuse("deployed_at", "A release cannot be deployed in the future.")
    if found.ok("deployed_at", "first_commit_at"):
        # Stored, and left out of lead time only: losing the deployment would be worse.
        for flag in release_imperfections(deployed_at=deployed_at, first_commit_at=first_commit_at):
            found.flag(flag.field, flag.message)
    change_count = data.get("change_count")
    if change_count is not None and change_count < 0:
        found.refuse("change_count", "Cannot be negative.")
    fixes = data.get("fixes_incident")
    if fixes is not None and fixes.team_id != team.id:
        found.refuse("fixes_incident", "Choose an incident of this team.")
    status = data.get("status")
    if status is not None and status not in Release.Status.values:
        found.refuse("status", f"Must be one of {', '.join(Release.Status.values)}.")
    return found.result()


def _affected_weeks(release: Release) -> set[dt.date]:
    return {week_start_of(release.deployed_at)}


def _caused_incident_weeks(release: Release) -> set[dt.date]:
    """Weeks of the incidents this release caused: their recovery time runs from its
    deployment, so moving `deployed_at` changes them."""
    if release.pk is None:
        return set()
    return {
        week_start_of(started)
        for started in release.caused_incidents.values_list("started_at", flat=True)
    }


@transaction.atomic
def release_create(
    *,
    team: Team,
    source: str = Source.FORM,
    external_id: str | None = None,
    recorded_by: Any = None,
    **fields: Any,
) -> Release:
    release_validate(team=team, data=fields)
    release = Release(
        team=team, source=source, external_id=external_id or None, recorded_by=recorded_by, **fields
    )
    record_save(release, exclude=CHECKED_BY_SERVICE)
    buckets_mark_dirty(team_id=team.id, weeks=_affected_weeks(release))
    return release


@transaction.atomic
def release_update(*, release: Release, **fields: Any) -> Release:
    merged = merged_fields(release, RELEASE_FIELDS, fields)
    release_validate(team=release.team, data=merged)
    before = _affected_weeks(release)
    for name, value in fields.items():
        setattr(release, name, value)
    record_save(release, exclude=CHECKED_BY_SERVICE)
    weeks = before | _affected_weeks(release)
    if "deployed_at" in fields:
        weeks |= _caused_incident_weeks(release)
    buckets_mark_dirty(team_id=release.team_id, weeks=weeks)
    return release


# Idempotent ingestion (the API, webhooks): the release with a key is updated, never
# duplicated. The webhooks find it first (`release_locked`), decide, then write over it.
INGESTION = Ingestion(
    Release,
    create=release_create,
    update=lambda release, **fields: release_update(release=release, **fields),
    warnings=release_warnings,
    related=("team",),
)


def release_locked(*, team: Team, source: str, external_id: str | None) -> Release | None:
    """The release with this ingestion key, locked until the caller's transaction ends."""
    return INGESTION.locked(team=team, source=source, external_id=external_id)


def release_write(
    existing: Release | None, *, team: Team, source: str, external_id: str | None, **fields: Any
) -> tuple[Release, bool]:
    """Update `existing`, the release with this key found by `release_locked` in the caller's
    transaction, or create it when there is none. Returns the row and whether it is new."""
    return INGESTION.write(existing, team=team, source=source, external_id=external_id, **fields)


def release_upsert(
    *, team: Team, source: str, external_id: str | None, **fields: Any
) -> tuple[Release, bool]:
    """Idempotent ingestion: the same (team, source, external_id) updates, never duplicates."""
    return INGESTION.upsert(team=team, source=source, external_id=external_id, **fields)


def release_ingest(
    *, existing: Release | None, team: Team, source: str, external_id: str | None, **fields: Any
) -> Ingested[Release]:
    """`release_write` over the row the caller found with `release_locked`, answering with
    the release's flags too: for webhooks, which tell the sender what was stored but is
    imperfect."""
    return INGESTION.ingest(existing, team=team, source=source, external_id=external_id, **fields)


@transaction.atomic
def release_set_status(*, release: Release, status: str) -> Release:
    return release_update(release=release, status=status)


@transaction.atomic
def release_link_incident(*, release: Release, incident: Incident) -> Incident:
    """Name this release as the cause of one of its team's incidents (an incident write)."""
    return incident_update(incident=incident, caused_by=release)
