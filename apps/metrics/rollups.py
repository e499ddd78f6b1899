"""Weekly rollups: every metric per team (and for the organization) per ISO week.

The dirty-bucket outbox drives the worker: it takes every dirty (team, week), recomputes those
weeks with grouped queries (a few queries per team, whatever the number of weeks), recomputes
the organization-wide rows of the same weeks, bumps the scopes' versions (so cached window
answers refresh) and clears the buckets nobody re-marked meanwhile.

Idempotent: rows are upserts under (scope, week_start), so running twice, two workers at once,
or a rerun after a crash half-way all leave the same rows. Buckets are cleared only after their
weeks are written, so a crash leaves them dirty for the next run.

Organization-wide rows are derived from the teams' rows of the same week, written just before:
counts add up, open incidents too, the bus factor is the lowest of the teams' (the lowest over
every team's services), and medians, means and p90 come from the teams' samples merged (each
team row keeps its sorted samples), so they are exactly those of the raw rows. A week is one
indexed read of at most one row per team, however many incidents and releases it holds.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min, Q
from django.utils import timezone

from apps.core.timezones import local_midnight, org_tz, week_start_of, weeks_between
from apps.metrics import compute
from apps.metrics.formulas import Stats
from apps.metrics.models import (
    ORG_SCOPE,
    DirtyBucket,
    RecomputeRun,
    WeeklyRollup,
    WindowSnapshot,
)
from apps.metrics.rollup_rows import (
    SAMPLE_COLUMNS,
    Row,
    fast_commit,
    rollup_row,
    rollups_upsert,
    versions_bump,
)
from apps.teams.models import Team

log = logging.getLogger(__name__)

RECHECK_WEEKS = 8
SNAPSHOT_MAX_AGE = dt.timedelta(days=14)
# pg_advisory_xact_lock key: one transaction at a time derives organization weeks from the
# teams' rows, so each one reads the team rows the previous one committed.
ORG_LOCK_KEY = 4_631_802_117
ITERATE_WEEKS = 8  # organization weeks are derived from the teams' rows this many at a time

Progress = Callable[[str, int], None]


def _span(weeks: Sequence[dt.date]) -> tuple[dt.datetime, dt.datetime]:
    tz = org_tz()
    return local_midnight(weeks[0], tz), local_midnight(weeks[-1] + dt.timedelta(days=7), tz)


def _each_week(
    results: dict[compute.Key, Any], weeks: Sequence[dt.date], single: bool
) -> Iterator[tuple[dt.date, Any]]:
    """The results of the wanted weeks, keyed by week (one ungrouped result: the week)."""
    wanted = set(weeks)
    for (_team, week), value in results.items():
        when = weeks[0] if single else week
        if when is not None and when in wanted:
            yield when, value


def _counts_and_durations(
    scan: compute.Scan,
    weeks: Sequence[dt.date],
    parts: dict[dt.date, compute.Partial],
    *,
    samples: bool = False,
) -> bool:
    """Fill releases, incidents and recovery times of each week (with `samples`, their
    sorted samples too); three queries. A single week is read without grouping (no sort by
    week). Returns whether it was a single week."""
    single = len(weeks) == 1
    by_week = not single

    def each(results: dict[compute.Key, Any]) -> Iterator[tuple[dt.date, Any]]:
        return _each_week(results, weeks, single)

    groups = {"by_team": False, "by_week": by_week, "samples": samples}
    for week, part in each(compute.release_aggregates(scan, **groups)):
        parts[week] = part
    for week, incidents in each(compute.incident_aggregates(scan, **groups)):
        parts[week].incidents = incidents.incidents
        parts[week].time_to_restore = incidents.time_to_restore
        parts[week].ttr_samples = incidents.ttr_samples
    for week, recovery in each(compute.recovery_aggregates(scan, **groups)):
        parts[week].failed_deployment_recovery = recovery.failed_deployment_recovery
        parts[week].fdrt_samples = recovery.fdrt_samples
    return single


def _team_weeks(team_id: int, weeks: Sequence[dt.date]) -> dict[dt.date, compute.Partial]:
    """Every metric of one team for the given weeks: five queries, whatever their number."""
    tzname = org_tz().key
    start, end = _span(weeks)
    parts = {week: compute.Partial() for week in weeks}
    scan = compute.Scan([team_id], start, end, tzname)
    single = _counts_and_durations(scan, weeks, parts, samples=True)
    for week, n in _each_week(
        compute.open_incidents_weekly(
            team_ids=[team_id], weeks=weeks, tzname=tzname, by_team=False
        ),
        weeks,
        False,
    ):
        parts[week].open_incidents = n
    for week, factor in _each_week(
        compute.bus_factors(scan, by_team=False, by_week=not single), weeks, single
    ):
        parts[week].bus_factor = factor
    return parts


def _joined_stats(text: str | None) -> Stats:
    """Statistics of integer microseconds given as one comma-separated text (the teams'
    lists of a week, joined by the database or by `_OrgWeek`)."""
    if not text:
        return Stats.empty()
    return Stats.of_micros_array(np.fromstring(text, dtype=np.int64, sep=","))


def _inner(samples: str | None) -> str:
    """The values of a JSON list of integers, without the brackets ('' for none)."""
    return samples[1:-1] if samples else ""


@dataclass
class _OrgWeek:
    """The organization's week, added up from its teams' weeks: every count is a sum, the bus
    factor the lowest of the teams', the statistics those of the teams' samples merged."""

    deployments: int = 0
    failed_deployments: int = 0
    rework_deployments: int = 0
    change_count: int = 0
    incidents: int = 0
    open_incidents: int = 0
    bus_factor: int | None = None
    ttr: list[str] = field(default_factory=list)
    fdrt: list[str] = field(default_factory=list)
    lead: list[str] = field(default_factory=list)

    def add(self, part: compute.Partial) -> None:
        """Add one team's week (its samples as JSON text)."""
        self.deployments += part.deployments
        self.failed_deployments += part.failed_deployments
        self.rework_deployments += part.rework_deployments
        self.change_count += part.change_count
        self.incidents += part.incidents
        self.open_incidents += part.open_incidents
        if part.bus_factor is not None:
            self.bus_factor = (
                part.bus_factor
                if self.bus_factor is None
                else min(self.bus_factor, part.bus_factor)
            )
        for kept, samples in (
            (self.ttr, part.ttr_samples),
            (self.fdrt, part.fdrt_samples),
            (self.lead, part.lead_samples),
        ):
            values = _inner(samples)
            if values:
                kept.append(values)

    def partial(self) -> compute.Partial:
        return compute.Partial(
            deployments=self.deployments,
            failed_deployments=self.failed_deployments,
            rework_deployments=self.rework_deployments,
            change_count=self.change_count,
            lead_time=_joined_stats(",".join(self.lead)),
            incidents=self.incidents,
            time_to_restore=_joined_stats(",".join(self.ttr)),
            failed_deployment_recovery=_joined_stats(",".join(self.fdrt)),
            open_incidents=self.open_incidents,
            bus_factor=self.bus_factor,
        )


