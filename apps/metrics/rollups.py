"""Weekly rollups: every metric per team (and for the organization) per ISO week.

The dirty-bucket outbox drives the worker: it takes every dirty (team, week), recomputes those
weeks with grouped queries (a few queries per team, whatever the number of weeks), recomputes
the organization-wide rows of the same weeks, bumps the scopes' versions (so cached window
answers refresh) and clears the buckets nobody re-marked meanwhile.

Idempotent: rows are upserts under (scope, week_start), so running twice, two workers at once,
or a rerun after a crash half-way all leave the same rows. Buckets are cleared only after their
weeks are written, so a crash leaves them dirty for the next run.

Organization-wide rows compute counts and percentiles over all teams' rows of the week; their
open incidents (additive) and bus factor (the lowest over all teams' services) come from the
teams' rows of the same week, written just before.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Min, Q, Sum
from django.utils import timezone

from apps.core.timezones import local_midnight, org_tz, week_start_of, weeks_between
from apps.metrics import compute
from apps.metrics.models import (
    ORG_SCOPE,
    DirtyBucket,
    RecomputeRun,
    ScopeVersion,
    WeeklyRollup,
    WindowSnapshot,
)
from apps.teams.models import Team

log = logging.getLogger(__name__)

RECHECK_WEEKS = 8
SNAPSHOT_MAX_AGE = dt.timedelta(days=14)
UPSERT_BATCH = 2_000
ROLLUP_FIELDS = [
    "team",
    "deployments",
    "failed_deployments",
    "rework_deployments",
    "change_count",
    "incidents",
    "open_incidents",
    "ttr_median",
    "ttr_mean",
    "ttr_p90",
    "ttr_n",
    "fdrt_median",
    "fdrt_mean",
    "fdrt_p90",
    "fdrt_n",
    "lead_median",
    "lead_mean",
    "lead_p90",
    "lead_n",
    "bus_factor",
    "computed_at",
]

Progress = Callable[[str, int], None]


def _row(scope: int, week: dt.date, part: compute.Partial, now: dt.datetime) -> WeeklyRollup:
    ttr, fdrt, lead = part.time_to_restore, part.failed_deployment_recovery, part.lead_time
    return WeeklyRollup(
        scope=scope,
        team_id=scope if scope != ORG_SCOPE else None,
        week_start=week,
        deployments=part.deployments,
        failed_deployments=part.failed_deployments,
        rework_deployments=part.rework_deployments,
        change_count=part.change_count,
        incidents=part.incidents,
        open_incidents=part.open_incidents,
        ttr_median=ttr.median,
        ttr_mean=ttr.mean,
        ttr_p90=ttr.p90,
        ttr_n=ttr.n,
        fdrt_median=fdrt.median,
        fdrt_mean=fdrt.mean,
        fdrt_p90=fdrt.p90,
        fdrt_n=fdrt.n,
        lead_median=lead.median,
        lead_mean=lead.mean,
        lead_p90=lead.p90,
        lead_n=lead.n,
        bus_factor=part.bus_factor,
        computed_at=now,
    )


def _upsert(rows: list[WeeklyRollup]) -> int:
    # One order for every writer (scope, then week): two workers never deadlock.
    rows.sort(key=lambda r: (r.scope, r.week_start))
    for i in range(0, len(rows), UPSERT_BATCH):
        WeeklyRollup.objects.bulk_create(
            rows[i : i + UPSERT_BATCH],
            update_conflicts=True,
            unique_fields=["scope", "week_start"],
            update_fields=ROLLUP_FIELDS,
        )
    return len(rows)


def versions_bump(*, scopes: Iterable[int]) -> None:
    """Make every cached window answer of these scopes stale."""
    ordered = sorted(set(scopes))
    if not ordered:
        return
    table = connection.ops.quote_name(ScopeVersion._meta.db_table)
    values = ", ".join(["(%s, 1)"] * len(ordered))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (scope, version) VALUES {values} "  # noqa: S608
            f"ON CONFLICT (scope) DO UPDATE SET version = {table}.version + 1",
            ordered,
        )


def _span(weeks: Sequence[dt.date]) -> tuple[dt.datetime, dt.datetime]:
    tz = org_tz()
    return local_midnight(weeks[0], tz), local_midnight(weeks[-1] + dt.timedelta(days=7), tz)


def _team_weeks(team_id: int, weeks: Sequence[dt.date]) -> dict[dt.date, compute.Partial]:
    """Every metric of one team for the given weeks: four grouped queries."""
    tzname = org_tz().key
    start, end = _span(weeks)
    wanted = set(weeks)
    parts = {week: compute.Partial() for week in weeks}
    scan = compute.Scan([team_id], start, end, tzname)
    for (_team, week), part in compute.release_aggregates(
        scan, by_team=False, by_week=True
    ).items():
        if week in wanted:
            parts[week] = part
    for (_team, week), (n, ttr, fdrt) in compute.incident_aggregates(
        scan, by_team=False, by_week=True
    ).items():
        if week in wanted:
            part = parts[week]
            part.incidents, part.time_to_restore, part.failed_deployment_recovery = n, ttr, fdrt
    for (_team, week), n in compute.open_incidents_weekly(
        team_ids=[team_id], weeks=weeks, tzname=tzname, by_team=False
    ).items():
        if week in wanted:
            parts[week].open_incidents = n
    for (_team, week), factor in compute.bus_factors(
        compute.bus_work(scan, by_week=True), by_team=False
    ).items():
        if week in wanted:
            parts[week].bus_factor = factor
    return parts


def _org_weeks(weeks: Sequence[dt.date], *, stream: bool = False) -> dict[dt.date, compute.Partial]:
    """Organization-wide metrics of the given weeks. Counts and percentiles come from all
    rows of each week; open incidents and the bus factor from the teams' rollups of the week
    (call it after those are written)."""
    tzname = org_tz().key
    wanted = set(weeks)
    start, end = _span(weeks)
    parts = {week: compute.Partial() for week in weeks}
    scan = compute.Scan(None, start, end, tzname, stream)
    for (_team, week), part in compute.release_aggregates(
        scan, by_team=False, by_week=True
    ).items():
        if week in wanted:
            parts[week] = part
    for (_team, week), (n, ttr, fdrt) in compute.incident_aggregates(
        scan, by_team=False, by_week=True
    ).items():
        if week in wanted:
            part = parts[week]
            part.incidents, part.time_to_restore, part.failed_deployment_recovery = n, ttr, fdrt
    from_teams = (
        WeeklyRollup.objects.filter(week_start__gte=weeks[0], week_start__lte=weeks[-1])
        .exclude(scope=ORG_SCOPE)
        .values("week_start")
        .annotate(open=Sum("open_incidents"), bus=Min("bus_factor"))
        .order_by()
    )
    for row in from_teams:
        if row["week_start"] in wanted:
            parts[row["week_start"]].open_incidents = row["open"] or 0
            parts[row["week_start"]].bus_factor = row["bus"]
    return parts


def rollups_recompute(*, team_id: int, weeks: Iterable[dt.date], include_org: bool = True) -> int:
    """Recompute one team's rollups for the given ISO weeks (Mondays), and the organization's
    rows of the same weeks. Returns the number of rows written."""
    ordered = sorted(set(weeks))
    if not ordered:
        return 0
    parts = _team_weeks(team_id, ordered)
    now = timezone.now()
    with transaction.atomic():
        written = _upsert([_row(team_id, week, part, now) for week, part in parts.items()])
        scopes = [team_id]
        if include_org:
            written += _rollups_write_org(ordered, now=now)
            scopes.append(ORG_SCOPE)
        versions_bump(scopes=scopes)
    return written


def _rollups_write_org(weeks: Sequence[dt.date], *, now: dt.datetime) -> int:
    parts = _org_weeks(weeks)
    return _upsert([_row(ORG_SCOPE, week, part, now) for week, part in parts.items()])


def rollups_recompute_org(*, weeks: Iterable[dt.date]) -> int:
    ordered = sorted(set(weeks))
    if not ordered:
        return 0
    with transaction.atomic():
        written = _rollups_write_org(ordered, now=timezone.now())
        versions_bump(scopes=[ORG_SCOPE])
    return written


def _clear(dirty: list[tuple[int, int, dt.date, dt.datetime]]) -> int:
    """Delete the buckets we recomputed, unless someone re-marked them meanwhile."""
    cleared = 0
    for i in range(0, len(dirty), 500):
        condition = Q()
        for bucket_id, _team, _week, marked_at in dirty[i : i + 500]:
            condition |= Q(id=bucket_id, marked_at=marked_at)
        cleared += DirtyBucket.objects.filter(condition).delete()[0]
    return cleared


def rollups_process_dirty(
    *, trigger: str = "worker", recomputed_teams: list[int] | None = None
) -> int:
    """Recompute every dirty bucket, then clear those nobody re-marked meanwhile.

    Returns the number of buckets processed, and logs a RecomputeRun. The ids of the teams
    recomputed are appended to `recomputed_teams` when given.
    """
    dirty = list(
        DirtyBucket.objects.order_by("team_id", "week_start").values_list(
            "id", "team_id", "week_start", "marked_at"
        )
    )
    if not dirty:
        return 0
    run = RecomputeRun.objects.create(trigger=trigger, started_at=timezone.now())
    by_team: dict[int, list[dt.date]] = defaultdict(list)
    for _id, team_id, week, _marked in dirty:
        by_team[team_id].append(week)
    all_weeks: set[dt.date] = set()
    for team_id, weeks in sorted(by_team.items()):
        rollups_recompute(team_id=team_id, weeks=weeks, include_org=False)
        all_weeks.update(weeks)
    rollups_recompute_org(weeks=all_weeks)
    if recomputed_teams is not None:
        recomputed_teams.extend(sorted(by_team))
    # Clear only what we saw: a bucket re-marked during the recompute has a newer
    # marked_at and stays dirty for the next run.
    _clear(dirty)
    run.buckets = len(dirty)
    run.finished_at = timezone.now()
    run.save(update_fields=["buckets", "finished_at"])
    log.info("recomputed %d dirty buckets of %d teams", len(dirty), len(by_team))
    return len(dirty)


def _team_week(key: compute.Key) -> tuple[int, dt.date]:
    team_id, week = key
    if team_id is None or week is None:
        raise ValueError(f"expected a (team, week) group, got {key!r}")
    return team_id, week


def rollups_recompute_all(
    *,
    team: Team | None = None,
    since: dt.date | None = None,
    progress: Progress | None = None,
    trigger: str = "full",
) -> int:
    """Recompute every week of every team (or of one team) from `since` (or the beginning),
    and the organization's rows of those weeks, with GROUP BY (team, week) over whole tables.

    Rows stream from the database a group at a time, so memory stays flat whatever the size
    of the history. Dirty buckets of the covered weeks marked before the run are cleared; rows
    of weeks that no longer have data are removed. Returns the number of rows written.
    """
    report = progress or (lambda _label, _n: None)
    run = RecomputeRun.objects.create(trigger=trigger, started_at=timezone.now())
    started = run.started_at
    tz = org_tz()
    tzname = tz.key
    since_week = week_start_of(local_midnight(since, tz), tz) if since else None
    since_at = local_midnight(since_week, tz) if since_week else None
    team_ids = [team.id] if team is not None else None
    current_week = week_start_of(timezone.now(), tz)
    scan = compute.Scan(team_ids, since_at, None, tzname, stream=True)

    parts: dict[tuple[int, dt.date], compute.Partial] = {}
    for key, part in compute.release_aggregates(scan, by_team=True, by_week=True).items():
        parts[_team_week(key)] = part
    report("releases", 1)
    for key, (n, ttr, fdrt) in compute.incident_aggregates(
        scan, by_team=True, by_week=True
    ).items():
        part = parts.setdefault(_team_week(key), compute.Partial())
        part.incidents, part.time_to_restore, part.failed_deployment_recovery = n, ttr, fdrt
    report("incidents", 1)
    for key, factor in compute.bus_factors(
        compute.bus_work(scan, by_week=True), by_team=True
    ).items():
        parts.setdefault(_team_week(key), compute.Partial()).bus_factor = factor
    report("bus factor", 1)

    # Open incidents at the end of each week: the incidents open when the range starts,
    # plus those started, minus those resolved, week by week.
    base = (
        compute.open_incidents_at(team_ids=team_ids, moment=since_at, by_team=True)
        if since_at is not None
        else {}
    )
    resolved = compute.resolved_weekly(team_ids=team_ids, start=since_at, tzname=tzname)
    report("open incidents", 1)
    first_week: dict[int, dt.date] = {}
    for team_id, week in parts:
        if team_id not in first_week or week < first_week[team_id]:
            first_week[team_id] = week
    for base_team in base:
        if base_team is not None and since_week is not None:
            first_week[base_team] = since_week
    events: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    for (team_id, week), part in parts.items():
        if part.incidents:
            events[team_id].append((week, part.incidents))
    for key, n in resolved.items():
        team_id, week = _team_week(key)
        events[team_id].append((week, -n))

    rows: list[WeeklyRollup] = []
    for team_id, first in sorted(first_week.items()):
        weeks = weeks_between(first, max(current_week, first))
        open_counts = compute.running_counts(
            events.get(team_id, ()), weeks, base=base.get(team_id, 0)
        )
        for week in weeks:
            part = parts.get((team_id, week)) or compute.Partial()
            part.open_incidents = open_counts[week]
            rows.append(_row(team_id, week, part, started))
    del parts, events
    with transaction.atomic():
        written = _upsert(rows)
        report("team rows", len(rows))
        del rows
        # Weeks of the covered teams that no longer have any data.
        stale = WeeklyRollup.objects.filter(computed_at__lt=started).exclude(scope=ORG_SCOPE)
        if team_ids is not None:
            stale = stale.filter(scope__in=team_ids)
        if since_week is not None:
            stale = stale.filter(week_start__gte=since_week)
        stale.delete()

        org_first = (
            since_week
            or WeeklyRollup.objects.exclude(scope=ORG_SCOPE).aggregate(first=Min("week_start"))[
                "first"
            ]
        )
        org_rows: list[WeeklyRollup] = []
        if org_first is not None:
            org_weeks = weeks_between(org_first, max(current_week, org_first))
            org_parts = _org_weeks(org_weeks, stream=True)
            org_rows = [_row(ORG_SCOPE, w, p, started) for w, p in org_parts.items()]
            written += _upsert(org_rows)
        org_stale = WeeklyRollup.objects.filter(scope=ORG_SCOPE, computed_at__lt=started)
        if since_week is not None:
            org_stale = org_stale.filter(week_start__gte=since_week)
        org_stale.delete()
        report("organization rows", len(org_rows))

        covered = DirtyBucket.objects.filter(marked_at__lt=started)
        if team_ids is not None:
            covered = covered.filter(team_id__in=team_ids)
        if since_week is not None:
            covered = covered.filter(week_start__gte=since_week)
        cleared = covered.delete()[0]
        scopes = set(team_ids or Team.objects.values_list("id", flat=True))
        versions_bump(scopes=scopes | {ORG_SCOPE})
    run.buckets = cleared
    run.finished_at = timezone.now()
    run.save(update_fields=["buckets", "finished_at"])
    log.info("full recompute: %d rows written, %d dirty buckets cleared", written, cleared)
    return written


def rollups_recheck_recent(*, weeks: int = RECHECK_WEEKS) -> int:
    """Nightly: recompute the last `weeks` weeks of every team and of the organization (open
    incidents move on with time; a missed bucket is caught), and drop old cached windows."""
    today = timezone.localdate(timezone=org_tz())
    since = today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks - 1)
    written = rollups_recompute_all(since=since, trigger="recheck")
    WindowSnapshot.objects.filter(computed_at__lt=timezone.now() - SNAPSHOT_MAX_AGE).delete()
    return written
