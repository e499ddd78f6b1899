"""The metric queries: grouped aggregates over raw incidents and releases.

Compiled once per shape (`_sql`; EXECDASH_COMPILED_QUERIES=false turns it off): it cuts the
incremental recompute's team week to a third, which its 20 ms budget needs (BENCHMARKS.md).

Every number of METRICS.md comes out of a handful of grouped queries, whatever the number of
teams or weeks asked for: rows are grouped by team and/or by ISO week (in the organization's
time zone) and the database computes counts, sums and percentiles. Results are keyed by
`(team_id or None, week_start or None)`.

Used by the exact window answers and samples (selectors.py) and by the weekly rollups
(rollups.py).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from apps.incidents.models import Incident
from apps.metrics.formulas import Stats
from apps.metrics.sql import MicrosBetween, Percentile, SortedSamples, WeekStart
from apps.releases.models import FAILED_STATUSES, Release

Key = tuple[int | None, dt.date | None]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scan:
    """Which rows a metric query reads: some teams (None: all) between two instants."""

    team_ids: Sequence[int] | None
    start: dt.datetime | None
    end: dt.datetime | None
    tzname: str


@dataclass
class Partial:
    """Every metric of one group (a team or the organization; a week or a window).

    The `*_samples` are the sorted integer microseconds behind the statistics, as JSON text,
    when the query was asked for them (None otherwise, or when the group had no row).
    """

    deployments: int = 0
    failed_deployments: int = 0
    rework_deployments: int = 0
    change_count: int = 0
    lead_time: Stats = field(default_factory=Stats.empty)
    incidents: int = 0
    time_to_restore: Stats = field(default_factory=Stats.empty)
    failed_deployment_recovery: Stats = field(default_factory=Stats.empty)
    open_incidents: int = 0
    bus_factor: int | None = None
    lead_samples: str | None = None
    ttr_samples: str | None = None
    fdrt_samples: str | None = None


@dataclass(frozen=True)
class IncidentPart:
    incidents: int
    time_to_restore: Stats
    open_incidents: int = 0
    ttr_samples: str | None = None


@dataclass(frozen=True)
class RecoveryPart:
    failed_deployment_recovery: Stats
    fdrt_samples: str | None = None


# --- compiled once per shape -----------------------------------------------------------

_SENTINEL_START = dt.datetime(1901, 2, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
_SENTINEL_END = dt.datetime(1902, 3, 4, 5, 6, 7, 8, tzinfo=dt.UTC)
_SENTINEL_TEAM = -7_000_000_001


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str, int], ...]  # (parameter index, "start"/"end"/"team", team #)


_compiled: dict[tuple[Any, ...], _Compiled | None] = {}
_compiled_lock = threading.Lock()


def _sql(name: str, make: Callable[[Scan], QuerySet[Any]], scan: Scan) -> tuple[str, list[Any]]:
    """The SQL and parameters of `make(scan)`, compiled once per shape of `scan`.

    The first call of a shape compiles the query with sentinel values and records where they
    land among the parameters; later calls put their own values there. A shape whose
    sentinels cannot all be found is compiled on every call, with a warning in the log.
    """
    if not settings.EXECDASH_COMPILED_QUERIES:
        sql, params = make(scan).query.sql_with_params()
        return sql, list(params)
    ops = connection.ops
    teams = None if scan.team_ids is None else len(scan.team_ids)
    shape = (connection.vendor, name, scan.tzname, teams, scan.start is None, scan.end is None)
    if shape in _compiled:
        compiled = _compiled[shape]
    else:
        sentinel = Scan(
            None if teams is None else [_SENTINEL_TEAM - i for i in range(teams)],
            None if scan.start is None else _SENTINEL_START,
            None if scan.end is None else _SENTINEL_END,
            scan.tzname,
        )
        sql, params = make(sentinel).query.sql_with_params()
        wanted: dict[Any, tuple[str, int]] = {}
        if scan.start is not None:
            wanted[ops.adapt_datetimefield_value(_SENTINEL_START)] = ("start", 0)
        if scan.end is not None:
            wanted[ops.adapt_datetimefield_value(_SENTINEL_END)] = ("end", 0)
        for i in range(teams or 0):
            wanted[_SENTINEL_TEAM - i] = ("team", i)
        slots = []
        for index, param in enumerate(params):
            try:
                slot = wanted.get(param)
            except TypeError:  # an unhashable parameter is never a sentinel
                slot = None
            if slot is not None:
                slots.append((index, *slot))
        complete = {(kind, i) for _index, kind, i in slots} == set(wanted.values())
        compiled = _Compiled(sql, tuple(params), tuple(slots)) if complete else None
        if compiled is None:
            log.warning("metric query %r: its values were not found; compiled on every call", name)
        with _compiled_lock:
            _compiled[shape] = compiled
    if compiled is None:
        sql, params = make(scan).query.sql_with_params()
        return sql, list(params)
    values = list(compiled.params)
    team_ids = list(scan.team_ids or ())
    for index, kind, i in compiled.slots:
        if kind == "start":
            values[index] = ops.adapt_datetimefield_value(scan.start)
        elif kind == "end":
            values[index] = ops.adapt_datetimefield_value(scan.end)
        else:
            values[index] = team_ids[i]
    return compiled.sql, values


def _fetch(sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def week_date(value: Any) -> dt.date:
    """A date column as the database returns it (a date, or ISO text from SQLite)."""
    found = _date(value)
    if found is None:
        raise ValueError("expected a date")
    return found


def _date(value: Any) -> dt.date | None:
    """A week start as the database returns it (a date, or ISO text from SQLite)."""
    if value is None or type(value) is dt.date:
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    return dt.date.fromisoformat(str(value)[:10])


def _grouped(
    name: str,
    make: Callable[[Scan], tuple[QuerySet[Any], dict[str, Any]]],
    scan: Scan,
    *,
    by_team: bool,
    by_week: str | None,
) -> list[tuple[Key, dict[str, Any]]]:
    """Run the aggregates of `make(scan)` grouped by team and/or by the ISO week of the
    `by_week` column. Without either, one row (the aggregates over every row read)."""

    def grouped(s: Scan) -> QuerySet[Any]:
        qs, aggregates = make(s)
        keys: list[str] = []
        if by_team:
            keys.append("team_id")
        if by_week:
            qs = qs.annotate(week=WeekStart(by_week, s.tzname))
            keys.append("week")
        if not keys:
            # A constant is no GROUP BY column: one row, whatever the rows read.
            qs = qs.annotate(everything=Value(0, output_field=IntegerField()))
            keys.append("everything")
        return qs.values(*keys).annotate(**aggregates).order_by()

    rows = _fetch(*_sql(f"{name}|{by_team}|{by_week}", grouped, scan))
    return [((row.get("team_id"), _date(row.get("week"))), row) for row in rows]


def _filtered(qs: QuerySet[Any], scan: Scan, *, column: str) -> QuerySet[Any]:
    if scan.team_ids is not None:
        ids = list(scan.team_ids)
        qs = qs.filter(team_id=ids[0]) if len(ids) == 1 else qs.filter(team_id__in=ids)
    if scan.start is not None:
        qs = qs.filter(**{f"{column}__gte": scan.start})
    if scan.end is not None:
        qs = qs.filter(**{f"{column}__lt": scan.end})
    return qs


def _stats(row: dict[str, Any], prefix: str) -> Stats:
    return Stats.from_parts(
        n=row[f"{prefix}_n"] or 0,
        total_micros=row[f"{prefix}_sum"],
        median_micros=row[f"{prefix}_p50"],
        p90_micros=row[f"{prefix}_p90"],
    )


def _duration_aggregates(prefix: str, expr: Any, *, samples: bool = False) -> dict[str, Any]:
    aggregates = {
        f"{prefix}_n": Count(expr),
        f"{prefix}_sum": Sum(expr),
        f"{prefix}_p50": Percentile(expr, 0.5),
        f"{prefix}_p90": Percentile(expr, 0.9),
    }
    if samples:
        aggregates[f"{prefix}_samples"] = SortedSamples(expr)
    return aggregates


# --- the metrics -------------------------------------------------------------------------


def release_aggregates(
    scan: Scan,
    *,
    by_team: bool,
    by_week: bool,
    with_counts: bool = True,
    samples: bool = False,
) -> dict[Key, Partial]:
    """Deployments, failed and rework releases, changes and lead time, per group.

    A release is failed when its status says so or at least one incident names it as its
    cause; rework when it fixes an incident. Lead time is `deployed_at - first_commit_at`,
    values <= 0 dropped. With `samples`, also the sorted lead times (`lead_samples`).
    """

    def make(s: Scan) -> tuple[QuerySet[Any], dict[str, Any]]:
        qs = _filtered(Release.objects.all(), s, column="deployed_at")
        lead = Case(
            When(
                first_commit_at__lt=F("deployed_at"),
                then=MicrosBetween("deployed_at", "first_commit_at"),
            ),
            default=None,
            output_field=BigIntegerField(),
        )
        aggregates: dict[str, Any] = _duration_aggregates("lead", lead, samples=samples)
        if with_counts:
            if s.start is None:
                # The whole history: one hash of every release some incident names beats a
                # probe per release (the caller sizes work_mem for it).
                caused: Q = Q(
                    id__in=Incident.objects.filter(caused_by__isnull=False).values("caused_by_id")
                )
            else:
                caused = Q(Exists(Incident.objects.filter(caused_by_id=OuterRef("pk"))))
            aggregates |= {
                "deployments": Count("id"),
                "failed": Count("id", filter=Q(status__in=FAILED_STATUSES) | caused),
                "rework": Count("id", filter=Q(fixes_incident_id__isnull=False)),
                "changes": Sum("change_count"),
            }
        return qs, aggregates

    week = "deployed_at" if by_week else None
    out: dict[Key, Partial] = {}
    name = f"releases|{with_counts}|{samples}"
    for key, row in _grouped(name, make, scan, by_team=by_team, by_week=week):
        part = Partial(lead_time=_stats(row, "lead"), lead_samples=row.get("lead_samples"))
        if with_counts:
            part.deployments = row["deployments"] or 0
            part.failed_deployments = row["failed"] or 0
            part.rework_deployments = row["rework"] or 0
            part.change_count = int(row["changes"] or 0)
        out[key] = part
    return out


def incident_aggregates(
    scan: Scan,
    *,
    by_team: bool,
    by_week: bool,
    with_open: bool = False,
    samples: bool = False,
) -> dict[Key, IncidentPart]:
    """Incidents started and their time to restore (with `samples`, the sorted values too),
    per group. Incidents whose start is unknown are counted, but give no time to restore.

    With `with_open` (a window, not weekly groups), the same query also counts the incidents
    open at the end of the scan: started before it and not resolved before it. It then reads
    the window's incidents plus those still open at its end, through the started_at and
    resolved_at indexes.
    """
    if with_open and (by_week or scan.end is None):
        raise ValueError("open incidents are counted at the end of a window")

    def make(s: Scan) -> tuple[QuerySet[Any], dict[str, Any]]:
        in_window: Q | None = None
        still_open = Q()
        if with_open:
            qs = _filtered(Incident.objects.all(), replace(s, start=None), column="started_at")
            still_open = Q(resolved_at__isnull=True) | Q(resolved_at__gte=s.end)
            if s.start is not None:
                in_window = Q(started_at__gte=s.start)
                qs = qs.filter(in_window | still_open)
        else:
            qs = _filtered(Incident.objects.all(), s, column="started_at")
        # A sample needs both ends: an incident whose start is unknown (only its resolution
        # was reported) counts as an incident but gives no time to restore.
        resolved = Q(resolved_at__isnull=False, start_unknown=False)
        ttr = Case(
            When(
                resolved & in_window if in_window is not None else resolved,
                then=MicrosBetween("resolved_at", "started_at"),
            ),
            default=None,
            output_field=BigIntegerField(),
        )
        aggregates = {"incidents": Count("id", filter=in_window)} | _duration_aggregates(
            "ttr", ttr, samples=samples
        )
        if with_open:
            aggregates["open"] = Count("id", filter=still_open)
        return qs, aggregates

    week = "started_at" if by_week else None
    rows = _grouped(f"incidents|{with_open}|{samples}", make, scan, by_team=by_team, by_week=week)
    return {
        key: IncidentPart(
            row["incidents"] or 0, _stats(row, "ttr"), row.get("open") or 0, row.get("ttr_samples")
        )
        for key, row in rows
    }


def recovery_aggregates(
    scan: Scan, *, by_team: bool, by_week: bool, samples: bool = False
) -> dict[Key, RecoveryPart]:
    """Failed deployment recovery time per group: `resolved_at` of a resolved incident that
    names its causing release, minus that release's `deployed_at` (with `samples`, the
    sorted values too); incidents whose start is unknown are left out.

    Its own query, joining only the incidents that name a release: joining every incident
    would make PostgreSQL hash the unlinked ones together under a NULL key.
    """

    def make(s: Scan) -> tuple[QuerySet[Any], dict[str, Any]]:
        # An incident whose start is unknown has no known window (it belongs to the one it
        # started in): left out, as it is of time to restore.
        qs = _filtered(
            Incident.objects.filter(
                caused_by__isnull=False, resolved_at__isnull=False, start_unknown=False
            ),
            s,
            column="started_at",
        )
        recovery = MicrosBetween("resolved_at", "caused_by__deployed_at")
        return qs, _duration_aggregates("fdrt", recovery, samples=samples)

    week = "started_at" if by_week else None
    rows = _grouped(f"recovery|{samples}", make, scan, by_team=by_team, by_week=week)
    return {key: RecoveryPart(_stats(row, "fdrt"), row.get("fdrt_samples")) for key, row in rows}


def open_incidents_at(
    *, team_ids: Sequence[int] | None, moment: dt.datetime, by_team: bool
) -> dict[int | None, int]:
    """Incidents that started before `moment` and were not resolved before it."""

    def make(s: Scan) -> tuple[QuerySet[Any], dict[str, Any]]:
        qs = _filtered(Incident.objects.all(), s, column="started_at")
        qs = qs.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=s.end))
        return qs, {"n": Count("id")}

    rows = _grouped(
        "open at", make, Scan(team_ids, None, moment, ""), by_team=by_team, by_week=None
    )
    return {team_id: row["n"] for (team_id, _week), row in rows}


def open_incidents_weekly(
    *,
    team_ids: Sequence[int] | None,
    weeks: Sequence[dt.date],
    tzname: str,
    by_team: bool,
) -> dict[Key, int]:
    """Open incidents at the end of each given week (started before its end, not resolved
    before its end), per team or for all teams together.

    Reads only incidents that were open at some point of the weeks' span: those resolved
    after the first week ended, or not at all.
    """
    from apps.core.timezones import local_midnight

    if not weeks:
        return {}
    ordered = sorted(set(weeks))
    tz = ZoneInfo(tzname)
    first_end = local_midnight(ordered[0] + dt.timedelta(days=7), tz)
    last_end = local_midnight(ordered[-1] + dt.timedelta(days=7), tz)

    def grouped(s: Scan) -> QuerySet[Any]:
        qs = _filtered(Incident.objects.all(), replace(s, start=None), column="started_at")
        qs = qs.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=s.start))
        keys = ["team_id"] if by_team else []
        return (
            qs.annotate(ws=WeekStart("started_at", s.tzname), wr=WeekStart("resolved_at", s.tzname))
            .values(*keys, "ws", "wr")
            .annotate(n=Count("id"))
            .order_by()
        )

    scan = Scan(team_ids, first_end, last_end, tzname)
    events: dict[int | None, list[tuple[dt.date, int]]] = defaultdict(list)
    for row in _fetch(*_sql(f"open weekly|{by_team}", grouped, scan)):
        team = row.get("team_id") if by_team else None
        started_week, resolved_week = _date(row["ws"]), _date(row["wr"])
        if started_week is not None:
            events[team].append((started_week, row["n"]))
        if resolved_week is not None:
            events[team].append((resolved_week, -row["n"]))
    out: dict[Key, int] = {}
    for team, team_events in events.items():
        out.update({(team, week): n for week, n in running_counts(team_events, ordered).items()})
    return out


def resolved_weekly(
    *, team_ids: Sequence[int] | None, start: dt.datetime | None, tzname: str
) -> dict[Key, int]:
    """Incidents resolved per (team, ISO week of resolution), from `start` on."""

    def grouped(s: Scan) -> QuerySet[Any]:
        qs = _filtered(Incident.objects.filter(resolved_at__isnull=False), s, column="resolved_at")
        return (
            qs.annotate(week=WeekStart("resolved_at", s.tzname))
            .values("team_id", "week")
            .annotate(n=Count("id"))
            .order_by()
        )

    rows = _fetch(*_sql("resolved weekly", grouped, Scan(team_ids, start, None, tzname)))
    return {(row["team_id"], _date(row["week"])): row["n"] for row in rows}


def running_counts(
    events: Iterable[tuple[dt.date, int]], weeks: Sequence[dt.date], base: int = 0
) -> dict[dt.date, int]:
    """For each week W (ascending), `base` plus the sum of the deltas dated on or before W."""
    ordered = sorted(events)
    out: dict[dt.date, int] = {}
    running = base
    i = 0
    for week in weeks:
        while i < len(ordered) and ordered[i][0] <= week:
            running += ordered[i][1]
            i += 1
        out[week] = running
    return out


def _work(s: Scan, *, by_week: bool) -> QuerySet[Any]:
    """The items of work of the bus factor, one row each: releases (by `deployed_by`, in
    the week deployed) and resolved incidents (by `resolved_by`, in the week they started).
    Work with no person or, for incidents, no service cannot be attributed and is left out.
    """
    releases = _filtered(Release.objects.exclude(deployed_by=""), s, column="deployed_at")
    incidents = _filtered(
        Incident.objects.filter(resolved_at__isnull=False)
        .exclude(resolved_by="")
        .exclude(service=""),
        s,
        column="started_at",
    )
    parts = []
    for qs, moment, person, is_release in (
        (releases, "deployed_at", "deployed_by", 1),
        (incidents, "started_at", "resolved_by", 0),
    ):
        week_expr: Any = (
            WeekStart(moment, s.tzname) if by_week else Value(None, output_field=DateField())
        )
        parts.append(
            qs.annotate(
                bf_week=week_expr,
                bf_person=F(person),
                bf_release=Value(is_release, output_field=IntegerField()),
            )
            .values("team_id", "bf_week", "service", "bf_person", "bf_release")
            .order_by()
        )
    # One row per item of work, grouped once by the caller (grouping each part first and
    # then the union again costs a second hash of every group).
    return parts[0].union(parts[1], all=True).order_by()


def bus_work_items(scan: Scan) -> dict[int, int]:
    """The number of items of work behind each team's bus factor over the scan."""
    work_sql, params = _sql("bus work", lambda s: _work(s, by_week=False), scan)
    sql = f"SELECT team_id, COUNT(*) AS n FROM ({work_sql}) AS work GROUP BY team_id"  # noqa: S608
    return {row["team_id"]: row["n"] for row in _fetch(sql, params)}


