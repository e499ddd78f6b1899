"""Reads of the dashboard: the overview's team cards and org totals, and a team's page.

Every function here runs a constant number of queries, whatever the number of teams: the
metrics come from `apps.metrics.selectors` (rollups and snapshots), everything else is one
query per kind of row (focus periods, open incidents, markers), never one per team.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from apps.core.templatetags.formatting import (
    LEVEL_LABELS,
    format_count,
    format_duration,
    format_per_week,
    format_rate,
)
from apps.core.timezones import org_tz, window_bounds
from apps.dashboard import charts
from apps.focus.models import FocusKind, FocusPeriod
from apps.incidents.models import Incident
from apps.metrics import selectors as metrics
from apps.metrics.models import ORG_SCOPE, DirtyBucket, ScopeVersion, WeeklyRollup
from apps.releases.models import FAILED_STATUSES, Release
from apps.teams.models import Team

# --- date ranges -------------------------------------------------------------------------

PRESETS: dict[str, tuple[int, str]] = {
    "4w": (4, "Last 4 weeks"),
    "13w": (13, "Last 13 weeks"),
    "26w": (26, "Last 26 weeks"),
    "52w": (52, "Last 52 weeks"),
}
PRESET_HINT = "This week so far and the whole weeks, Monday to Sunday, before it."
DEFAULT_PRESET = "13w"
MAX_RANGE_DAYS = 3 * 52 * 7  # three years: enough for a review, small enough to draw
SPARKLINE_WEEKS = 12
SEVERE = (Incident.Severity.SEV1, Incident.Severity.SEV2)
PK_SENTINEL = 987654321
SLUG_SENTINEL = "slug-sentinel"
PK_PLACEHOLDER = str(PK_SENTINEL)
MARKER_LIMIT = 500  # per kind on a chart; more would be unreadable anyway


@dataclass(frozen=True)
class DateRange:
    """A window `[start, end)` of local dates in the organization's time zone."""

    start: dt.date
    end: dt.date
    preset_key: str | None = None

    @classmethod
    def preset(cls, key: str, today: dt.date) -> DateRange:
        """This week so far and the N - 1 weeks before it (the worker pre-computes these)."""
        weeks, _label = PRESETS[key]
        start, end = metrics.preset_window(weeks, today=today)
        return cls(start=start, end=end, preset_key=key)

    @classmethod
    def custom(cls, first_day: dt.date, last_day: dt.date) -> DateRange:
        return cls(start=first_day, end=last_day + dt.timedelta(days=1))

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> DateRange:
        """The range of the same length just before this one."""
        return DateRange(start=self.start - dt.timedelta(days=self.days), end=self.start)

    @property
    def query(self) -> str:
        if self.preset_key:
            return f"range={self.preset_key}"
        return f"start={self.start.isoformat()}&end={self.last_day.isoformat()}"

    @property
    def label(self) -> str:
        if self.preset_key:
            return PRESETS[self.preset_key][1]
        return f"{_day(self.start)} to {_day(self.last_day)}"

    @property
    def span(self) -> str:
        return f"{_day(self.start)} \u2013 {_day(self.last_day)}"

    @property
    def chart_start(self) -> dt.date:
        """The Monday of the first week: weekly buckets are whole ISO weeks."""
        return self.start - dt.timedelta(days=self.start.weekday())

    def mondays(self) -> list[dt.date]:
        monday, out = self.chart_start, []
        while monday < self.end:
            out.append(monday)
            monday += dt.timedelta(days=7)
        return out


def _day(value: dt.date) -> str:
    return f"{value.day} {value:%b %Y}"


def preset_links(current: DateRange, extra: str = "") -> list[dict[str, Any]]:
    """The preset ranges as links; `extra` (a query string) is kept on each of them."""
    tail = f"&{extra}" if extra else ""
    return [
        {
            "key": key,
            "label": label,
            "query": f"range={key}{tail}",
            "active": current.preset_key == key,
        }
        for key, (_weeks, label) in PRESETS.items()
    ]


# --- changes against the previous range -------------------------------------------------

Better = Literal["up", "down"]


@dataclass(frozen=True)
class Change:
    """How a number moved against the previous range, in words as well as an arrow."""

    arrow: str  # "▲", "▼" or ""
    amount: str  # "1.2", "3.1 points", "2 h 5 min"
    verdict: str  # "better", "worse", "no change", "no earlier data"

    @property
    def css(self) -> str:
        return {"better": "better", "worse": "worse"}.get(self.verdict, "same")

    @property
    def text(self) -> str:
        if not self.arrow:
            return self.verdict
        return f"{self.arrow} {self.amount}, {self.verdict}"


