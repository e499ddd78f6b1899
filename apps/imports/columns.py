"""The CSV columns of incidents and releases: the API's field names (API.md), read into
model field values on import and written from rows on export.

One module says both directions, so an exported file imports again: the read-only columns
of an export (id, failed, source, timestamps of the row, warnings) are accepted on import and
ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet

from apps.core import bounds
from apps.incidents.models import Incident
from apps.incidents.selectors import incident_warnings
from apps.metrics.selectors import WindowMetrics
from apps.releases.models import Release
from apps.releases.selectors import release_warnings

DATETIME_HELP = "Enter a date and time in ISO 8601, e.g. 2026-03-02T14:05:00+01:00."
TRUE = {"true", "yes", "1", "y"}
FALSE = {"false", "no", "0", "n"}


class CellError(ValueError):
    """A cell that cannot be read; the message says what to write instead."""


def text(value: str, *, max_length: int) -> str:
    value = value.strip()
    if (problem := bounds.text_problem(value)) is not None:
        raise CellError(problem)
    if len(value) > max_length:
        raise CellError(f"At most {max_length} characters (it has {len(value)}).")
    return value


def timestamp(value: str, zone: ZoneInfo) -> dt.datetime | None:
    """An ISO 8601 timestamp; without an offset, a wall-clock time in `zone`."""
    value = value.strip()
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise CellError(DATETIME_HELP) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if (problem := bounds.instant_problem(moment)) is not None:
        raise CellError(problem)
    return moment


def whole_number(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        raise CellError("Enter a whole number.") from None
    if number < 0:
        raise CellError("Cannot be negative.")
    if number > 2_147_483_647:
        raise CellError("Too large.")
    return number


def yes_no(value: str) -> bool | None:
    value = value.strip().lower()
    if not value:
        return None
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise CellError("Write true or false (or leave it empty).")


def choice(value: str, choices: list[str], *, upper: bool = False) -> str | None:
    value = value.strip()
    if not value:
        return None
    value = value.upper() if upper else value.lower()
    if value not in choices:
        raise CellError(f"Must be one of {', '.join(choices)}.")
    return value


def reference(record: Any) -> str | int | None:
    """How an export names a related row: its external_id, else its id (both import)."""
    if record is None:
        return None
    return record.external_id or record.pk


@dataclass(frozen=True)
class KindColumns:
    """The columns of one kind of record."""

    # Read on import, in the order an export writes them.
    writable: tuple[str, ...]
    required: tuple[str, ...]
    # Written by an export, accepted and ignored by an import.
    read_only: tuple[str, ...]
    # The columns that identify a row when the file has no external_id.
    key: tuple[str, ...]
    # The column naming another record of the team, and the model field it fills.
    reference_column: str
    reference_field: str

    @property
    def known(self) -> set[str]:
        return {*self.writable, *self.read_only, "team"}


RELEASES = KindColumns(
    writable=(
        "external_id",
        "service",
        "version",
        "deployed_at",
        "status",
        "first_commit_at",
        "change_count",
        "deployed_by",
        "fixes_incident",
    ),
    required=("service", "version", "deployed_at"),
    read_only=("id", "failed", "source", "created_at", "updated_at", "warnings"),
    key=("service", "version", "deployed_at"),
    reference_column="fixes_incident",
    reference_field="fixes_incident",
)

INCIDENTS = KindColumns(
    writable=(
        "external_id",
        "title",
        "severity",
        "service",
        "started_at",
        "detected_at",
        "resolved_at",
        "caused_by_release",
        "deploy_caused",
        "resolved_by",
        "summary",
    ),
    required=("title", "started_at"),
    read_only=("id", "is_open", "cause", "source", "created_at", "updated_at", "warnings"),
    key=("title", "service", "started_at"),
    reference_column="caused_by_release",
    reference_field="caused_by",
)

COLUMNS = {"releases": RELEASES, "incidents": INCIDENTS}


# --- export ----------------------------------------------------------------------------

RELEASE_HEADER = (
    "id",
    "team",
    "service",
    "version",
    "deployed_at",
    "status",
    "failed",
    "first_commit_at",
    "change_count",
    "deployed_by",
    "external_id",
    "source",
    "fixes_incident",
    "created_at",
    "updated_at",
    "warnings",
)

INCIDENT_HEADER = (
    "id",
    "team",
    "title",
    "severity",
    "service",
    "started_at",
    "detected_at",
    "resolved_at",
    "is_open",
    "cause",
    "deploy_caused",
    "caused_by_release",
    "resolved_by",
    "summary",
    "external_id",
    "source",
    "created_at",
    "updated_at",
    "warnings",
)

EXPORT_CHUNK = 2000


def _warnings_text(flags: Iterable[Any]) -> str:
    return " | ".join(f"{flag.field}: {flag.message}" for flag in flags)


def release_export_rows(qs: QuerySet[Release]) -> Iterator[list[Any]]:
    """The rows of `qs` as RELEASE_HEADER cells, read a chunk at a time."""
    rows = qs.select_related("team", "fixes_incident").annotate(
        caused_incident_count=Count("caused_incidents")
    )
    for release in rows.iterator(chunk_size=EXPORT_CHUNK):
        yield [
            release.pk,
            release.team.slug,
            release.service,
            release.version,
            release.deployed_at,
            release.status,
            release.is_failed_status or release.caused_incident_count > 0,  # type: ignore[attr-defined]
            release.first_commit_at,
            release.change_count,
            release.deployed_by,
            release.external_id,
            release.source,
            reference(release.fixes_incident),
            release.created_at,
            release.updated_at,
            _warnings_text(release_warnings(release)),
        ]


def incident_export_rows(qs: QuerySet[Incident]) -> Iterator[list[Any]]:
    """The rows of `qs` as INCIDENT_HEADER cells, read a chunk at a time."""
    deploy_caused = {Incident.Cause.RELEASE: True, Incident.Cause.NOT_DEPLOY: False}
    for incident in qs.select_related("team", "caused_by").iterator(chunk_size=EXPORT_CHUNK):
        yield [
            incident.pk,
            incident.team.slug,
            incident.title,
            incident.severity,
            incident.service,
            incident.started_at,
            incident.detected_at,
            incident.resolved_at,
            incident.is_open,
            incident.cause,
            deploy_caused.get(incident.cause),  # type: ignore[call-overload]
            reference(incident.caused_by),
            incident.resolved_by,
            incident.summary,
            incident.external_id,
            incident.source,
            incident.created_at,
            incident.updated_at,
            _warnings_text(incident_warnings(incident)),
        ]


# A week's columns: the API's field names (WeekOut in apps/api/schemas.py), with the
# durations' statistics and the levels flattened to `<field>.<name>`.
WEEK_COUNTS = (
    "deployments",
    "failed_deployments",
    "rework_deployments",
    "change_count",
    "incidents",
    "change_failure_rate",
    "deployment_frequency_per_week",
    "rework_rate",
    "open_incidents",
)
WEEK_STATS = (
    ("time_to_restore_seconds", "time_to_restore"),
    ("failed_deployment_recovery_seconds", "failed_deployment_recovery"),
    ("lead_time_seconds", "lead_time"),
)
STATS = ("median", "mean", "p90", "n")
LEVELS = ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")


def metrics_export(metrics: WindowMetrics) -> tuple[list[str], list[list[Any]]]:
    """A window's weeks (one row a week) as a header and rows."""
    header = [
        "week_start",
        *WEEK_COUNTS,
        *(f"{name}.{stat}" for name, _ in WEEK_STATS for stat in STATS),
        "bus_factor",
        "computed_at",
        *(f"levels.{level}" for level in LEVELS),
    ]
    rows: list[list[Any]] = []
    for week in metrics.weeks:
        levels = week.levels or {}
        rows.append(
            [
                week.start,
                *(getattr(week, name) for name in WEEK_COUNTS),
                *(getattr(getattr(week, attr), stat) for _, attr in WEEK_STATS for stat in STATS),
                week.bus_factor,
                week.computed_at,
                *(levels.get(level) for level in LEVELS),
            ]
        )
    return header, rows