def bus_work_by_person(scan: Scan) -> list[tuple[int, str, str, int, int]]:
    """The bus factor's work over the scan per team, service and person: (team id,
    service, person, items of work, how many of them were releases; the rest are incident
    resolutions). The knowledge-sharing chart draws these and its per-service bus factors
    come from them through `formulas.bus_factor_of`, the rule of `bus_factors`."""
    work_sql, params = _sql("bus work by person", lambda s: _work(s, by_week=False), scan)
    sql = f"""
        SELECT team_id, service, bf_person, COUNT(*) AS n, SUM(bf_release) AS releases
        FROM ({work_sql}) AS work
        GROUP BY team_id, service, bf_person
        ORDER BY team_id, service, n DESC, bf_person
    """  # noqa: S608  (the inner query is the ORM's, with its parameters)
    return [
        (
            row["team_id"],
            row["service"],
            row["bf_person"],
            int(row["n"]),
            int(row["releases"] or 0),
        )
        for row in _fetch(sql, params)
    ]


def bus_factors(scan: Scan, *, by_team: bool, by_week: bool) -> dict[Key, int | None]:
    """The bus factor of each group: the lowest over its services (and, for the whole
    organization, over every team's services) of the smallest number of people who together
    did at least half of the service's work (METRICS.md; formulas.bus_factor_of).

    The items of work are `_work`'s. The database ranks the people of each service with
    window functions and returns one row per team (and week).
    """
    work_sql, params = _sql(f"bus factor|{by_week}", lambda s: _work(s, by_week=by_week), scan)
    # Per (team, week, service): people by work done, most first, ties by name; a person's
    # rank where the running total first reaches half is the service's bus factor, so the
    # lowest rank reaching half over a team's services is the team's.
    sql = f"""
        SELECT team_id, bf_week, MIN(rn) AS factor FROM (
            SELECT team_id, bf_week,
                ROW_NUMBER() OVER w AS rn,
                SUM(n) OVER w AS done,
                SUM(n) OVER (PARTITION BY team_id, bf_week, service) AS total
            FROM (
                SELECT team_id, bf_week, service, bf_person, COUNT(*) AS n
                FROM ({work_sql}) AS work
                GROUP BY team_id, bf_week, service, bf_person
            ) AS people
            WINDOW w AS (
                PARTITION BY team_id, bf_week, service ORDER BY n DESC, bf_person
                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
            )
        ) AS ranked
        WHERE 2 * done >= total
        GROUP BY team_id, bf_week
    """  # noqa: S608  (the inner query is the ORM's, with its parameters)
    out: dict[Key, int | None] = {}
    for row in _fetch(sql, params):
        key: Key = (row["team_id"] if by_team else None, _date(row["bf_week"]) if by_week else None)
        factor = int(row["factor"])
        current = out.get(key)
        out[key] = factor if current is None else min(current, factor)
    return out