def change_of(
    current: float | None, previous: float | None, *, better: Better, unit: str
) -> Change:
    """`unit` is "count", "per_week", "rate" (in percentage points) or "duration"."""
    if current is None or previous is None:
        return Change("", "", "no earlier data")
    delta = current - previous
    if abs(delta) < 1e-9:
        return Change("", "", "no change")
    size = abs(delta)
    if unit == "rate":
        amount = format_rate(size).replace(" %", " points")
    elif unit == "duration":
        amount = format_duration(size)
    elif unit == "per_week":
        amount = f"{format_per_week(size)} a week"
    else:
        amount = format_count(size)
    improved = (delta > 0) == (better == "up")
    return Change("▲" if delta > 0 else "▼", amount, "better" if improved else "worse")


@dataclass(frozen=True)
class Total:
    name: str
    value: str
    change: Change
    definition: str
    value_missing: bool = False


def org_totals(current: Any, previous: Any) -> list[Total]:
    """The overview's top strip from two WindowMetrics of the organization."""
    ttr_now, ttr_before = current.time_to_restore, previous.time_to_restore
    return [
        Total(
            name="Deployments per week",
            value=format_per_week(current.deployment_frequency_per_week),
            change=change_of(
                current.deployment_frequency_per_week,
                previous.deployment_frequency_per_week,
                better="up",
                unit="per_week",
            ),
            definition="deployment-frequency",
            value_missing=current.deployment_frequency_per_week is None,
        ),
        Total(
            name="Change failure rate",
            value=format_rate(current.change_failure_rate),
            change=change_of(
                current.change_failure_rate,
                previous.change_failure_rate,
                better="down",
                unit="rate",
            ),
            definition="change-failure-rate",
            value_missing=current.change_failure_rate is None,
        ),
        Total(
            name="Time to restore (median)",
            value=format_duration(ttr_now.median),
            change=change_of(ttr_now.median, ttr_before.median, better="down", unit="duration"),
            definition="time-to-restore",
            value_missing=ttr_now.median is None,
        ),
        Total(
            name="Open incidents at the end of the range",
            value=format_count(current.open_incidents),
            change=change_of(
                current.open_incidents, previous.open_incidents, better="down", unit="count"
            ),
            definition="open-incidents",
            value_missing=current.open_incidents is None,
        ),
    ]


# --- stability-first warnings -------------------------------------------------------------

POOR_STABILITY = ("low", "medium")


def stability_warnings(focus: FocusPeriod | None, window: Any) -> list[str]:
    """ "Throughput focus while change failure rate is 22 % (low)": stability comes first.

    A team that declares a throughput focus while its time to restore or change failure
    rate sits at a medium or low DORA level is told so, with the numbers.
    """
    if window is None:
        return []
    return _stability_warnings(
        focus,
        levels=window.levels or {},
        change_failure_rate=window.change_failure_rate,
        ttr_median=window.time_to_restore.median,
    )


def _stability_warnings(
    focus: FocusPeriod | None,
    *,
    levels: dict[str, str],
    change_failure_rate: float | None,
    ttr_median: float | None,
) -> list[str]:
    if focus is None or focus.kind.slug != FocusKind.THROUGHPUT:
        return []
    poor = []
    if levels.get("change_failure_rate") in POOR_STABILITY:
        poor.append(
            f"change failure rate is {format_rate(change_failure_rate)} "
            f"({LEVEL_LABELS[levels['change_failure_rate']]})"
        )
    if levels.get("time_to_restore") in POOR_STABILITY:
        poor.append(
            f"time to restore is {format_duration(ttr_median)} "
            f"({LEVEL_LABELS[levels['time_to_restore']]})"
        )
    if not poor:
        return []
    return [f"{focus.kind.name} focus while {' and '.join(poor)}"]


# --- the overview -------------------------------------------------------------------------


@dataclass(frozen=True)
class CardNumber:
    name: str
    value: str
    level: str
    sparkline: str
    definition: str
    metric: str
    value_missing: bool = False


@dataclass
class TeamCard:
    team: Team
    focus: FocusPeriod | None
    revisit_due: bool
    open_incidents: int
    open_severe: int
    warnings: list[str]
    numbers: list[CardNumber] = field(default_factory=list)
    computed_at: dt.datetime | None = None
    url: str = ""

    @property
    def needs_attention(self) -> bool:
        return bool(self.open_severe or self.warnings or self.revisit_due)

    @property
    def attention(self) -> tuple[bool, bool, bool, str]:
        """Sort key: open SEV1/SEV2 first, then stability warnings, then overdue revisits."""
        return (
            self.open_severe == 0,
            not self.warnings,
            not self.revisit_due,
            self.team.name.casefold(),
        )


@dataclass
class Overview:
    date_range: DateRange
    cards: list[TeamCard]
    totals: list[Total]
    computed_at: dt.datetime | None
    pending: bool