def _lock_org_weeks() -> None:
    """Serialize the transactions that write organization weeks (PostgreSQL; SQLite has a
    single writer anyway). Taken after the team rows are written and held until commit: the
    next writer then reads them, so two workers recomputing different teams of one week
    never both miss the other's team."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ORG_LOCK_KEY])


def _org_week_sql() -> str:
    """Per week, the teams' rows added up: sums, the lowest bus factor, how many rows have
    no samples recorded, and each metric's samples of every team as one comma-separated
    text (each list without its brackets; empty lists left out)."""
    table = connection.ops.quote_name(WeeklyRollup._meta.db_table)
    if connection.vendor == "postgresql":
        joined = "STRING_AGG(NULLIF(TRIM(BOTH '[]' FROM {}), ''), ',')"
    else:
        joined = "GROUP_CONCAT(NULLIF(TRIM({}, '[]'), ''), ',')"
    unrecorded = " OR ".join(f"{column} IS NULL" for column in SAMPLE_COLUMNS)
    return (
        "SELECT week_start, SUM(deployments), SUM(failed_deployments), "  # noqa: S608
        "SUM(rework_deployments), SUM(change_count), SUM(incidents), SUM(open_incidents), "
        f"MIN(bus_factor), SUM(CASE WHEN {unrecorded} THEN 1 ELSE 0 END), "
        + ", ".join(joined.format(column) for column in SAMPLE_COLUMNS)
        + f" FROM {table} WHERE week_start >= %s AND week_start <= %s AND scope <> %s "
        "GROUP BY week_start"
    )


def _org_weeks(weeks: Sequence[dt.date]) -> dict[dt.date, compute.Partial]:
    """Organization-wide metrics of the given weeks, from the teams' rows of those weeks
    (call it after they are written, in the same transaction): a grouped read through the
    (week_start, scope) index returns, per week, the sums, the lowest bus factor and the
    teams' samples joined. A long range is read a few weeks at a time, so only a few
    weeks' samples are in memory at once.

    A week where some team row has no samples recorded (written before rollups kept them)
    gets its counts and statistics from the raw rows instead; its open incidents and bus
    factor still come from the teams' rows.
    """
    _lock_org_weeks()
    ordered = sorted(set(weeks))
    parts = {week: compute.Partial() for week in ordered}
    sql = _org_week_sql()
    adapt = connection.ops.adapt_datefield_value
    incomplete: list[dt.date] = []
    with connection.cursor() as cursor:
        for i in range(0, len(ordered), ITERATE_WEEKS):
            chunk = ordered[i : i + ITERATE_WEEKS]
            cursor.execute(sql, [adapt(chunk[0]), adapt(chunk[-1]), ORG_SCOPE])
            for row in cursor.fetchall():
                (week, deployed, failed, rework, changes, incidents, open_, bus, missing) = row[:9]
                week = compute.week_date(week)
                if week not in parts:
                    continue
                part = compute.Partial(open_incidents=int(open_ or 0), bus_factor=bus)
                if missing:
                    incomplete.append(week)
                else:
                    ttr, fdrt, lead = row[9:]
                    part.deployments = int(deployed or 0)
                    part.failed_deployments = int(failed or 0)
                    part.rework_deployments = int(rework or 0)
                    part.change_count = int(changes or 0)
                    part.incidents = int(incidents or 0)
                    part.time_to_restore = _joined_stats(ttr)
                    part.failed_deployment_recovery = _joined_stats(fdrt)
                    part.lead_time = _joined_stats(lead)
                parts[week] = part
    if incomplete:
        _org_weeks_from_raw_rows(incomplete, parts)
    return parts


def _org_weeks_from_raw_rows(
    weeks: Sequence[dt.date], parts: dict[dt.date, compute.Partial]
) -> None:
    """Counts and statistics of organization weeks read from every team's raw rows (three
    queries over the weeks' incidents and releases); open incidents and bus factor are
    kept from `parts`."""
    ordered = sorted(weeks)
    start, end = _span(ordered)
    raw = {week: compute.Partial() for week in ordered}
    _counts_and_durations(compute.Scan(None, start, end, org_tz().key), ordered, raw)
    for week, part in raw.items():
        part.open_incidents = parts[week].open_incidents
        part.bus_factor = parts[week].bus_factor
        parts[week] = part


def rollups_recompute(*, team_id: int, weeks: Iterable[dt.date], include_org: bool = True) -> int:
    """Recompute one team's rollups for the given ISO weeks (Mondays), and the organization's
    rows of the same weeks. Returns the number of rows written."""
    ordered = sorted(set(weeks))
    if not ordered:
        return 0
    with transaction.atomic():
        fast_commit()
        written = _write_team(team_id, ordered, now=timezone.now())
        scopes = [team_id]
        if include_org:
            written += _write_org(ordered, now=timezone.now())
            scopes.append(ORG_SCOPE)
        versions_bump(scopes=scopes)
    return written


def _write_team(team_id: int, weeks: Sequence[dt.date], *, now: dt.datetime) -> int:
    parts = _team_weeks(team_id, weeks)
    return rollups_upsert([rollup_row(team_id, week, part, now) for week, part in parts.items()])


def _write_org(weeks: Sequence[dt.date], *, now: dt.datetime) -> int:
    parts = _org_weeks(weeks)
    return rollups_upsert([rollup_row(ORG_SCOPE, week, part, now) for week, part in parts.items()])


def rollups_recompute_org(*, weeks: Iterable[dt.date]) -> int:
    """Recompute the organization's rows of the given weeks from all teams' rows."""
    ordered = sorted(set(weeks))
    if not ordered:
        return 0
    with transaction.atomic():
        fast_commit()
        written = _write_org(ordered, now=timezone.now())
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
    *,
    trigger: str = "worker",
    recomputed_teams: list[int] | None = None,
    recomputed_weeks: dict[int, list[dt.date]] | None = None,
) -> int:
    """Recompute every dirty bucket, then clear those nobody re-marked meanwhile.

    One transaction: the teams' weeks, the organization's rows of the same weeks, the
    scopes' versions, the cleared buckets and the RecomputeRun that logs them commit
    together, or (after a crash) not at all and the buckets stay dirty. Returns the number
    of buckets processed. The ids of the teams recomputed are appended to `recomputed_teams`
    when given, and each team's recomputed weeks (Mondays) added to `recomputed_weeks`.
    """
    started = timezone.now()
    dirty = list(
        DirtyBucket.objects.order_by("team_id", "week_start").values_list(
            "id", "team_id", "week_start", "marked_at"
        )
    )
    if not dirty:
        return 0
    by_team: dict[int, list[dt.date]] = defaultdict(list)
    for _id, team_id, week, _marked in dirty:
        by_team[team_id].append(week)
    all_weeks: set[dt.date] = set()
    with transaction.atomic():
        fast_commit()
        for team_id, weeks in sorted(by_team.items()):
            _write_team(team_id, sorted(set(weeks)), now=started)
            all_weeks.update(weeks)
        _write_org(sorted(all_weeks), now=started)
        versions_bump(scopes=[ORG_SCOPE, *by_team])
        # Clear only what we saw: a bucket re-marked during the recompute has a newer
        # marked_at and stays dirty for the next run.
        _clear(dirty)
        RecomputeRun.objects.create(
            trigger=trigger, started_at=started, finished_at=timezone.now(), buckets=len(dirty)
        )
    if recomputed_teams is not None:
        recomputed_teams.extend(sorted(by_team))
    if recomputed_weeks is not None:
        for team_id, weeks in by_team.items():
            recomputed_weeks.setdefault(team_id, []).extend(sorted(set(weeks)))
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

    Only grouped rows leave the database (one per team and week), so memory stays flat
    whatever the size of the history. On PostgreSQL, when not called inside a transaction,
    the independent reads run side by side on their own connections (the database does the
    work, so this uses its cores). The writes are one transaction: team and organization
    rows, removal of weeks that no longer have data, the scopes' versions, and the clearing
    of the dirty buckets that were committed before the run began. Returns the number of
    rows written.
    """
    workers = settings.EXECDASH_RECOMPUTE_CONNECTIONS
    parallel = connection.vendor == "postgresql" and not connection.in_atomic_block
    if parallel and workers > 1:
        return _recompute_all(
            team=team, since=since, progress=progress, trigger=trigger, workers=workers
        )
    with transaction.atomic():
        fast_commit(whole_tables=True)
        return _recompute_all(team=team, since=since, progress=progress, trigger=trigger)


