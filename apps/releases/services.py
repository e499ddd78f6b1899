"""Writes of releases. Every write marks the affected weeks dirty in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.timezones import week_start_of
from apps.metrics.services import buckets_mark_dirty
from apps.releases.models import Release, Source
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


def release_validate(*, team: Team, data: dict[str, Any]) -> None:
    """Raise ValidationError naming each bad field. `data` holds model field values."""
    errors: dict[str, list[str]] = {}
    deployed_at: dt.datetime | None = data.get("deployed_at")
    first_commit_at: dt.datetime | None = data.get("first_commit_at")
    for name in ("deployed_at", "first_commit_at"):
        value = data.get(name)
        if value is not None and timezone.is_naive(value):
            errors.setdefault(name, []).append("Give a time zone offset, e.g. +01:00 or Z.")
    if deployed_at is not None and deployed_at > timezone.now() + dt.timedelta(minutes=5):
        errors.setdefault("deployed_at", []).append("A release cannot be deployed in the future.")
    if (
        deployed_at is not None
        and first_commit_at is not None
        and "deployed_at" not in errors
        and "first_commit_at" not in errors
        and first_commit_at > deployed_at
    ):
        errors.setdefault("first_commit_at", []).append(
            "The first commit must come before the deployment."
        )
    fixes = data.get("fixes_incident")
    if fixes is not None and fixes.team_id != team.id:
        errors.setdefault("fixes_incident", []).append("Choose an incident of this team.")
    status = data.get("status")
    if status is not None and status not in Release.Status.values:
        errors.setdefault("status", []).append(
            f"Must be one of {', '.join(Release.Status.values)}."
        )
    if errors:
        raise ValidationError(errors)


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
    release.full_clean(
        exclude=["team", "fixes_incident"], validate_unique=False, validate_constraints=False
    )
    release.save()
    buckets_mark_dirty(team_id=team.id, weeks=_affected_weeks(release))
    return release


@transaction.atomic
def release_update(*, release: Release, **fields: Any) -> Release:
    merged = {name: getattr(release, name) for name in RELEASE_FIELDS}
    merged.update(fields)
    release_validate(team=release.team, data=merged)
    before = _affected_weeks(release)
    for name, value in fields.items():
        setattr(release, name, value)
    release.full_clean(
        exclude=["team", "fixes_incident"], validate_unique=False, validate_constraints=False
    )
    release.save()
    weeks = before | _affected_weeks(release)
    if "deployed_at" in fields:
        weeks |= _caused_incident_weeks(release)
    buckets_mark_dirty(team_id=release.team_id, weeks=weeks)
    return release


@transaction.atomic
def release_upsert(
    *, team: Team, source: str, external_id: str | None, **fields: Any
) -> tuple[Release, bool]:
    """Idempotent ingestion: the same (team, source, external_id) updates, never duplicates."""
    if external_id:
        existing = (
            Release.objects.select_for_update()
            .filter(team=team, source=source, external_id=external_id)
            .first()
        )
        if existing is not None:
            return release_update(release=existing, **fields), False
    return release_create(team=team, source=source, external_id=external_id, **fields), True


@transaction.atomic
def release_set_status(*, release: Release, status: str) -> Release:
    return release_update(release=release, status=status)