def current_focus_by_team(team_ids: Sequence[int], today: dt.date) -> dict[int, FocusPeriod]:
    """Each team's focus period covering today (one query)."""
    periods = (
        FocusPeriod.objects.filter(team_id__in=team_ids, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .select_related("kind")
        .order_by("team_id", "-starts_on")
    )
    out: dict[int, FocusPeriod] = {}
    for period in periods:
        out.setdefault(period.team_id, period)
    return out


def open_incidents_by_team(team_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Incidents open right now per team and severity (one grouped query)."""
    rows = (
        Incident.objects.filter(team_id__in=team_ids, resolved_at__isnull=True)
        .values_list("team_id", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for team_id, severity, n in rows:
        out[team_id][severity] = n
    return out


def _weekly_values(weeks: Sequence[charts.Week]) -> dict[str, list[float | None]]:
    return {
        "time_to_restore": [w.ttr_median for w in weeks],
        "change_failure_rate": [w.change_failure_rate for w in weeks],
        "deployment_frequency": [float(w.deployments) for w in weeks],
        "lead_time": [w.lead_median for w in weeks],
    }


def _sparkline_mondays(date_range: DateRange) -> list[dt.date]:
    """The 12 ISO weeks up to the end of the range (its last, maybe partial, week included)."""
    last_monday = date_range.last_day - dt.timedelta(days=date_range.last_day.weekday())
    return [last_monday - dt.timedelta(weeks=n) for n in range(SPARKLINE_WEEKS - 1, -1, -1)]


def sparkline_weeks(
    *, team_ids: Sequence[int], mondays: Sequence[dt.date]
) -> dict[int, list[charts.Week]]:
    """The weekly rollups behind the overview's sparklines, in one query.

    Only the five columns the sparklines draw, as tuples: the overview reads 12 weeks of
    every team it shows, and full rollup rows would cost more to build than to draw.
    """
    rows = WeeklyRollup.objects.filter(
        scope__in=list(team_ids), week_start__gte=mondays[0], week_start__lte=mondays[-1]
    ).values_list(
        "scope", "week_start", "deployments", "failed_deployments", "ttr_median", "lead_median"
    )
    found = {
        (scope, week): charts.Week(
            week_start=week,
            deployments=deployments,
            failed_deployments=failed,
            ttr_median=ttr,
            lead_median=lead,
        )
        for scope, week, deployments, failed, ttr, lead in rows
    }
    empty = {monday: charts.Week(week_start=monday) for monday in mondays}
    return {
        team_id: [found.get((team_id, monday)) or empty[monday] for monday in mondays]
        for team_id in team_ids
    }


def card_numbers(window: Any, weeks: Sequence[charts.Week]) -> list[CardNumber]:
    levels = (window.levels if window else None) or {}
    series = _weekly_values(weeks)

    def spark(metric: str, name: str) -> str:
        return charts.sparkline_svg(series[metric], label=f"{name}, last 12 weeks")

    ttr = window.time_to_restore.median if window else None
    cfr = window.change_failure_rate if window else None
    freq = window.deployment_frequency_per_week if window else None
    lead = window.lead_time.median if window else None
    return [
        CardNumber(
            name="Time to restore",
            value=format_duration(ttr),
            level=levels.get("time_to_restore", "not_enough_data"),
            sparkline=spark("time_to_restore", "Time to restore"),
            definition="time-to-restore",
            metric="time_to_restore",
            value_missing=ttr is None,
        ),
        CardNumber(
            name="Change failure rate",
            value=format_rate(cfr),
            level=levels.get("change_failure_rate", "not_enough_data"),
            sparkline=spark("change_failure_rate", "Change failure rate"),
            definition="change-failure-rate",
            metric="change_failure_rate",
            value_missing=cfr is None,
        ),
        CardNumber(
            name="Deploys per week",
            value=format_per_week(freq),
            level=levels.get("deployment_frequency", "not_enough_data"),
            sparkline=spark("deployment_frequency", "Deployments per week"),
            definition="deployment-frequency",
            metric="deployment_frequency",
            value_missing=freq is None,
        ),
        CardNumber(
            name="Lead time",
            value=format_duration(lead),
            level=levels.get("lead_time", "not_enough_data"),
            sparkline=spark("lead_time", "Lead time"),
            definition="lead-time",
            metric="lead_time",
            value_missing=lead is None,
        ),
    ]


OVERVIEW_CACHE_SECONDS = 600


@dataclass(frozen=True)
class CardMetrics:
    """What a team card shows from the team's rollups and window answer. It only changes
    when the worker recomputes the team, so it is cached under the team's version."""

    numbers: list[CardNumber]
    computed_at: dt.datetime | None
    levels: dict[str, str]
    change_failure_rate: float | None
    ttr_median: float | None


@dataclass(frozen=True)
class OrgTotals:
    """The organization's strip, cached under the organization's version."""

    totals: list[Total]
    computed_at: dt.datetime | None


@dataclass
class OverviewState:
    """What the overview reads on every request: one query for the teams with their
    versions, pending writes and current focus, and one or two cache reads; the cards are
    built from it (see overview_cards) only when the cache holds nothing under `cards_key`."""

    date_range: DateRange
    today: dt.date
    teams: list[Team]
    versions: dict[int, str]
    totals: list[Total]
    computed_at: dt.datetime | None
    pending: bool
    cards_key: str | None  # None: the cards must be built (writes wait for the worker)
    content_key: str | None  # the same for the whole page content of this `variant`
    cards_shown: int | None = None  # the first cards shown; None: every card
    cached_cards: Any = None  # what the view cached under these keys, if anything
    cached_content: Any = None


@lru_cache(maxsize=1)
def _code_stamp() -> str:
    """A digest of the code and templates that shape cached dashboard parts, so an upgrade
    never serves parts cached by the previous version."""
    from apps.core.templatetags import formatting
    from apps.dashboard.views import pages as views

    digest = hashlib.sha256()
    for module in (charts, formatting, views, sys.modules[__name__]):
        digest.update(Path(module.__file__ or "").read_bytes())
    for template in sorted(Path(settings.BASE_DIR / "templates" / "dashboard").rglob("*.html")):
        digest.update(template.read_bytes())
    return digest.hexdigest()[:12]


def scope_versions(scopes: Sequence[int]) -> dict[int, str]:
    """The recompute counter of each scope (a team id, or 0 for the organization) computed at
    least once, as "<row id>.<counter>" (one query). Every recompute bumps a scope's counter,
    so what is built from its rollups and window answers can be cached under it; the row id
    tells a counter apart from one of an emptied and refilled table."""
    rows = ScopeVersion.objects.filter(scope__in=list(scopes)).values_list("scope", "id", "version")
    return {scope: f"{row_id}.{version}" for scope, row_id, version in rows}


@dataclass(frozen=True)
class TeamState:
    """What decides whether a team's cached card still holds."""

    version: str | None  # "<row id>.<counter>"; None: never computed
    pending: bool  # writes wait for the worker
    focus: str | None  # a signature of the current focus period and its kind


def _state_sql(where: str) -> str:
    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    # The teams' versions are joined (one hash for all of them); a correlated subquery per
    # team cost 2 ms for 200 teams.
    return f"""
        SELECT t.id, t.name, t.slug,
            tv.id || '.' || tv.version,
            (SELECT v.id || '.' || v.version FROM {table(ScopeVersion)} v
                WHERE v.scope = {ORG_SCOPE}),
            EXISTS (SELECT 1 FROM {table(DirtyBucket)} d WHERE d.team_id = t.id),
            (SELECT f.id || '|' || k.slug || '|' || k.name || '|'
                    || COALESCE(CAST(f.revisit_on AS TEXT), '')
                FROM {table(FocusPeriod)} f JOIN {table(FocusKind)} k ON k.id = f.kind_id
                WHERE f.team_id = t.id AND f.starts_on <= %s
                    AND (f.ends_on IS NULL OR f.ends_on >= %s)
                ORDER BY f.starts_on DESC LIMIT 1)
        FROM {table(Team)} t
            LEFT JOIN {table(ScopeVersion)} tv ON tv.scope = t.id
        WHERE {where}
        ORDER BY t.name, t.id
    """  # noqa: S608  (table names from the models, `where` from the ORM; values are parameters)


StateRows = tuple[list[Team], dict[int, TeamState], str | None]


def _state_rows(where: str, params: Sequence[Any]) -> StateRows:
    with connection.cursor() as cursor:
        cursor.execute(_state_sql(where), list(params))
        rows = cursor.fetchall()
    if not rows:
        return [], {}, scope_versions([ORG_SCOPE]).get(ORG_SCOPE)
    teams = [Team(id=team_id, name=name, slug=slug) for team_id, name, slug, *_rest in rows]
    states = {row[0]: TeamState(version=row[3], pending=bool(row[5]), focus=row[6]) for row in rows}
    return teams, states, rows[0][4]


def teams_state(team_ids: Sequence[int], today: dt.date) -> tuple[dict[int, TeamState], str | None]:
    """Each team's state and the organization's version, in one query.

    It runs on every page view, so it is written as SQL: built by the ORM, the same query
    (four correlated subqueries) costs several times more to compile than to run.
    """
    if not team_ids:
        return {}, scope_versions([ORG_SCOPE]).get(ORG_SCOPE)
    where = f"t.id IN ({', '.join(['%s'] * len(team_ids))})"
    _teams, states, org_version = _state_rows(where, [today, today, *team_ids])
    return states, org_version


def visible_teams_state(teams: QuerySet[Team], today: dt.date) -> StateRows:
    """The teams of `teams` (a viewer's visible teams) by name, with their states and the
    organization's version: the same one query, with the visibility rule as its subquery."""
    try:
        sub_sql, sub_params = teams.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:
        return [], {}, scope_versions([ORG_SCOPE]).get(ORG_SCOPE)
    return _state_rows(f"t.id IN ({sub_sql})", [today, today, *sub_params])


def _part_key(kind: str, scope: int, version: str, date_range: DateRange) -> str:
    return (
        f"execdash:overview:{_code_stamp()}:{kind}:{scope}:{version}:"
        f"{date_range.start}:{date_range.end}:{settings.EXECDASH_TIME_ZONE}:"
        f"{settings.EXECDASH_DORA_YEAR}"
    )


def _cards_key(
    *,
    teams: Sequence[Team],
    states: dict[int, TeamState],
    date_range: DateRange,
    today: dt.date,
    cards_shown: int | None = None,
) -> str:
    """Everything the cards show is a function of this key. The numbers and the open
    incidents follow the teams' versions: every write leaves a dirty bucket until the worker
    has recomputed the team and bumped its version, and while one is left the cards are not
    cached. Focus periods change without a recompute, so their signature is in the key."""
    parts = [date_range.query, str(today), f"shown={cards_shown}"]
    for team in teams:
        state = states[team.id]
        parts.append(f"{team.id}|{team.slug}|{team.name}|{state.version}|{state.focus or '-'}")
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"execdash:overview:{_code_stamp()}:cards:{digest}"


def _org_totals(date_range: DateRange) -> OrgTotals:
    previous = date_range.previous()
    current = metrics.window_metrics(team=None, start=date_range.start, end=date_range.end)
    before = metrics.window_metrics(team=None, start=previous.start, end=previous.end)
    return OrgTotals(totals=org_totals(current, before), computed_at=current.computed_at)


def _card_metrics(teams: Sequence[Team], date_range: DateRange) -> dict[int, CardMetrics]:
    """Card metrics built from the window answers and the sparkline rollups (two to six
    queries whatever the number of teams)."""
    windows = metrics.window_metrics_for_teams(
        teams=teams, start=date_range.start, end=date_range.end
    )
    weeks = sparkline_weeks(team_ids=[t.id for t in teams], mondays=_sparkline_mondays(date_range))
    out = {}
    for team in teams:
        window = windows.get(team.id)
        out[team.id] = CardMetrics(
            numbers=card_numbers(window, weeks[team.id]),
            computed_at=window.computed_at if window else None,
            levels=dict((window.levels if window else None) or {}),
            change_failure_rate=window.change_failure_rate if window else None,
            ttr_median=window.time_to_restore.median if window else None,
        )
    return out


def overview_state(
    *,
    teams: QuerySet[Team] | Sequence[Team],
    date_range: DateRange,
    today: dt.date,
    variant: str = "",
    cards_shown: int | None = None,
) -> OverviewState:
    """The overview's every-request reads: the teams (the viewer's visible teams, a queryset)
    with their states, in one query; and from the cache (one read) the organization's
    totals and the content cached for `variant` (what else the content depends on: the
    query string as typed, the viewer's role), and the cards when that content is not there
    (a second read). On a miss, the totals' window answers."""
    if isinstance(teams, QuerySet):
        teams, states, org_version = visible_teams_state(teams, today)
    else:
        states, org_version = teams_state([t.id for t in teams], today)
    versions = {tid: state.version for tid, state in states.items() if state.version}
    if org_version:
        versions[ORG_SCOPE] = org_version
    pending = any(state.pending for state in states.values())
    cacheable = not pending and all(t.id in versions for t in teams)
    cards_key = (
        _cards_key(
            teams=teams,
            states=states,
            date_range=date_range,
            today=today,
            cards_shown=cards_shown,
        )
        if cacheable
        else None
    )
    org_key = _part_key("org", ORG_SCOPE, org_version, date_range) if org_version else None
    content_key = (
        f"{cards_key}:content:{org_version}:" + hashlib.sha256(variant.encode()).hexdigest()[:16]
        if cards_key and org_version
        else None
    )
    # The cards are read only when the content is not cached: for a large organization they
    # are most of what the cache holds for this page.
    wanted = [key for key in (org_key, content_key) if key]
    cached = cache.get_many(wanted) if wanted else {}
    if cards_key and (not content_key or content_key not in cached):
        cached[cards_key] = cache.get(cards_key)
    org = cached.get(org_key) if org_key else None
    if org is None:
        org = _org_totals(date_range)
        if org_key:
            cache.set(org_key, org, OVERVIEW_CACHE_SECONDS)
    return OverviewState(
        date_range=date_range,
        today=today,
        teams=list(teams),
        versions=versions,
        totals=org.totals,
        computed_at=org.computed_at,
        pending=pending,
        cards_key=cards_key,
        content_key=content_key,
        cards_shown=cards_shown,
        cached_cards=cached.get(cards_key) if cards_key else None,
        cached_content=cached.get(content_key) if content_key else None,
    )


def overview_cards(state: OverviewState) -> list[TeamCard]:
    """The team cards, most in need of attention first (one query for the open incidents;
    the numbers from the cache, or two to six queries for the teams missing there)."""
    teams, date_range, today = state.teams, state.date_range, state.today
    if not teams:
        return []
    team_ids = [t.id for t in teams]
    keys = {
        t.id: _part_key("team", t.id, state.versions[t.id], date_range)
        for t in teams
        if t.id in state.versions
    }
    cached = cache.get_many(list(keys.values())) if keys else {}
    card_metrics = {tid: cached[key] for tid, key in keys.items() if key in cached}
    missing = [t for t in teams if t.id not in card_metrics]
    if missing:
        built = _card_metrics(missing, date_range)
        card_metrics.update(built)
        fresh = {keys[tid]: value for tid, value in built.items() if tid in keys}
        if fresh:
            cache.set_many(fresh, OVERVIEW_CACHE_SECONDS)
    focus = current_focus_by_team(team_ids, today)
    open_now = open_incidents_by_team(team_ids)
    # One reverse() for all the cards: a team's URL differs only by its slug.
    url_pattern = reverse("teams:detail", kwargs={"slug": SLUG_SENTINEL})

    cards = []
    for team in teams:
        summary = card_metrics[team.id]
        period = focus.get(team.id)
        by_severity = open_now.get(team.id, {})
        cards.append(
            TeamCard(
                team=team,
                focus=period,
                revisit_due=bool(period and period.revisit_overdue(today)),
                open_incidents=sum(by_severity.values()),
                open_severe=sum(by_severity.get(s, 0) for s in SEVERE),
                warnings=_stability_warnings(
                    period,
                    levels=summary.levels,
                    change_failure_rate=summary.change_failure_rate,
                    ttr_median=summary.ttr_median,
                ),
                numbers=summary.numbers,
                computed_at=summary.computed_at,
                url=url_pattern.replace(SLUG_SENTINEL, team.slug) + f"?{date_range.query}",
            )
        )
    cards.sort(key=lambda card: card.attention)
    return cards


def overview(*, teams: Sequence[Team], date_range: DateRange, today: dt.date) -> Overview:
    """Everything the overview shows, in a constant number of queries."""
    state = overview_state(teams=teams, date_range=date_range, today=today)
    return Overview(
        date_range, overview_cards(state), state.totals, state.computed_at, state.pending
    )


# --- a team's page ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineBand:
    band: charts.Band
    left: float  # percent of the range
    width: float
    period: FocusPeriod


@dataclass
class TeamNumbers:
    """A team's numbers for the range, and how fresh they are."""

    window: Any
    pending: bool

    @property
    def computed_at(self) -> dt.datetime | None:
        return self.window.computed_at


@dataclass
class TeamPage:
    team: Team
    date_range: DateRange
    periods: list[FocusPeriod]
    current_focus: FocusPeriod | None
    revisit_due: bool
    timeline: list[TimelineBand]
    warnings: list[str]


def team_periods(team: Team) -> list[FocusPeriod]:
    """All focus periods of a team, oldest first, with who proposed and aligned them."""
    return list(
        FocusPeriod.objects.filter(team=team)
        .select_related("kind", "aligned_by", "proposed_by")
        .order_by("starts_on")
    )


def current_of(periods: Sequence[FocusPeriod], today: dt.date) -> FocusPeriod | None:
    covering = [p for p in periods if p.covers(today)]
    return covering[-1] if covering else None


def timeline_of(periods: Sequence[FocusPeriod], date_range: DateRange) -> list[TimelineBand]:
    """Bands across the range, positioned in percent, for the HTML focus timeline."""
    by_start = {p.starts_on: p for p in periods}
    total = max(date_range.days, 1)
    out = []
    for band in charts.focus_bands(periods, date_range.start, date_range.end):
        source = by_start.get(band.start) or next(p for p in periods if p.covers(band.start))
        out.append(
            TimelineBand(
                band=band,
                left=round((band.start - date_range.start).days / total * 100, 3),
                width=round((band.end - band.start).days / total * 100, 3),
                period=source,
            )
        )
    return out


def team_page(*, team: Team, date_range: DateRange, today: dt.date) -> TeamPage:
    periods = team_periods(team)
    current = current_of(periods, today)
    return TeamPage(
        team=team,
        date_range=date_range,
        periods=periods,
        current_focus=current,
        revisit_due=bool(current and current.revisit_overdue(today)),
        timeline=timeline_of(periods, date_range),
        warnings=[],
    )


def _focus_rows_sql() -> str:
    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    user: Any = get_user_model()
    username = connection.ops.quote_name(user._meta.get_field(user.USERNAME_FIELD).column)
    return f"""
        SELECT f.id, f.kind_id, k.slug, k.name, f.starts_on, f.ends_on, f.status, f.rationale,
            f.tradeoff, f.revisit_on, f.aligned_at, f.aligned_by_id,
            u.first_name, u.last_name, u.{username}
        FROM {table(FocusPeriod)} f
            JOIN {table(FocusKind)} k ON k.id = f.kind_id
            LEFT JOIN {table(user)} u ON u.id = f.aligned_by_id
        WHERE f.team_id = %s
        ORDER BY f.starts_on, f.id
    """  # noqa: S608  (table and column names from the models; the team is a parameter)


def team_focus_rows(team: Team) -> list[tuple[Any, ...]]:
    """What the team page shows of every focus period of the team (kind, dates, status,
    rationale, trade-off, revisit date, who aligned it and when), as plain rows in one query:
    the signature of the page's focus for its cache key, read on every view, so written as
    SQL rather than built by the ORM (whose compiling costs more than running it)."""
    with connection.cursor() as cursor:
        cursor.execute(_focus_rows_sql(), [team.pk])
        return [tuple(row) for row in cursor.fetchall()]


def team_content_key(
    *,
    team: Team,
    focus_rows: Sequence[tuple[Any, ...]],
    state: TeamState | None,
    today: dt.date,
    variant: str,
) -> str | None:
    """The key of a team's rendered page content, or None when it must be rendered afresh.

    The numbers, charts and latest lists follow the team's version (every write leaves a
    dirty bucket until the worker has recomputed the team and bumped it; while one is left
    nothing is cached); the focus periods, shown in full, are in the key (`focus_rows`, see
    team_focus_rows); `variant` is what else the content depends on (the query string as
    typed)."""
    if state is None or state.version is None or state.pending:
        return None
    periods = list(focus_rows)
    digest = hashlib.sha256(
        repr((team.pk, team.slug, team.name, state.version, today, variant, periods)).encode()
    ).hexdigest()
    return f"execdash:team:{_code_stamp()}:{settings.EXECDASH_TIME_ZONE}:{digest}"


def team_numbers_key(
    *, team: Team, state: TeamState | None, today: dt.date, variant: str
) -> str | None:
    """The key of a team's rendered numbers fragment, or None when it must be rendered live
    (a recompute is pending, or the team was never computed: the fragment polls then).

    The same rules as `team_content_key`: the numbers follow the team's version, and
    `variant` is the query string as typed; of the focus periods only today's counts here
    (its stability warning), and its signature is in the team's state."""
    if state is None or state.version is None or state.pending:
        return None
    digest = hashlib.sha256(
        repr(
            (
                team.pk,
                team.slug,
                team.name,
                state.version,
                state.focus,
                today,
                variant,
                settings.EXECDASH_DORA_YEAR,
            )
        ).encode()
    ).hexdigest()
    return f"execdash:team-numbers:{_code_stamp()}:{settings.EXECDASH_TIME_ZONE}:{digest}"


def team_numbers(*, team: Team, date_range: DateRange) -> TeamNumbers:
    window = metrics.window_metrics(team=team, start=date_range.start, end=date_range.end)
    return TeamNumbers(window=window, pending=bool(metrics.pending_recompute(team_ids=[team.id])))


def chart_markers(*, team: Team, date_range: DateRange) -> list[charts.Marker]:
    """Failed releases and SEV1/SEV2 incidents in the range (two queries)."""
    start, end = window_bounds(date_range.start, date_range.end, org_tz())
    incidents = (
        Incident.objects.filter(
            team=team, started_at__gte=start, started_at__lt=end, severity__in=SEVERE
        )
        .only("id", "title", "severity", "service", "started_at", "resolved_at")
        .order_by("-started_at")[:MARKER_LIMIT]
    )
    failed = (
        Release.objects.filter(team=team, deployed_at__gte=start, deployed_at__lt=end)
        .filter(Q(status__in=FAILED_STATUSES) | Q(caused_incidents__isnull=False))
        .distinct()
        .only("id", "service", "version", "status", "deployed_at")
        .order_by("-deployed_at")[:MARKER_LIMIT]
    )
    # One reverse() per kind, not per marker: a year can hold hundreds of them.
    incident_url = reverse("incidents:detail", kwargs={"slug": team.slug, "pk": PK_SENTINEL})
    release_url = reverse("releases:detail", kwargs={"slug": team.slug, "pk": PK_SENTINEL})
    markers = [
        charts.Marker(
            kind="incident",
            at=incident.started_at,
            title=incident.title,
            detail=" · ".join(
                part
                for part in (
                    incident.severity,
                    incident.service,
                    "open" if incident.resolved_at is None else "resolved",
                )
                if part
            ),
            url=incident_url.replace(PK_PLACEHOLDER, str(incident.pk)),
        )
        for incident in incidents
    ]
    markers += [
        charts.Marker(
            kind="failed_release",
            at=release.deployed_at,
            title=f"{release.service} {release.version}",
            detail=(
                release.get_status_display()
                if release.status in FAILED_STATUSES
                else "caused an incident"
            ),
            url=release_url.replace(PK_PLACEHOLDER, str(release.pk)),
        )
        for release in failed
    ]
    return markers


CHARTS_CACHE_SECONDS = 600


def _charts_cache_key(
    team: Team, date_range: DateRange, periods: Sequence[FocusPeriod]
) -> str | None:
    """A key that changes whenever what the charts draw changes: the team's rollups (every
    write is followed by a recompute, which stamps its rows), its focus periods, the range.
    None when the team has never been computed: nothing worth caching yet."""
    computed = metrics.last_computed_at(scopes=[team.id]).get(team.id)
    if computed is None:
        return None
    focus = hashlib.sha256(
        repr([(p.pk, p.kind.slug, p.kind.name, p.starts_on, p.ends_on) for p in periods]).encode()
    ).hexdigest()[:16]
    return (
        f"execdash:charts:v2:{team.pk}:{team.slug}:{date_range.start}:{date_range.end}:"
        f"{computed.timestamp()}:{focus}:{settings.EXECDASH_TIME_ZONE}"
    )


def team_charts(
    *, team: Team, date_range: DateRange, periods: Sequence[FocusPeriod]
) -> charts.TeamCharts:
    """The four charts of the team page, sharing one time axis, and their markers.

    Building Plotly figures costs far more than reading their rows, so they are cached
    until the team's rollups are recomputed: one query when cached, four otherwise.
    """
    key = _charts_cache_key(team, date_range, periods)
    if key is not None:
        cached = cache.get(key)
        if cached is not None:
            return cached
    mondays = date_range.mondays()
    series = metrics.weekly_series(scopes=[team.id], start=mondays[0], end=date_range.end)
    weeks = charts.dense_weeks(series.get(team.id, []), mondays)
    chart_start = date_range.chart_start
    built = charts.team_charts(
        weeks=weeks,
        bands=charts.focus_bands(periods, chart_start, date_range.end),
        markers=chart_markers(team=team, date_range=date_range),
        start=chart_start,
        end=date_range.end,
        tz=org_tz(),
    )
    if key is not None:
        cache.set(key, built, CHARTS_CACHE_SECONDS)
    return built


def latest_incidents(*, team: Team, date_range: DateRange, limit: int = 5) -> list[Incident]:
    start, end = window_bounds(date_range.start, date_range.end, org_tz())
    return list(
        Incident.objects.filter(team=team, started_at__gte=start, started_at__lt=end)
        .select_related("caused_by")
        .order_by("-started_at")[:limit]
    )


def latest_releases(*, team: Team, date_range: DateRange, limit: int = 5) -> list[Release]:
    start, end = window_bounds(date_range.start, date_range.end, org_tz())
    return list(
        Release.objects.filter(team=team, deployed_at__gte=start, deployed_at__lt=end).order_by(
            "-deployed_at"
        )[:limit]
    )


# --- definitions --------------------------------------------------------------------------


def dora_table(table: Any) -> list[dict[str, str]]:
    """The benchmark year's cut-offs in words, one row per level (elite, high, medium, low)."""
    freq, lead, cfr, ttr = (
        table.deployment_frequency,
        table.lead_time,
        table.change_failure_rate,
        table.time_to_restore,
    )
    rows = []
    for i, level in enumerate(("elite", "high", "medium")):
        rows.append(
            {
                "level": level,
                "deployment_frequency": f"≥ {format_per_week(freq[i])} per week",
                "lead_time": f"< {format_duration(lead[i])}",
                "change_failure_rate": f"≤ {format_rate(cfr[i])}",
                "time_to_restore": f"< {format_duration(ttr[i])}",
            }
        )
    rows.append(
        {
            "level": "low",
            "deployment_frequency": f"< {format_per_week(freq[2])} per week",
            "lead_time": f"≥ {format_duration(lead[2])}",
            "change_failure_rate": f"> {format_rate(cfr[2])}",
            "time_to_restore": f"≥ {format_duration(ttr[2])}",
        }
    )
    return rows
