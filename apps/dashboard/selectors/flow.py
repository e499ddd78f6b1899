"""The reads of a team page's "Flow" and "Knowledge sharing" sections (lazy fragments).

Flow: the weekly rollups (deployments, mean lead time) and one bounded query of the range's
releases for Kingman's variability. Knowledge sharing: one grouped query of who did the
work per service (`metrics.selectors.service_work`). Both are constant in the number of
weeks, services and people.

Building Plotly figures costs far more than these reads, so both sections are cached, as the
team's charts are, until the team is recomputed or its focus periods change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from apps.dashboard.charts.base import focus_bands
from apps.dashboard.charts.flow import FlowCharts, flow_chart, flow_weeks, kingman
from apps.dashboard.charts.knowledge import Knowledge, knowledge_of
from apps.dashboard.dates import DateRange
from apps.focus.models import FocusKind, FocusPeriod
from apps.metrics import selectors as metrics
from apps.metrics.formulas import gaps_between, kingman_inputs
from apps.teams.models import Team

SECTIONS_CACHE_SECONDS = 600


def _cached[T](
    name: str,
    team: Team,
    date_range: DateRange,
    periods: Sequence[FocusPeriod],
    build: Callable[[], T],
) -> T:
    """`build()`, cached under a key that changes whenever what it shows may change: the
    team's last recompute (every write is followed by one), its focus periods, the range.
    Not cached while the team has never been computed."""
    computed = metrics.last_computed_at(scopes=[team.id]).get(team.id)
    if computed is None:
        return build()
    focus = hashlib.sha256(
        repr(
            [
                (p.pk, p.kind.slug, p.kind.name, p.starts_on, p.ends_on, p.success_signals)
                for p in periods
            ]
        ).encode()
    ).hexdigest()[:16]
    key = (
        f"execdash:{name}:v1:{team.pk}:{date_range.start}:{date_range.end}:"
        f"{computed.timestamp()}:{focus}:{settings.EXECDASH_TIME_ZONE}"
    )
    found = cache.get(key)
    if found is None:
        found = build()
        cache.set(key, found, SECTIONS_CACHE_SECONDS)
    return found


def team_flow(*, team: Team, date_range: DateRange, periods: Sequence[FocusPeriod]) -> FlowCharts:
    """Work in progress per week beside deployments and lead time, and the Kingman curve
    from the range's own variability: one query when cached, three otherwise."""
    return _cached("flow", team, date_range, periods, lambda: _flow(team, date_range, periods))


def _flow(team: Team, date_range: DateRange, periods: Sequence[FocusPeriod]) -> FlowCharts:
    mondays = date_range.mondays()
    series = metrics.weekly_series(scopes=[team.id], start=mondays[0], end=date_range.end)
    weeks = flow_weeks(series.get(team.id, []), mondays)
    chart_start = date_range.chart_start
    samples = metrics.flow_samples(team=team, start=date_range.start, end=date_range.end)
    inputs = kingman_inputs(gaps=gaps_between(samples.deployed), leads=samples.leads)
    return FlowCharts(
        flow=flow_chart(
            weeks=weeks,
            bands=focus_bands(periods, chart_start, date_range.end),
            start=chart_start,
            end=date_range.end,
        ),
        kingman=kingman(inputs, truncated=samples.truncated),
        weeks_with_wip=sum(1 for w in weeks if w.wip is not None),
    )


@dataclass(frozen=True)
class KnowledgeFocus:
    """A knowledge-sharing focus period overlapping the range, and the bus factor targets
    of its success signals (its success signal is the bus factor, with or without one)."""

    period: FocusPeriod
    targets: list[str]


@dataclass(frozen=True)
class TeamKnowledge:
    """The knowledge-sharing section, and the knowledge-sharing focus periods that overlap
    the range (the section is highlighted and its numbers are their success signals)."""

    knowledge: Knowledge
    focus_periods: list[KnowledgeFocus]

    @property
    def highlighted(self) -> bool:
        return bool(self.focus_periods)


def knowledge_focus(
    periods: Sequence[FocusPeriod], start: dt.date, end: dt.date
) -> list[KnowledgeFocus]:
    """Knowledge-sharing periods overlapping `[start, end)` (`ends_on` is inclusive)."""
    return [
        KnowledgeFocus(
            period=p,
            targets=[
                str(signal.get("target", ""))
                for signal in (p.success_signals or [])
                if isinstance(signal, dict) and signal.get("metric") == "bus_factor"
            ],
        )
        for p in periods
        if p.kind.slug == FocusKind.KNOWLEDGE_SHARING
        and p.starts_on < end
        and (p.ends_on is None or p.ends_on >= start)
    ]


def team_knowledge(
    *,
    team: Team,
    date_range: DateRange,
    periods: Sequence[FocusPeriod],
    show_names: bool,
) -> TeamKnowledge:
    """Who did the work per service and each service's bus factor: one query when cached,
    two otherwise. Named and anonymised answers are cached apart."""

    def build() -> Knowledge:
        work = metrics.service_work(team=team, start=date_range.start, end=date_range.end)
        return knowledge_of(work, show_names=show_names)

    name = "knowledge-named" if show_names else "knowledge-anonymised"
    return TeamKnowledge(
        knowledge=_cached(name, team, date_range, periods, build),
        focus_periods=knowledge_focus(periods, date_range.start, date_range.end),
    )
