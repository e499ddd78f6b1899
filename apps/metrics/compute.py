"""The metric queries: grouped aggregates over raw incidents and releases.

Every number of METRICS.md comes out of a handful of grouped queries, whatever the number of
teams or weeks asked for: rows are grouped by team and/or by ISO week (in the organization's
time zone) and the database computes counts, sums and percentiles. Results are keyed by
`(team_id or None, week_start or None)`.

Used by the exact window answers (selectors.py) and by the weekly rollups (rollups.py).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)

from apps.incidents.models import Incident
from apps.metrics.formulas import Stats
from apps.metrics.sql import MicrosBetween, Percentile, WeekStart
from apps.releases.models import FAILED_STATUSES, Release

Key = tuple[int | None, dt.date | None]
CHUNK = 5_000


@dataclass(frozen=True)
class Scan:
    """Which rows a metric query reads: some teams (None: all) between two instants."""

    team_ids: Sequence[int] | None
    start: dt.datetime | None
    end: dt.datetime | None
    tzname: str
    stream: bool = False  # a server-side cursor, for whole-table scans


@dataclass
class Partial:
    """Every metric of one group (a team or the organization; a week or a window)."""

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


def _grouped(
    qs: QuerySet[Any],
    *,
    by_team: bool,
    by_week: str | None,
    tzname: str,
    aggregates: dict[str, Any],
    stream: bool = False,
) -> Iterator[tuple[Key, dict[str, Any]]]:
    """Run `aggregates` over `qs` grouped by team and/or by the ISO week of `by_week`."""
    keys: list[str] = []
    if by_team:
        keys.append("team_id")
    if by_week:
        qs = qs.annotate(week=WeekStart(by_week, tzname))
        keys.append("week")
    if not keys:
        row = qs.aggregate(**aggregates)
        yield (None, None), row
        return
    grouped = qs.values(*keys).annotate(**aggregates).order_by()
    for row in grouped.iterator(chunk_size=CHUNK) if stream else grouped:
        yield (row.get("team_id"), row.get("week")), row


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


def _duration_aggregates(prefix: str, expr: Any) -> dict[str, Any]:
    return {
        f"{prefix}_n": Count(expr),
        f"{prefix}_sum": Sum(expr),
        f"{prefix}_p50": Percentile(expr, 0.5),
        f"{prefix}_p90": Percentile(expr, 0.9),
    }


def release_aggregates(
    scan: Scan, *, by_team: bool, by_week: bool, with_counts: bool = True
) -> dict[Key, Partial]:
    """Deployments, failed and rework releases, changes and lead time, per group.

    A release is failed when its status says so or at least one incident names it as its
    cause; rework when it fixes an incident. Lead time is `deployed_at - first_commit_at`,
    values <= 0 dropped.
    """
    qs = _filtered(Release.objects.all(), scan, column="deployed_at")
    lead = Case(
        When(
            first_commit_at__lt=F("deployed_at"),
            then=MicrosBetween("deployed_at", "first_commit_at"),
        ),
        default=None,
        output_field=BigIntegerField(),
    )
    aggregates: dict[str, Any] = _duration_aggregates("lead", lead)
    if with_counts:
        if scan.start is None:
            # The whole history: one hash of every release some incident names beats a
            # probe per release.
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
    out: dict[Key, Partial] = {}
    for key, row in _grouped(
        qs,
        by_team=by_team,
        by_week="deployed_at" if by_week else None,
        tzname=scan.tzname,
        aggregates=aggregates,
        stream=scan.stream,
    ):
        part = Partial(lead_time=_stats(row, "lead"))
        if with_counts:
            part.deployments = row["deployments"] or 0
            part.failed_deployments = row["failed"] or 0
            part.rework_deployments = row["rework"] or 0
            part.change_count = int(row["changes"] or 0)
        out[key] = part
    return out


@dataclass(frozen=True)
class IncidentPart:
    incidents: int
    time_to_restore: Stats
    open_incidents: int = 0


def incident_aggregates(
    scan: Scan, *, by_team: bool, by_week: bool, with_open: bool = False
) -> dict[Key, IncidentPart]:
    """Incidents started and their time to restore, per group.

    With `with_open` (a window, not weekly groups), the same query also counts the incidents
    open at the end of the scan: started before it and not resolved before it. It then reads
    the window's incidents plus those still open at its end, through the started_at and
    resolved_at indexes.
    """
    in_window: Q | None = None
    if with_open:
        if by_week or scan.end is None:
            raise ValueError("open incidents are counted at the end of a window")
        end = scan.end
        qs = _filtered(Incident.objects.all(), replace(scan, start=None), column="started_at")
        still_open = Q(resolved_at__isnull=True) | Q(resolved_at__gte=end)
        if scan.start is not None:
            in_window = Q(started_at__gte=scan.start)
            qs = qs.filter(in_window | still_open)
    else:
        qs = _filtered(Incident.objects.all(), scan, column="started_at")
    resolved = Q(resolved_at__isnull=False)
    ttr = Case(
        When(
            resolved & in_window if in_window is not None else resolved,
            then=MicrosBetween("resolved_at", "started_at"),
        ),
        default=None,
        output_field=BigIntegerField(),
    )
    aggregates = {"incidents": Count("id", filter=in_window)} | _duration_aggregates("ttr", ttr)
    if with_open:
        aggregates["open"] = Count("id", filter=still_open)
    out: dict[Key, IncidentPart] = {}
    for key, row in _grouped(
        qs,
        by_team=by_team,
        by_week="started_at" if by_week else None,
        tzname=scan.tzname,
        aggregates=aggregates,
        stream=scan.stream,
    ):
        out[key] = IncidentPart(row["incidents"] or 0, _stats(row, "ttr"), row.get("open") or 0)
    return out


def recovery_aggregates(scan: Scan, *, by_team: bool, by_week: bool) -> dict[Key, Stats]:
    """Failed deployment recovery time per group: `resolved_at` of a resolved incident that
    names its causing release, minus that release's `deployed_at`.

    Its own query, joining only the incidents that name a release: joining every incident
    would make PostgreSQL hash the unlinked ones together under a NULL key.
    """
    qs = _filtered(
        Incident.objects.filter(caused_by__isnull=False, resolved_at__isnull=False),
        scan,
        column="started_at",
    )
    recovery = MicrosBetween("resolved_at", "caused_by__deployed_at")
    out: dict[Key, Stats] = {}
    for key, row in _grouped(
        qs,
        by_team=by_team,
        by_week="started_at" if by_week else None,
        tzname=scan.tzname,
        aggregates=_duration_aggregates("fdrt", recovery),
        stream=scan.stream,
    ):
        out[key] = _stats(row, "fdrt")
    return out


def open_incidents_at(
    *, team_ids: Sequence[int] | None, moment: dt.datetime, by_team: bool
) -> dict[int | None, int]:
    """Incidents that started before `moment` and were not resolved before it."""
    qs = _filtered(Incident.objects.all(), Scan(team_ids, None, moment, ""), column="started_at")
    qs = qs.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=moment))
    if not by_team:
        return {None: qs.count()}
    return dict(qs.values("team_id").annotate(n=Count("id")).order_by().values_list("team_id", "n"))


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
    from apps.core.timezones import local_midnight, org_tz

    if not weeks:
        return {}
    ordered = sorted(set(weeks))
    tz = org_tz() if tzname is None else _zone(tzname)
    first_end = local_midnight(ordered[0] + dt.timedelta(days=7), tz)
    last_end = local_midnight(ordered[-1] + dt.timedelta(days=7), tz)
    qs = _filtered(
        Incident.objects.all(), Scan(team_ids, None, last_end, tzname), column="started_at"
    )
    qs = qs.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=first_end))
    keys = ["team_id"] if by_team else []
    rows = (
        qs.annotate(ws=WeekStart("started_at", tzname), wr=WeekStart("resolved_at", tzname))
        .values(*keys, "ws", "wr")
        .annotate(n=Count("id"))
        .order_by()
    )
    events: dict[int | None, list[tuple[dt.date, int]]] = defaultdict(list)
    for row in rows:
        team = row.get("team_id") if by_team else None
        events[team].append((row["ws"], row["n"]))
        if row["wr"] is not None:
            events[team].append((row["wr"], -row["n"]))
    out: dict[Key, int] = {}
    for team, team_events in events.items():
        out.update({(team, week): n for week, n in running_counts(team_events, ordered).items()})
    return out


def resolved_weekly(
    *, team_ids: Sequence[int] | None, start: dt.datetime | None, tzname: str
) -> dict[Key, int]:
    """Incidents resolved per (team, ISO week of resolution), from `start` on."""
    qs = Incident.objects.filter(resolved_at__isnull=False)
    if team_ids is not None:
        qs = qs.filter(team_id__in=list(team_ids))
    if start is not None:
        qs = qs.filter(resolved_at__gte=start)
    rows = (
        qs.annotate(week=WeekStart("resolved_at", tzname))
        .values("team_id", "week")
        .annotate(n=Count("id"))
        .order_by()
    )
    return {(row["team_id"], row["week"]): row["n"] for row in rows.iterator(chunk_size=CHUNK)}


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


def bus_factors(scan: Scan, *, by_team: bool, by_week: bool) -> dict[Key, int | None]:
    """The bus factor of each group: the lowest over its services (and, for the whole
    organization, over every team's services) of the smallest number of people who together
    did at least half of the service's work (METRICS.md; formulas.bus_factor_of).

    Work is releases (by `deployed_by`, in the week deployed) and resolved incidents (by
    `resolved_by`, in the week they started). Work with no person or, for incidents, no
    service cannot be attributed and is left out. The database ranks the people of each
    service with window functions and returns one row per team (and week).
    """
    releases = _filtered(Release.objects.exclude(deployed_by=""), scan, column="deployed_at")
    incidents = _filtered(
        Incident.objects.filter(resolved_at__isnull=False)
        .exclude(resolved_by="")
        .exclude(service=""),
        scan,
        column="started_at",
    )
    parts = []
    for qs, moment, person in (
        (releases, "deployed_at", "deployed_by"),
        (incidents, "started_at", "resolved_by"),
    ):
        week_expr: Any = (
            WeekStart(moment, scan.tzname) if by_week else Value(None, output_field=DateField())
        )
        parts.append(
            qs.annotate(bf_week=week_expr, bf_person=F(person))
            .values("team_id", "bf_week", "service", "bf_person")
            .annotate(bf_n=Count("id"))
            .order_by()
        )
    work_sql, params = parts[0].union(parts[1], all=True).order_by().query.sql_with_params()
    # Per (team, week, service): people by work done, most first, ties by name; a person's
    # rank where the running total first reaches half is the service's bus factor, so the
    # lowest rank reaching half over a team's services is the team's.
    sql = f"""
        SELECT team_id, bf_week, MIN(rn) FROM (
            SELECT team_id, bf_week,
                ROW_NUMBER() OVER w AS rn,
                SUM(n) OVER w AS done,
                SUM(n) OVER (PARTITION BY team_id, bf_week, service) AS total
            FROM (
                SELECT team_id, bf_week, service, bf_person, SUM(bf_n) AS n
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
    date_field = DateField()
    out: dict[Key, int | None] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for team_id, week, factor in cursor.fetchall():
            if not by_week:
                week = None
            elif week is not None and not isinstance(week, dt.date):
                week = date_field.to_python(week)
            elif isinstance(week, dt.datetime):
                week = week.date()
            key: Key = (team_id if by_team else None, week)
            current = out.get(key)
            out[key] = int(factor) if current is None else min(current, int(factor))
    return out


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)