def _read(jobs: dict[str, Callable[[], Any]], *, workers: int, report: Progress) -> dict[str, Any]:
    """Run read-only jobs: one after the other here, or `workers` at once on connections of
    their own (each in a transaction that sorts in memory and skips JIT)."""
    if workers <= 1:
        out = {}
        for name, job in jobs.items():
            out[name] = job()
            report(name, 1)
        return out

    def run(job: Callable[[], Any]) -> Any:
        try:
            with transaction.atomic():
                fast_commit(whole_tables=True)
                return job()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(run, job) for name, job in jobs.items()}
        out = {}
        for name, future in futures.items():
            out[name] = future.result()
            report(name, 1)
    return out


def _recompute_all(
    *,
    team: Team | None,
    since: dt.date | None,
    progress: Progress | None,
    trigger: str,
    workers: int = 1,
) -> int:
    report = progress or (lambda _label, _n: None)
    started = timezone.now()
    tz = org_tz()
    tzname = tz.key
    since_week = week_start_of(local_midnight(since, tz), tz) if since else None
    since_at = local_midnight(since_week, tz) if since_week else None
    team_ids = [team.id] if team is not None else None
    # The buckets this run answers for: those committed before it reads anything.
    covered = DirtyBucket.objects.all()
    if team_ids is not None:
        covered = covered.filter(team_id__in=team_ids)
    if since_week is not None:
        covered = covered.filter(week_start__gte=since_week)
    dirty = list(covered.values_list("id", "team_id", "week_start", "marked_at"))
    current_week = week_start_of(timezone.now(), tz)
    scan = compute.Scan(team_ids, since_at, None, tzname)

    # Longest first, so that side by side they finish together. The organization's weeks
    # need no reads of their own: they are added up from the teams' weeks.
    jobs: dict[str, Callable[[], Any]] = {
        "bus factor": lambda: compute.bus_factors(scan, by_team=True, by_week=True),
        "incidents": lambda: compute.incident_aggregates(
            scan, by_team=True, by_week=True, samples=True
        ),
        "releases": lambda: compute.release_aggregates(
            scan, by_team=True, by_week=True, samples=True
        ),
        "recovery": lambda: compute.recovery_aggregates(
            scan, by_team=True, by_week=True, samples=True
        ),
    }
    jobs["resolved"] = lambda: compute.resolved_weekly(
        team_ids=team_ids, start=since_at, tzname=tzname
    )
    if since_at is not None:
        jobs["open before"] = lambda: compute.open_incidents_at(
            team_ids=team_ids, moment=since_at, by_team=True
        )
    found = _read(jobs, workers=workers, report=report)

    parts: dict[tuple[int, dt.date], compute.Partial] = {}
    for key, part in found["releases"].items():
        parts[_team_week(key)] = part
    for key, incidents in found["incidents"].items():
        part = parts.setdefault(_team_week(key), compute.Partial())
        part.incidents, part.time_to_restore = incidents.incidents, incidents.time_to_restore
        part.ttr_samples = incidents.ttr_samples
    for key, recovery in found["recovery"].items():
        part = parts.setdefault(_team_week(key), compute.Partial())
        part.failed_deployment_recovery = recovery.failed_deployment_recovery
        part.fdrt_samples = recovery.fdrt_samples
    for key, factor in found["bus factor"].items():
        parts.setdefault(_team_week(key), compute.Partial()).bus_factor = factor

    # Open incidents at the end of each week: the incidents open when the range starts,
    # plus those started, minus those resolved, week by week.
    base: dict[int | None, int] = found.get("open before", {})
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
    for key, n in found["resolved"].items():
        team_id, week = _team_week(key)
        events[team_id].append((week, -n))

    rows: list[Row] = []
    by_week: dict[dt.date, list[compute.Partial]] = defaultdict(list)
    for team_id, first in sorted(first_week.items()):
        weeks = weeks_between(first, max(current_week, first))
        open_counts = compute.running_counts(
            events.get(team_id, ()), weeks, base=base.get(team_id, 0)
        )
        for week in weeks:
            part = parts.get((team_id, week)) or compute.Partial()
            part.open_incidents = open_counts[week]
            by_week[week].append(part)
            rows.append(rollup_row(team_id, week, part, started))
    del parts, events

    org_rows: list[Row] = []
    if team_ids is None:
        # Every team is in this run: each organization week is added up from the teams'
        # weeks above, one week's samples parsed at a time.
        org_first = since_week or min(first_week.values(), default=None)
        if org_first is not None:
            for week in weeks_between(org_first, current_week):
                week_sum = _OrgWeek()
                for part in by_week.pop(week, ()):
                    week_sum.add(part)
                org_rows.append(rollup_row(ORG_SCOPE, week, week_sum.partial(), started))
    del by_week

    with transaction.atomic():
        fast_commit()
        written = rollups_upsert(rows)
        report("team rows", len(rows))
        del rows
        # Weeks of the covered teams that no longer have any data.
        stale = WeeklyRollup.objects.filter(computed_at__lt=started).exclude(scope=ORG_SCOPE)
        if team_ids is not None:
            stale = stale.filter(scope__in=team_ids)
        if since_week is not None:
            stale = stale.filter(week_start__gte=since_week)
        stale.delete()
        if team_ids is not None:
            # The other teams' weeks stand: the organization's rows are recomputed from
            # every team's rows, for the weeks this team's history spans.
            org_first = (
                since_week
                or WeeklyRollup.objects.exclude(scope=ORG_SCOPE).aggregate(first=Min("week_start"))[
                    "first"
                ]
            )
            if org_first is not None:
                org_parts = _org_weeks(weeks_between(org_first, current_week))
                org_rows = [rollup_row(ORG_SCOPE, w, p, started) for w, p in org_parts.items()]
        _lock_org_weeks()
        written += rollups_upsert(org_rows)
        org_stale = WeeklyRollup.objects.filter(scope=ORG_SCOPE, computed_at__lt=started)
        if since_week is not None:
            org_stale = org_stale.filter(week_start__gte=since_week)
        org_stale.delete()
        report("organization rows", len(org_rows))

        scopes = set(team_ids or Team.objects.values_list("id", flat=True))
        versions_bump(scopes=scopes | {ORG_SCOPE})
        cleared = _clear(dirty)
        RecomputeRun.objects.create(
            trigger=trigger, started_at=started, finished_at=timezone.now(), buckets=cleared
        )
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
