"""The dashboard's page cache: rendered content kept under what it shows.

Chart JSON escaped once (`with_script_json`, off with EXECDASH_CHART_JSON_ONCE=false): a team's
charts are 100 KB of JSON that Django's `json_script` escapes in ~10x the time (BENCHMARKS.md).

What the overview's cards and a team's page show changes only when the worker recomputes a
team (which bumps its `ScopeVersion`; every write leaves a dirty bucket until then) or when
its focus changes. So rendered content is cached under keys made of those versions, the
range, the day, the teams' names and focus, and `settings.EXECDASH_CACHE_VERSION` (the
release); a team with a dirty bucket is never served from the cache. What it buys is in
BENCHMARKS.md ("Pages"). The teams' state comes from one SQL statement, read on every view.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django.db.models import QuerySet
from django.utils.safestring import SafeString, mark_safe

from apps.dashboard.charts.figures import TeamCharts
from apps.dashboard.dates import DateRange
from apps.focus.models import FocusKind, FocusPeriod
from apps.metrics.models import ORG_SCOPE, DirtyBucket, ScopeVersion
from apps.metrics.selectors import scope_versions
from apps.teams.models import Team

PAGE_CACHE_SECONDS = 600
# `json_script`'s escapes: no markup can close the <script> element the JSON sits in.
SCRIPT_ESCAPES = (("&", "\\u0026"), ("<", "\\u003C"), (">", "\\u003E"))
INDENT = re.compile(r"\n[ \t]+")


def script_json(data: Any) -> SafeString:
    """`data` as Django's `json_script` writes it inside its <script> element, escaped with
    three `str.replace` instead of `str.translate`, which is slow on long strings."""
    text = json.dumps(data, cls=DjangoJSONEncoder)
    for char, escape in SCRIPT_ESCAPES:
        text = text.replace(char, escape)
    return mark_safe(text)  # noqa: S308  (escaped above: no markup can close the script)


def with_script_json(charts: TeamCharts) -> TeamCharts:
    """The charts with their JSON for the page computed now, to be cached with them (the
    template uses it when present, `json_script` otherwise)."""
    if not settings.EXECDASH_CHART_JSON_ONCE:
        return charts
    return replace(
        charts,
        charts=[replace(c, figure_json=script_json(c.figure)) for c in charts.charts],
        markers_json=script_json(charts.markers),
    )


def _scope() -> str:
    """What every cached part depends on beyond its own key: the release and the zone."""
    return f"{settings.EXECDASH_CACHE_VERSION}:{settings.EXECDASH_TIME_ZONE}"


def _digest(*parts: Any) -> str:
    """A key's digest of everything the cached content is a function of."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def unindent(html: str) -> str:
    """The templates' indentation dropped (a line break stays a line break, so the page reads
    the same, `white-space: pre-line` text too); see BENCHMARKS.md ("Smaller pages")."""
    return INDENT.sub("\n", html)


@dataclass(frozen=True)
class TeamState:
    """What decides whether a team's cached card still holds."""

    version: str | None  # "<row id>.<counter>"; None: never computed
    pending: bool  # writes wait for the worker
    focus: str | None  # a signature of the current focus period: kind, revisit date, status


def _state_sql(where: str) -> str:
    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    # The teams' versions are joined (one hash for all of them); a correlated subquery per
    # team cost more (BENCHMARKS.md, "One query for the state").
    return f"""
        SELECT t.id, t.name, t.slug,
            tv.id || '.' || tv.version,
            (SELECT v.id || '.' || v.version FROM {table(ScopeVersion)} v
                WHERE v.scope = {ORG_SCOPE}),
            EXISTS (SELECT 1 FROM {table(DirtyBucket)} d WHERE d.team_id = t.id),
            (SELECT f.id || '|' || k.slug || '|' || k.name || '|'
                    || COALESCE(CAST(f.revisit_on AS TEXT), '') || '|' || f.status
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
    (four correlated subqueries) costs more to compile than to run (BENCHMARKS.md).
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


def part_key(kind: str, scope: int, version: str, date_range: DateRange) -> str:
    return (
        f"execdash:overview:{settings.EXECDASH_CACHE_VERSION}:{kind}:{scope}:{version}:"
        f"{date_range.start}:{date_range.end}:{settings.EXECDASH_TIME_ZONE}:"
        f"{settings.EXECDASH_DORA_YEAR}"
    )


def cards_key_of(
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
    return f"execdash:overview:{settings.EXECDASH_CACHE_VERSION}:cards:{digest}"


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
    apps.focus.selectors.team_focus_rows); `variant` is what else the content depends on
    (the query string as typed)."""
    if state is None or state.version is None or state.pending:
        return None
    periods = list(focus_rows)
    digest = _digest(team.pk, team.slug, team.name, state.version, today, variant, periods)
    return f"execdash:team:{_scope()}:{digest}"


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
    digest = _digest(
        team.pk,
        team.slug,
        team.name,
        state.version,
        state.focus,
        today,
        variant,
        settings.EXECDASH_DORA_YEAR,
    )
    return f"execdash:team-numbers:{_scope()}:{digest}"


