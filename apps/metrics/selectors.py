"""Reading metrics: exact window answers, weekly series, freshness.

A window answer is exact for any `[start, end)`: medians and percentiles are computed over
the raw rows of the window (never averaged from weekly rollups), through the
(team, started_at) and (team, deployed_at) indexes. Answers are cached in WindowSnapshot,
keyed by the scope's ScopeVersion, which every recompute bumps: a page reads one small row
until the worker has recomputed that team (or the organization), then the next request
computes the window afresh from the rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.conf import settings
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from apps.core.timezones import org_tz, weeks_between, window_bounds
from apps.metrics import compute
from apps.metrics.formulas import (
    Stats,
    change_failure_rate,
    deployment_frequency,
    levels_for,
    rework_rate,
)
from apps.metrics.models import (
    ORG_SCOPE,
    DirtyBucket,
    ScopeVersion,
    WeeklyRollup,
    WindowSnapshot,
)
from apps.teams.models import Team

__all__ = [
    "ORG_SCOPE",
    "PRESET_WEEKS",
    "SAMPLE_GROUPS",
    "Freshness",
    "Stats",
    "WindowMetrics",
    "WindowSamples",
    "last_computed_at",
    "pending_recompute",
    "preset_window",
    "team_freshness",
    "week_metrics",
    "weekly_series",
    "window_metrics",
    "window_metrics_for_teams",
    "window_metrics_with_weeks",
    "window_samples",
]

PRESET_WEEKS = (4, 13, 26, 52)


@dataclass
class WindowMetrics:
    """Every metric of METRICS.md over one `[start, end)` window of a team or the org."""

    team: str | None  # slug; None = the whole organization
    start: dt.date
    end: dt.date
    computed_at: dt.datetime
    deployments: int = 0
    failed_deployments: int = 0
    rework_deployments: int = 0
    change_count: int = 0
    incidents: int = 0
    change_failure_rate: float | None = None
    deployment_frequency_per_week: float | None = None
    rework_rate: float | None = None
    open_incidents: int = 0
    time_to_restore: Stats = field(default_factory=Stats.empty)
    failed_deployment_recovery: Stats = field(default_factory=Stats.empty)
    lead_time: Stats = field(default_factory=Stats.empty)
    bus_factor: int | None = None
    levels: dict[str, str] = field(default_factory=dict)
    weeks: tuple[WindowMetrics, ...] = ()  # its ISO weeks, when asked for

    @classmethod
    def build(
        cls,
        *,
        team: str | None,
        start: dt.date,
        end: dt.date,
        computed_at: dt.datetime,
        part: compute.Partial,
    ) -> WindowMetrics:
        frequency = deployment_frequency(part.deployments, (end - start).days)
        cfr = change_failure_rate(part.failed_deployments, part.deployments)
        return cls(
            team=team,
            start=start,
            end=end,
            computed_at=computed_at,
            deployments=part.deployments,
            failed_deployments=part.failed_deployments,
            rework_deployments=part.rework_deployments,
            change_count=part.change_count,
            incidents=part.incidents,
            change_failure_rate=cfr,
            deployment_frequency_per_week=frequency,
            rework_rate=rework_rate(part.rework_deployments, part.deployments),
            open_incidents=part.open_incidents,
            time_to_restore=part.time_to_restore,
            failed_deployment_recovery=part.failed_deployment_recovery,
            lead_time=part.lead_time,
            bus_factor=part.bus_factor,
            levels=levels_for(
                deployments=part.deployments,
                deployment_frequency_per_week=frequency,
                change_failure_rate=cfr,
                lead_time=part.lead_time,
                time_to_restore=part.time_to_restore,
                year=settings.EXECDASH_DORA_YEAR,
            ),
        )

    def payload(self) -> dict[str, Any]:
        """What WindowSnapshot stores (read back by from_payload). The keys are the API's
        names, as in the snapshots stored so far."""
        return {
            "team": self.team,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "deployments": self.deployments,
            "failed_deployments": self.failed_deployments,
            "rework_deployments": self.rework_deployments,
            "change_count": self.change_count,
            "incidents": self.incidents,
            "change_failure_rate": self.change_failure_rate,
            "deployment_frequency_per_week": self.deployment_frequency_per_week,
            "rework_rate": self.rework_rate,
            "open_incidents": self.open_incidents,
            "time_to_restore_seconds": self.time_to_restore.as_dict(),
            "failed_deployment_recovery_seconds": self.failed_deployment_recovery.as_dict(),
            "lead_time_seconds": self.lead_time.as_dict(),
            "bus_factor": self.bus_factor,
            "levels": dict(self.levels),
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any], computed_at: dt.datetime) -> WindowMetrics:
        def stats(raw: dict[str, Any]) -> Stats:
            return Stats(raw["median"], raw["mean"], raw["p90"], raw["n"])

        return cls(
            team=data["team"],
            start=dt.date.fromisoformat(data["start"]),
            end=dt.date.fromisoformat(data["end"]),
            computed_at=computed_at,
            deployments=data["deployments"],
            failed_deployments=data["failed_deployments"],
            rework_deployments=data["rework_deployments"],
            change_count=data["change_count"],
            incidents=data["incidents"],
            change_failure_rate=data["change_failure_rate"],
            deployment_frequency_per_week=data["deployment_frequency_per_week"],
            rework_rate=data["rework_rate"],
            open_incidents=data["open_incidents"],
            time_to_restore=stats(data["time_to_restore_seconds"]),
            failed_deployment_recovery=stats(data["failed_deployment_recovery_seconds"]),
            lead_time=stats(data["lead_time_seconds"]),
            bus_factor=data["bus_factor"],
            levels=dict(data["levels"]),
        )


def _check_window(start: dt.date, end: dt.date) -> None:
    if end < start:
        raise ValueError("the window ends before it starts")


def _compute_windows(
    *, team_ids: Sequence[int] | None, start: dt.date, end: dt.date
) -> dict[int | None, compute.Partial]:
    """Exact metrics from the raw rows: per team (team_ids given) or for the organization.

    Four queries whatever the number of teams (releases, incidents with the open ones,
    recovery times, bus factor).
    """
    tz = org_tz()
    start_at, end_at = window_bounds(start, end, tz)
    by_team = team_ids is not None
    scan = compute.Scan(team_ids, start_at, end_at, tz.key)
    parts: dict[int | None, compute.Partial] = {}
    if by_team:
        for wanted in team_ids or ():
            parts[wanted] = compute.Partial()
    else:
        parts[None] = compute.Partial()
    if by_team and not team_ids:
        return parts
    for (team_id, _week), part in compute.release_aggregates(
        scan, by_team=by_team, by_week=False
    ).items():
        parts[team_id] = part
    for (team_id, _week), incidents in compute.incident_aggregates(
        scan, by_team=by_team, by_week=False, with_open=True
    ).items():
        part = parts.setdefault(team_id, compute.Partial())
        part.incidents, part.time_to_restore = incidents.incidents, incidents.time_to_restore
        part.open_incidents = incidents.open_incidents
    for (team_id, _week), recovery in compute.recovery_aggregates(
        scan, by_team=by_team, by_week=False
    ).items():
        part = parts.setdefault(team_id, compute.Partial())
        part.failed_deployment_recovery = recovery.failed_deployment_recovery
    for (team_id, _week), factor in compute.bus_factors(
        scan, by_team=by_team, by_week=False
    ).items():
        parts.setdefault(team_id, compute.Partial()).bus_factor = factor
    return parts


def _cached_windows(
    *, scopes: dict[int, Team | None], start: dt.date, end: dt.date
) -> dict[int, WindowMetrics]:
    """Window answers for each scope: from a valid snapshot, or computed and stored.

    At most six queries: versions with their snapshots; then, for the scopes that missed,
    the four metric queries of the teams (or of the organization) and one upsert.
    """
    _check_window(start, end)
    matching = WindowSnapshot.objects.filter(
        scope=OuterRef("scope"), start=start, end=end, version=OuterRef("version")
    )
    rows = (
        ScopeVersion.objects.filter(scope__in=list(scopes))
        .annotate(
            snap_payload=Subquery(matching.values("payload")[:1]),
            snap_at=Subquery(matching.values("computed_at")[:1]),
        )
        .values_list("scope", "version", "snap_payload", "snap_at")
    )
    answers: dict[int, WindowMetrics] = {}
    versions: dict[int, int] = {}
    for scope, version, payload, computed_at in rows:
        versions[scope] = version
        if payload is not None and computed_at is not None:
            answers[scope] = WindowMetrics.from_payload(payload, computed_at)
    missing = [scope for scope in scopes if scope not in answers]
    if not missing:
        return answers
    now = timezone.now()
    fresh: dict[int, WindowMetrics] = {}
    team_scopes = [scope for scope in missing if scope != ORG_SCOPE]
    if team_scopes:
        parts = _compute_windows(team_ids=team_scopes, start=start, end=end)
        for scope in team_scopes:
            team = scopes[scope]
            fresh[scope] = WindowMetrics.build(
                team=team.slug if team is not None else None,
                start=start,
                end=end,
                computed_at=now,
                part=parts.get(scope) or compute.Partial(),
            )
    if ORG_SCOPE in missing:
        parts = _compute_windows(team_ids=None, start=start, end=end)
        fresh[ORG_SCOPE] = WindowMetrics.build(
            team=None, start=start, end=end, computed_at=now, part=parts[None]
        )
    # A scope nobody has recomputed yet has no version: answer it, but do not cache it.
    snapshots = [
        WindowSnapshot(
            scope=scope,
            start=start,
            end=end,
            version=versions[scope],
            payload=answer.payload(),
            computed_at=now,
        )
        for scope, answer in sorted(fresh.items())
        if scope in versions
    ]
    if snapshots:
        WindowSnapshot.objects.bulk_create(
            snapshots,
            update_conflicts=True,
            unique_fields=["scope", "start", "end"],
            update_fields=["version", "payload", "computed_at"],
        )
    answers.update(fresh)
    return answers


def window_metrics(*, team: Team | None, start: dt.date, end: dt.date) -> WindowMetrics:
    """The exact metrics of `[start, end)` for a team, or for the organization (None)."""
    scope = team.id if team is not None else ORG_SCOPE
    return _cached_windows(scopes={scope: team}, start=start, end=end)[scope]


def window_metrics_for_teams(
    *, teams: Sequence[Team], start: dt.date, end: dt.date
) -> dict[int, WindowMetrics]:
    """The metrics of `[start, end)` for each team, keyed by team id. At most six queries
    whatever the number of teams."""
    scopes: dict[int, Team | None] = {team.id: team for team in teams}
    if not scopes:
        return {}
    return _cached_windows(scopes=scopes, start=start, end=end)


@dataclass(frozen=True)
class WindowSamples:
    """The samples behind a team's metrics over one `[start, end)` window (METRICS.md):
    each duration sample in seconds, ascending, and the counts the rates are made of."""

    time_to_restore: tuple[float, ...] = ()
    failed_deployment_recovery: tuple[float, ...] = ()
    lead_time: tuple[float, ...] = ()
    deployments: int = 0
    failed_deployments: int = 0
    bus_factor: int | None = None
    bus_work_items: int = 0


SAMPLE_GROUPS = frozenset({"releases", "incidents", "recovery", "bus_factor"})


def _seconds(samples: str | None) -> tuple[float, ...]:
    """Sorted integer microseconds, as the metric queries return them, in seconds."""
    return tuple(micros / 1_000_000 for micros in json.loads(samples or "[]"))


def window_samples(
    *,
    team_ids: Sequence[int],
    start: dt.date,
    end: dt.date,
    groups: Collection[str] = SAMPLE_GROUPS,
) -> dict[int, WindowSamples]:
    """Each team's samples over `[start, end)`, from the very queries (and so by the very
    rules) that compute the metrics, whatever the number of teams one query per group
    asked for: `releases` (lead times, deployments, failed ones), `incidents` (times to
    restore), `recovery` (failed deployment recovery times), `bus_factor` (with its items
    of work, two queries). Fields of the groups not asked for keep their empty values."""
    _check_window(start, end)
    unknown = set(groups) - SAMPLE_GROUPS
    if unknown:
        raise ValueError(f"unknown sample groups: {sorted(unknown)}")
    if not team_ids:
        return {}
    tz = org_tz()
    start_at, end_at = window_bounds(start, end, tz)
    scan = compute.Scan(list(team_ids), start_at, end_at, tz.key)
    fields: dict[int | None, dict[str, Any]] = {team_id: {} for team_id in team_ids}
    if "releases" in groups:
        for (team_id, _), part in compute.release_aggregates(
            scan, by_team=True, by_week=False, samples=True
        ).items():
            fields[team_id] |= {
                "lead_time": _seconds(part.lead_samples),
                "deployments": part.deployments,
                "failed_deployments": part.failed_deployments,
            }
    if "incidents" in groups:
        for (team_id, _), incidents in compute.incident_aggregates(
            scan, by_team=True, by_week=False, samples=True
        ).items():
            fields[team_id]["time_to_restore"] = _seconds(incidents.ttr_samples)
    if "recovery" in groups:
        for (team_id, _), recovery in compute.recovery_aggregates(
            scan, by_team=True, by_week=False, samples=True
        ).items():
            fields[team_id]["failed_deployment_recovery"] = _seconds(recovery.fdrt_samples)
    if "bus_factor" in groups:
        for (team_id, _), factor in compute.bus_factors(scan, by_team=True, by_week=False).items():
            fields[team_id]["bus_factor"] = factor
        for team_id, items in compute.bus_work_items(scan).items():
            fields[team_id]["bus_work_items"] = items
    return {team_id: WindowSamples(**fields[team_id]) for team_id in team_ids}


def _weeks_of(start: dt.date, end: dt.date) -> list[dt.date]:
    """The ISO weeks (Mondays) that overlap `[start, end)`."""
    if end <= start:
        return []
    return weeks_between(start, end - dt.timedelta(days=1))


def _empty_week(scope: int, week: dt.date) -> WeeklyRollup:
    """An unsaved row for a week nobody computed: counts 0, statistics and computed_at None."""
    row = WeeklyRollup(scope=scope, team_id=scope if scope != ORG_SCOPE else None, week_start=week)
    row.computed_at = None  # type: ignore[assignment]
    return row


def weekly_series(
    *, scopes: Sequence[int], start: dt.date, end: dt.date
) -> dict[int, list[WeeklyRollup]]:
    """Weekly rollups of each scope (a team id, or ORG_SCOPE) for the weeks overlapping
    `[start, end)`, in one query. A week without a rollup row is an empty, unsaved row
    (counts 0, statistics None, computed_at None)."""
    weeks = _weeks_of(start, end)
    out: dict[int, list[WeeklyRollup]] = {scope: [] for scope in scopes}
    if not weeks or not scopes:
        return out
    found: dict[tuple[int, dt.date], WeeklyRollup] = {
        (row.scope, row.week_start): row
        for row in WeeklyRollup.objects.filter(
            scope__in=list(scopes), week_start__gte=weeks[0], week_start__lte=weeks[-1]
        ).defer("ttr_samples", "fdrt_samples", "lead_samples")
    }
    for scope in scopes:
        out[scope] = [found.get((scope, week)) or _empty_week(scope, week) for week in weeks]
    return out


def _rollup_stats(row: WeeklyRollup, prefix: str) -> Stats:
    n = getattr(row, f"{prefix}_n") or 0
    if not n:
        return Stats.empty()
    return Stats(
        getattr(row, f"{prefix}_median"),
        getattr(row, f"{prefix}_mean"),
        getattr(row, f"{prefix}_p90"),
        n,
    )


def week_metrics(row: WeeklyRollup) -> WindowMetrics:
    """One week's metrics from its rollup row: the same fields as a window's."""
    return WindowMetrics.build(
        team=None,
        start=row.week_start,
        end=row.week_start + dt.timedelta(days=7),
        computed_at=row.computed_at,
        part=compute.Partial(
            deployments=row.deployments,
            failed_deployments=row.failed_deployments,
            rework_deployments=row.rework_deployments,
            change_count=row.change_count,
            lead_time=_rollup_stats(row, "lead"),
            incidents=row.incidents,
            time_to_restore=_rollup_stats(row, "ttr"),
            failed_deployment_recovery=_rollup_stats(row, "fdrt"),
            open_incidents=row.open_incidents,
            bus_factor=row.bus_factor,
        ),
    )


def window_metrics_with_weeks(*, team: Team | None, start: dt.date, end: dt.date) -> WindowMetrics:
    """The exact window (window_metrics) with its ISO weeks from the rollups (API.md's
    metrics answer)."""
    scope = team.id if team is not None else ORG_SCOPE
    series = weekly_series(scopes=[scope], start=start, end=end)[scope]
    return replace(
        window_metrics(team=team, start=start, end=end),
        weeks=tuple(week_metrics(row) for row in series),
    )


def pending_recompute(*, team_ids: Sequence[int] | None) -> bool:
    """Whether writes are waiting for the worker (dirty buckets; None = any team)."""
    qs = DirtyBucket.objects.all()
    if team_ids is not None:
        qs = qs.filter(team_id__in=list(team_ids))
    return qs.exists()


def last_computed_at(*, scopes: Sequence[int]) -> dict[int, dt.datetime | None]:
    """When each scope's rollups were last computed (None: never)."""
    found = dict(
        WeeklyRollup.objects.filter(scope__in=list(scopes))
        .values("scope")
        .annotate(last=Max("computed_at"))
        .order_by()
        .values_list("scope", "last")
    )
    return {scope: found.get(scope) for scope in scopes}


