"""A team page's reads: its focus periods and timeline, its numbers for the range, its four
charts (cached until the team is recomputed) and its latest incidents and releases."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from apps.core.timezones import org_tz
from apps.dashboard.charts.base import Marker, dense_weeks, focus_bands
from apps.dashboard.charts.figures import TeamCharts
from apps.dashboard.charts.figures import team_charts as build_team_charts
from apps.dashboard.dates import DateRange
from apps.dashboard.focus_cards import PeriodCard, period_cards
from apps.dashboard.page_cache import with_script_json
from apps.dashboard.presenters import TimelineBand, timeline_of
from apps.focus.evaluations import focus_evaluations_of
from apps.focus.models import FocusPeriod
from apps.focus.selectors import current_of, team_periods
from apps.incidents.selectors import DataGaps, data_gaps, severe_incidents_between
from apps.metrics import selectors as metrics
from apps.releases.models import FAILED_STATUSES
from apps.releases.selectors import failed_releases_between
from apps.teams.models import Team

MARKER_LIMIT = 500  # per kind on a chart; more would be unreadable anyway
CHARTS_CACHE_SECONDS = 600


@dataclass
class TeamNumbers:
    """A team's numbers for the range, and how fresh they are."""

    window: Any
    pending: bool
    # What the numbers leave out for want of data (incidents whose start is unknown).
    gaps: DataGaps

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
    focus_cards: list[PeriodCard]


def focus_cards_of(
    periods: Sequence[FocusPeriod],
    *,
    today: dt.date,
    version: str | None = None,
    date_range: DateRange | None = None,
) -> list[PeriodCard]:
    """ "Did it work" cards of the periods (those overlapping `date_range` when given), from
    the stored evaluations: one query when they hold. `version` is the team's recompute
    version when the caller has read it already (it saves a query)."""
    shown = [
        p
        for p in periods
        if date_range is None
        or (p.starts_on < date_range.end and (p.ends_on is None or p.ends_on >= date_range.start))
    ]
    versions: dict[int, str | None] | None = None
    if version is not None:
        versions = {p.team_id: version for p in shown}
    evaluations = focus_evaluations_of(shown, today=today, versions=versions)
    return period_cards(shown, evaluations, today=today)


def team_page(
    *, team: Team, date_range: DateRange, today: dt.date, version: str | None = None
) -> TeamPage:
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
        focus_cards=focus_cards_of(periods, today=today, version=version, date_range=date_range),
    )


def team_numbers(*, team: Team, date_range: DateRange) -> TeamNumbers:
    window = metrics.window_metrics(team=team, start=date_range.start, end=date_range.end)
    return TeamNumbers(
        window=window,
        pending=bool(metrics.pending_recompute(team_ids=[team.id])),
        gaps=data_gaps(team=team, start=date_range.start, end=date_range.end),
    )


def chart_markers(*, team: Team, date_range: DateRange) -> list[Marker]:
    """Failed releases and SEV1/SEV2 incidents in the range (two queries)."""
    start, end = date_range.start, date_range.end
    incidents = severe_incidents_between(team=team, start=start, end=end, limit=MARKER_LIMIT)
    failed = failed_releases_between(team=team, start=start, end=end, limit=MARKER_LIMIT)
    markers = [
        Marker(
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
            url=reverse("incidents:detail", kwargs={"slug": team.slug, "pk": incident.pk}),
        )
        for incident in incidents
    ]
    markers += [
        Marker(
            kind="failed_release",
            at=release.deployed_at,
            title=f"{release.service} {release.version}",
            detail=(
                release.get_status_display()
                if release.status in FAILED_STATUSES
                else "caused an incident"
            ),
            url=reverse("releases:detail", kwargs={"slug": team.slug, "pk": release.pk}),
        )
        for release in failed
    ]
    return markers


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


def team_charts(*, team: Team, date_range: DateRange, periods: Sequence[FocusPeriod]) -> TeamCharts:
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
    weeks = dense_weeks(series.get(team.id, []), mondays)
    chart_start = date_range.chart_start
    built = build_team_charts(
        weeks=weeks,
        bands=focus_bands(periods, chart_start, date_range.end),
        markers=chart_markers(team=team, date_range=date_range),
        start=chart_start,
        end=date_range.end,
        tz=org_tz(),
    )
    built = with_script_json(built)
    if key is not None:
        cache.set(key, built, CHARTS_CACHE_SECONDS)
    return built