def outcomes_section_key(
    *,
    team: Team,
    state: TeamState | None,
    signature: Sequence[Any],
    focus_rows: Sequence[tuple[Any, ...]],
    date_range: DateRange,
    today: dt.date,
) -> str | None:
    """The key of a team's rendered section of the outcome-vs-output page, or None when it
    must be rendered afresh (the team was never computed).

    The output bars follow the team's version (bumped by every recompute); the outcomes'
    stored progress and the team's "busy, not moving" flag are written at other moments (an
    outcome write, the worker's refresh after the recompute), so what the section shows of
    them is in the key (`signature`: each outcome's id and when its progress was stored,
    the flag's time, who may add an outcome), and so are the focus periods its bands draw."""
    if state is None or state.version is None:
        return None
    digest = _digest(
        team.pk,
        team.slug,
        team.name,
        state.version,
        list(signature),
        list(focus_rows),
        date_range.query,
        date_range.chart_start,
        date_range.end,
        today,
    )
    return f"execdash:outcomes:{_scope()}:{digest}"


def _outcomes_signature_sql(visible: str) -> str:
    def table(model: Any) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    from apps.focus.models import FocusEvent
    from apps.outcomes.models import Outcome, OutcomeStatus, TeamOutcomeFlag

    # Counts and the latest write of each thing the page shows, for the viewer's teams: every
    # write to them through the product moves one of these (an outcome's or a measurement's
    # write stores its progress anew; a recompute bumps its team's version and the worker
    # then stores the flags; each step of a focus period's life is an event).
    return f"""
        SELECT
            (SELECT COUNT(*) FROM {table(Outcome)} o
                WHERE o.team_id IS NULL OR o.team_id IN ({visible})),
            (SELECT MAX(s.computed_at) FROM {table(OutcomeStatus)} s
                JOIN {table(Outcome)} o ON o.id = s.outcome_id
                WHERE o.team_id IS NULL OR o.team_id IN ({visible})),
            (SELECT COUNT(*) FROM {table(TeamOutcomeFlag)} f WHERE f.team_id IN ({visible})),
            (SELECT MAX(f.computed_at) FROM {table(TeamOutcomeFlag)} f
                WHERE f.team_id IN ({visible})),
            (SELECT COUNT(*) FROM {table(ScopeVersion)} v WHERE v.scope IN ({visible})),
            (SELECT SUM(v.version) FROM {table(ScopeVersion)} v WHERE v.scope IN ({visible})),
            (SELECT COUNT(*) FROM {table(FocusPeriod)} p WHERE p.team_id IN ({visible})),
            (SELECT MAX(e.id) FROM {table(FocusEvent)} e
                JOIN {table(FocusPeriod)} p ON p.id = e.period_id
                WHERE p.team_id IN ({visible}))
    """  # noqa: S608  (table names from the models, `visible` from the ORM; values are parameters)


def outcomes_page_key(
    *,
    teams: QuerySet[Team],
    team_list: Sequence[Team],
    managed: Sequence[int],
    is_admin: bool,
    variant: str,
    today: dt.date,
) -> str | None:
    """The key of the outcome-vs-output page's content for this viewer, from one query.

    What the content shows is a function of: the viewer's teams (`team_list`, names and
    slugs) and which of them they manage, whether they are an admin, the query string as
    typed, the day, and the latest write of each of the viewer's teams' outcomes, flags,
    versions and focus periods (`_outcomes_signature_sql`). A change made outside the
    product (the Django admin, SQL) shows within PAGE_CACHE_SECONDS."""
    try:
        sub_sql, sub_params = teams.order_by().values("id").query.sql_with_params()
    except EmptyResultSet:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_outcomes_signature_sql(sub_sql), list(sub_params) * 8)
        signature = cursor.fetchone()
    digest = _digest(
        [(t.pk, t.slug, t.name) for t in team_list],
        sorted(managed),
        is_admin,
        variant,
        today,
        tuple(str(value) for value in signature or ()),
    )
    return f"execdash:outcomes-page:{_scope()}:{digest}"