@dataclass(frozen=True)
class Freshness:
    """How fresh a team's numbers are: when they were last computed, and whether a
    recompute is still pending (a dirty bucket the worker has not processed yet)."""

    computed_at: dt.datetime | None
    pending: bool


def team_freshness(*, team: Team) -> Freshness:
    return Freshness(
        computed_at=last_computed_at(scopes=[team.id])[team.id],
        pending=pending_recompute(team_ids=[team.id]),
    )


def preset_window(weeks: int, *, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The current ISO week so far and the `weeks - 1` whole weeks before it.

    `[start, end)` dates ending tomorrow, so today's incidents and releases count: a
    manager who resolves an incident sees the numbers move. Deployment frequency divides
    by the window's real length in days, so the partial week weighs what it should.
    """
    today = today or timezone.localdate(timezone=org_tz())
    monday = today - dt.timedelta(days=today.weekday())
    return monday - dt.timedelta(weeks=weeks - 1), today + dt.timedelta(days=1)


# --- reads for the dashboard ---------------------------------------------------------------


def scope_versions(scopes: Sequence[int]) -> dict[int, str]:
    """The recompute counter of each scope (a team id, or 0 for the organization) computed at
    least once, as "<row id>.<counter>" (one query). Every recompute bumps a scope's counter,
    so what is built from its rollups and window answers can be cached under it; the row id
    tells a counter apart from one of an emptied and refilled table."""
    rows = ScopeVersion.objects.filter(scope__in=list(scopes)).values_list("scope", "id", "version")
    return {scope: f"{row_id}.{version}" for scope, row_id, version in rows}


SparkRow = tuple[int, dt.date, int, int, float | None, float | None]


def weekly_spark_rows(*, scopes: Sequence[int], first: dt.date, last: dt.date) -> list[SparkRow]:
    """The weekly rollups of `scopes` from the week of `first` to the week of `last`, as
    (scope, week_start, deployments, failed_deployments, ttr_median, lead_median) tuples.

    Only the five columns a sparkline draws, as tuples: the overview reads 12 weeks of every
    team it shows, and full rollup rows would cost more to build than to draw.
    """
    return list(
        WeeklyRollup.objects.filter(
            scope__in=list(scopes), week_start__gte=first, week_start__lte=last
        ).values_list(
            "scope", "week_start", "deployments", "failed_deployments", "ttr_median", "lead_median"
        )
    )
