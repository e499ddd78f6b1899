"""A plain-Python reading of METRICS.md over in-memory rows, built only on the pure formulas.

The database path (grouped SQL aggregates) must give exactly these answers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from apps.core.timezones import window_bounds
from apps.metrics.formulas import (
    Stats,
    bus_factor_of,
    change_failure_rate,
    deployment_frequency,
    levels_for,
    rework_rate,
)

ONE_MICRO = dt.timedelta(microseconds=1)


def micros(end: dt.datetime, start: dt.datetime) -> int:
    return (end - start) // ONE_MICRO


def window(
    *,
    releases: list[Any],
    incidents: list[Any],
    team_ids: set[int] | None,
    start: dt.date,
    end: dt.date,
    tz: Any,
    year: int = 2023,
) -> dict[str, Any]:
    """The window answer (API dict without team and computed_at) of the given model rows."""
    lo, hi = window_bounds(start, end, tz)

    def mine(row: Any) -> bool:
        return team_ids is None or row.team_id in team_ids

    in_releases = [r for r in releases if mine(r) and lo <= r.deployed_at < hi]
    in_incidents = [i for i in incidents if mine(i) and lo <= i.started_at < hi]
    caused = {i.caused_by_id for i in incidents if i.caused_by_id is not None}
    by_id = {r.id: r for r in releases}
    failed = sum(1 for r in in_releases if r.status in ("failed", "rolled_back") or r.id in caused)
    rework = sum(1 for r in in_releases if r.fixes_incident_id is not None)
    lead = Stats.of_micros(
        micros(r.deployed_at, r.first_commit_at)
        for r in in_releases
        if r.first_commit_at is not None and r.first_commit_at < r.deployed_at
    )
    # An incident whose start is unknown is no sample of either recovery time.
    timed = [i for i in in_incidents if i.resolved_at is not None and not i.start_unknown]
    ttr = Stats.of_micros(micros(i.resolved_at, i.started_at) for i in timed)
    fdrt = Stats.of_micros(
        micros(i.resolved_at, by_id[i.caused_by_id].deployed_at)
        for i in timed
        if i.caused_by_id is not None
    )
    open_at_end = sum(
        1
        for i in incidents
        if mine(i) and i.started_at < hi and (i.resolved_at is None or i.resolved_at >= hi)
    )
    work: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in in_releases:
        if r.deployed_by:
            work[(r.team_id, r.service)][r.deployed_by] += 1
    for i in in_incidents:
        if i.resolved_at is not None and i.resolved_by and i.service:
            work[(i.team_id, i.service)][i.resolved_by] += 1
    factors = [f for f in (bus_factor_of(people) for people in work.values()) if f is not None]
    deployments = len(in_releases)
    frequency = deployment_frequency(deployments, (end - start).days)
    cfr = change_failure_rate(failed, deployments)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "deployments": deployments,
        "failed_deployments": failed,
        "rework_deployments": rework,
        "change_count": sum(r.change_count for r in in_releases),
        "incidents": len(in_incidents),
        "change_failure_rate": cfr,
        "deployment_frequency_per_week": frequency,
        "rework_rate": rework_rate(rework, deployments),
        "open_incidents": open_at_end,
        "time_to_restore_seconds": ttr.as_dict(),
        "failed_deployment_recovery_seconds": fdrt.as_dict(),
        "lead_time_seconds": lead.as_dict(),
        "bus_factor": min(factors) if factors else None,
        "levels": levels_for(
            deployments=deployments,
            deployment_frequency_per_week=frequency,
            change_failure_rate=cfr,
            lead_time=lead,
            time_to_restore=ttr,
            year=year,
        ),
    }
