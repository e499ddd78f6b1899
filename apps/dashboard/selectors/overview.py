"""The overview's reads: the viewer's teams with their state, the organization's totals and
the team cards, in a constant number of queries whatever the number of teams (the metrics
from `apps.metrics.selectors`, everything else one query per kind of row), and from the
page cache when nothing changed."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet

from apps.dashboard.charts.base import Week
from apps.dashboard.dates import DateRange
from apps.dashboard.page_cache import (
    PAGE_CACHE_SECONDS,
    cards_key_of,
    part_key,
    teams_state,
    visible_teams_state,
)
from apps.dashboard.presenters import CardNumber, Total, card_numbers, org_totals
from apps.focus.models import FocusPeriod
from apps.focus.selectors import current_focus_by_team
from apps.focus.stability import stability_warnings_of
from apps.incidents.selectors import SEVERE, open_incidents_by_team
from apps.metrics import selectors as metrics
from apps.metrics.models import ORG_SCOPE
from apps.teams.models import Team

SPARKLINE_WEEKS = 12


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


def _sparkline_mondays(date_range: DateRange) -> list[dt.date]:
    """The 12 ISO weeks up to the end of the range (its last, maybe partial, week included)."""
    last_monday = date_range.last_day - dt.timedelta(days=date_range.last_day.weekday())
    return [last_monday - dt.timedelta(weeks=n) for n in range(SPARKLINE_WEEKS - 1, -1, -1)]


def sparkline_weeks(
    *, team_ids: Sequence[int], mondays: Sequence[dt.date]
) -> dict[int, list[Week]]:
    """The weekly rollups behind the overview's sparklines, in one query."""
    rows = metrics.weekly_spark_rows(scopes=team_ids, first=mondays[0], last=mondays[-1])
    found = {
        (scope, week): Week(
            week_start=week,
            deployments=deployments,
            failed_deployments=failed,
            ttr_median=ttr,
            lead_median=lead,
        )
        for scope, week, deployments, failed, ttr, lead in rows
    }
    empty = {monday: Week(week_start=monday) for monday in mondays}
    return {
        team_id: [found.get((team_id, monday)) or empty[monday] for monday in mondays]
        for team_id in team_ids
    }


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
        cards_key_of(
            teams=teams,
            states=states,
            date_range=date_range,
            today=today,
            cards_shown=cards_shown,
        )
        if cacheable
        else None
    )
    org_key = part_key("org", ORG_SCOPE, org_version, date_range) if org_version else None
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
            cache.set(org_key, org, PAGE_CACHE_SECONDS)
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
        t.id: part_key("team", t.id, state.versions[t.id], date_range)
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
            cache.set_many(fresh, PAGE_CACHE_SECONDS)
    focus = current_focus_by_team(team_ids, today)
    open_now = open_incidents_by_team(team_ids)

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
                warnings=stability_warnings_of(
                    period,
                    levels=summary.levels,
                    change_failure_rate=summary.change_failure_rate,
                    ttr_median=summary.ttr_median,
                ),
                numbers=summary.numbers,
                computed_at=summary.computed_at,
                url=f"{team.get_absolute_url()}?{date_range.query}",
            )
        )
    cards.sort(key=lambda card: card.attention)
    return cards
