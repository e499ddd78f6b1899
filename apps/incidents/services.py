"""Writes of incidents. Every write marks the affected weeks dirty in the same transaction.

An incident touches more than the week it started in: it counts as open in every week
until it is resolved, and the release it names as its cause becomes failed in the week
that release was deployed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.core.timezones import week_start_of
from apps.incidents.models import Incident
from apps.metrics.services import buckets_mark_dirty, weeks_spanning
from apps.releases.models import Release, Source
from apps.teams.models import Team

INCIDENT_FIELDS = (
    "title",
    "severity",
    "service",
    "started_at",
    "detected_at",
    "resolved_at",
    "cause",
    "caused_by",
    "summary",
    "resolved_by",
)
FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def incident_validate(*, team: Team, data: dict[str, Any]) -> None:
    """Raise ValidationError naming each bad field. `data` holds model field values."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    now = timezone.now()
    if not (data.get("title") or "").strip():
        add("title", "Give the incident a title.")
    for name in ("started_at", "detected_at", "resolved_at"):
        value = data.get(name)
        if value is not None and timezone.is_naive(value):
            add(name, "Give a time zone offset, e.g. +01:00 or Z.")
    started_at = data.get("started_at")
    detected_at = data.get("detected_at")
    resolved_at = data.get("resolved_at")
    if started_at is None:
        add("started_at", "Say when the impact began.")
    elif "started_at" not in errors:
        if started_at > now + FUTURE_TOLERANCE:
            add("started_at", "An incident cannot start in the future.")
        if detected_at is not None and "detected_at" not in errors and detected_at < started_at:
            add("detected_at", "It cannot be detected before it started.")
        if resolved_at is not None and "resolved_at" not in errors:
            if resolved_at < started_at:
                add("resolved_at", "It cannot be resolved before it started.")
            elif resolved_at > now + FUTURE_TOLERANCE:
                add("resolved_at", "It cannot be resolved in the future.")
    severity = data.get("severity")
    if severity is not None and severity not in Incident.Severity.values:
        add("severity", f"Must be one of {', '.join(Incident.Severity.values)}.")
    cause = data.get("cause") or Incident.Cause.UNKNOWN
    caused_by: Release | None = data.get("caused_by")
    if cause not in Incident.Cause.values:
        add("cause", f"Must be one of {', '.join(Incident.Cause.values)}.")
    elif cause == Incident.Cause.RELEASE:
        if caused_by is None:
            add("caused_by", "Choose the release that caused it.")
        elif caused_by.team_id != team.id:
            add("caused_by", "Choose a release of this team.")
        elif (
            started_at is not None
            and "started_at" not in errors
            and (caused_by.deployed_at > started_at)
        ):
            add("caused_by", "That release was deployed after the incident started.")
    elif caused_by is not None:
        add("caused_by", "Only an incident caused by a release names one.")
    if errors:
        raise ValidationError(errors)


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
    incident.full_clean(
        exclude=["team", "caused_by"], validate_unique=False, validate_constraints=False
    )
    incident.save()
    weeks, _ = _affected(incident)
    buckets_mark_dirty(team_id=team.id, weeks=weeks)
    return incident


@transaction.atomic
def incident_update(*, incident: Incident, **fields: Any) -> Incident:
    merged = {name: getattr(incident, name) for name in INCIDENT_FIELDS}
    merged.update(fields)
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
    incident.full_clean(
        exclude=["team", "caused_by"], validate_unique=False, validate_constraints=False
    )
    incident.save()
    after, _ = _affected(incident)
    buckets_mark_dirty(team_id=incident.team_id, weeks=before | after)
    return incident


@transaction.atomic
def incident_resolve(
    *, incident: Incident, resolved_at: dt.datetime | None = None, resolved_by: str = ""
) -> Incident:
    return incident_update(
        incident=incident,
        resolved_at=resolved_at or timezone.now(),
        resolved_by=resolved_by or incident.resolved_by,
    )


@transaction.atomic
def incident_upsert(
    *, team: Team, source: str, external_id: str | None, **fields: Any
) -> tuple[Incident, bool]:
    """Idempotent ingestion: the same (team, source, external_id) updates, never duplicates."""
    if external_id:
        existing = (
            Incident.objects.select_for_update(of=("self",))
            .select_related("team", "caused_by")
            .filter(team=team, source=source, external_id=external_id)
            .first()
        )
        if existing is not None:
            return incident_update(incident=existing, **fields), False
    return incident_create(team=team, source=source, external_id=external_id, **fields), True


def suggest_causing_release(
    *, team: Team, started_at: dt.datetime, service: str = ""
) -> Release | None:
    """The latest release of the team (and service, if given) deployed in the 48 hours
    before the incident started. Only a suggestion: never linked without the reporter's say.
    """
    qs = Release.objects.filter(
        team=team,
        deployed_at__lte=started_at,
        deployed_at__gte=started_at - dt.timedelta(hours=48),
    )
    if service:
        qs = qs.filter(service=service)
    return qs.order_by("-deployed_at", "-id").first()
