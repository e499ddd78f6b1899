"""The outcome-vs-output page's reads: the organization's outcomes with the team outcomes
that ladder up to each, and per team its outcomes' charts, its output per week, its focus
bands and its stored "busy, not moving" flag.

A fixed number of queries whatever the number of teams and outcomes: the outcomes with their
stored progress, the flags, the measurements in the range, the weekly rollups and the focus
periods, one query each.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.safestring import mark_safe

from apps.core.formatting import format_rate
from apps.dashboard.charts.base import focus_bands
from apps.dashboard.charts.outcomes import OutcomeChart, OutputWeek, outcome_chart, value_text
from apps.dashboard.dates import DateRange
from apps.dashboard.page_cache import outcomes_section_key, script_json, teams_state
from apps.focus.models import FocusPeriod
from apps.focus.selectors import teams_focus_signatures
from apps.metrics.models import ORG_SCOPE
from apps.metrics.selectors import weekly_series
from apps.outcomes.models import Outcome, OutcomeMeasurement, OutcomeStatus, TeamOutcomeFlag
from apps.teams.models import Membership, Team
from apps.teams.permissions import is_org_admin, visible_teams


def status_of(outcome: Outcome) -> OutcomeStatus | None:
    try:
        return outcome.status
    except OutcomeStatus.DoesNotExist:
        return None


@dataclass
class OutcomeRow:
    """An outcome with its stored progress, in the words and widths the page shows."""

    outcome: Outcome
    status: OutcomeStatus | None
    chart: OutcomeChart | None = None
    can_edit: bool = False

    @property
    def progress(self) -> float | None:
        return self.status.progress if self.status else None

    @property
    def progress_text(self) -> str:
        progress = self.progress
        if progress is None:
            return "No measurement yet"
        if progress >= 1:
            return f"Target reached ({format_rate(progress)})"
        if progress < 0:
            return f"{format_rate(-progress)} on the wrong side of the baseline"
        return f"{format_rate(progress)} of the way"

    @property
    def bar_width(self) -> str:
        """The progress bar's width in %, 0 to 100 (past the target: full)."""
        progress = self.progress or 0.0
        return f"{max(0.0, min(progress, 1.0)) * 100:.1f}"

    @property
    def latest_text(self) -> str:
        if not self.status or self.status.latest_value is None:
            return "—"
        return value_text(self.status.latest_value, self.outcome.unit)

    @property
    def baseline_text(self) -> str:
        return value_text(self.outcome.baseline, self.outcome.unit)

    @property
    def target_text(self) -> str:
        return value_text(self.outcome.target, self.outcome.unit)


@dataclass
class OrgOutcome:
    """An organization outcome and the team outcomes that ladder up to it: the furthest
    from their targets listed first (`listed`), the rest counted (`more`) — each also
    has its chart in its team's section."""

    row: OutcomeRow
    children: list[OutcomeRow] = field(default_factory=list)

    @cached_property
    def listed(self) -> list[OutcomeRow]:
        return sorted(self.children, key=_furthest_first)[:LADDER_LISTED]

    @property
    def more(self) -> int:
        return max(0, len(self.children) - LADDER_LISTED)

    @property
    def reached(self) -> int:
        return sum(1 for child in self.children if (child.progress or 0) >= 1)


# Team outcomes listed under an organization outcome; beyond that a count (an admin of 200
# teams would otherwise read hundreds of lines before the first team's chart).
LADDER_LISTED = 8


def _furthest_first(row: OutcomeRow) -> tuple[bool, float, str]:
    """No measurement yet first, then the lowest progress, then by name."""
    progress = row.progress
    return (progress is not None, progress if progress is not None else 0.0, row.outcome.name)


@dataclass
class TeamSection:
    team: Team
    flag: TeamOutcomeFlag | None
    outcomes: list[OutcomeRow]
    can_manage: bool
    # The rendered section, when the page cache had it (`page_cache.outcomes_section_key`).
    cache_key: str | None = None
    html: str | None = None

    @property
    def signature(self) -> tuple[Any, ...]:
        """What the section shows that the team's version does not follow: who may add an
        outcome, when the flag and each outcome's progress were stored."""
        flag = self.flag.computed_at if self.flag else None
        stored = [(r.outcome.pk, r.status.computed_at if r.status else None) for r in self.outcomes]
        return (self.can_manage, flag, stored)


@dataclass
class OutcomesPage:
    organization: list[OrgOutcome]
    teams: list[TeamSection]
    hidden_teams: list[TeamSection]
    can_create: bool
    is_admin: bool

    @property
    def team_count(self) -> int:
        return len(self.teams) + len(self.hidden_teams)


def managed_team_ids(user: Any) -> set[int]:
    """The teams the user manages (one query)."""
    return set(
        Membership.objects.filter(user_id=user.pk, role=Membership.Role.MANAGER).values_list(
            "team_id", flat=True
        )
    )


def _chart_data(
    team_ids: list[int], outcome_ids: list[int], start: dt.date, end: dt.date
) -> tuple[
    dict[int, list[tuple[dt.date, float]]], dict[int, list[Any]], dict[int, list[FocusPeriod]]
]:
    """What the charts of these teams draw: measurements, weekly rollups and focus periods
    in `[start, end)`, one query each."""
    points: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    periods: dict[int, list[FocusPeriod]] = defaultdict(list)
    if not team_ids:
        return points, {}, periods
    for outcome_id, measured_on, value in (
        OutcomeMeasurement.objects.filter(
            outcome__in=outcome_ids, measured_on__gte=start, measured_on__lt=end
        )
        .order_by("outcome_id", "measured_on")
        .values_list("outcome_id", "measured_on", "value")
    ):
        points[outcome_id].append((measured_on, value))
    series: dict[int, list[Any]] = dict(weekly_series(scopes=team_ids, start=start, end=end))
    for period in (
        FocusPeriod.objects.filter(team_id__in=team_ids, starts_on__lt=end)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=start))
        .select_related("kind")
        .order_by("starts_on")
    ):
        periods[period.team_id].append(period)
    return points, series, periods


def _from_cache(sections: list[TeamSection], date_range: DateRange) -> None:
    """Each section's key, and its rendered HTML when the page cache has it (two queries and
    one cache read for all of them)."""
    if not sections:
        return
    today = timezone.localdate()
    ids = [s.team.pk for s in sections]
    states, _org = teams_state(ids, today)
    focus = teams_focus_signatures(ids)
    for section in sections:
        section.cache_key = outcomes_section_key(
            team=section.team,
            state=states.get(section.team.pk),
            signature=section.signature,
            focus_rows=focus.get(section.team.pk, []),
            date_range=date_range,
            today=today,
        )
    found = cache.get_many([s.cache_key for s in sections if s.cache_key])
    for section in sections:
        if section.cache_key in found:
            section.html = mark_safe(found[section.cache_key])  # noqa: S308  (rendered by us)


def outcomes_page(
    *,
    user: Any,
    teams: list[Team],
    date_range: DateRange,
    shown: int | None = None,
    managed: set[int] | None = None,
) -> OutcomesPage:
    """The page's outcomes and teams: teams flagged "busy, not moving" first, then teams
    with outcomes, then the rest, by name; charts for the first `shown` teams (all when
    None), the others listed."""
    admin = is_org_admin(user)
    if managed is None:
        managed = set() if admin else managed_team_ids(user)
    ids = [t.pk for t in teams]
    outcomes = list(
        Outcome.objects.filter(Q(team__isnull=True) | Q(team_id__in=ids))
        .select_related("status")
        .order_by("name", "pk")
    )
    flags = {f.team_id: f for f in TeamOutcomeFlag.objects.filter(team_id__in=ids)}
    rows: dict[int, OutcomeRow] = {}
    by_team: dict[int, list[OutcomeRow]] = defaultdict(list)
    for outcome in outcomes:
        row = OutcomeRow(
            outcome=outcome,
            status=status_of(outcome),
            can_edit=admin or (outcome.team_id is not None and outcome.team_id in managed),
        )
        rows[outcome.pk] = row
        if outcome.team_id is not None:
            by_team[outcome.team_id].append(row)
    sections = [
        TeamSection(
            team=team,
            flag=flags.get(team.pk),
            outcomes=by_team.get(team.pk, []),
            can_manage=admin or team.pk in managed,
        )
        for team in teams
    ]
    sections.sort(
        key=lambda s: (
            not (s.flag and s.flag.busy_not_moving),
            not s.outcomes,
            s.team.name.lower(),
        )
    )
    visible = sections if shown is None else sections[:shown]
    start, end = date_range.chart_start, date_range.end
    _from_cache([s for s in visible if s.outcomes], date_range)
    charted = [s for s in visible if s.outcomes and s.html is None]
    points, series, periods = _chart_data(
        [s.team.pk for s in charted],
        [row.outcome.pk for s in charted for row in s.outcomes],
        start,
        end,
    )
    for section in charted:
        weeks = [
            OutputWeek(w.week_start, w.deployments, w.change_count)
            for w in series.get(section.team.pk, [])
        ]
        bands = focus_bands(periods.get(section.team.pk, []), start, end)
        for row in section.outcomes:
            outcome = row.outcome
            row.chart = _with_json(
                outcome_chart(
                    outcome,
                    measurements=points.get(outcome.pk, []),
                    weeks=weeks,
                    bands=bands,
                    start=start,
                    end=end,
                )
            )
    organization = [OrgOutcome(row=rows[o.pk]) for o in outcomes if o.team_id is None]
    org_by_id = {org.row.outcome.pk: org for org in organization}
    team_names = {t.pk: t for t in teams}
    for outcome in outcomes:
        if outcome.team_id is not None and outcome.parent_id in org_by_id:
            outcome.team = team_names[outcome.team_id]
            org_by_id[outcome.parent_id].children.append(rows[outcome.pk])
    return OutcomesPage(
        organization=organization,
        teams=visible,
        hidden_teams=sections[len(visible) :],
        can_create=admin or bool(managed),
        is_admin=admin,
    )


def outcome_for_viewer(user: Any, pk: int) -> Outcome:
    """The outcome if the viewer may see it (organization-wide outcomes: everyone signed in;
    a team's: who may see the team); otherwise 404."""
    outcome = Outcome.objects.select_related("team", "parent", "status").filter(pk=pk).first()
    if outcome is None:
        raise Http404("No such outcome")
    if outcome.team_id is not None and not visible_teams(user).filter(pk=outcome.team_id).exists():
        raise Http404("No such outcome")
    return outcome


def outcome_measurements(outcome: Outcome, *, limit: int = 200) -> list[OutcomeMeasurement]:
    """The outcome's latest measurements, newest first."""
    return list(outcome.measurements.order_by("-measured_on")[:limit])


def outcome_detail_chart(*, outcome: Outcome, date_range: DateRange) -> OutcomeChart:
    """One outcome's chart over the range: against its team's output and focus, or, for an
    organization-wide outcome, the organization's output (three queries)."""
    start, end = date_range.chart_start, date_range.end
    scope = outcome.team_id if outcome.team_id is not None else ORG_SCOPE
    measurements = list(
        outcome.measurements.filter(measured_on__gte=start, measured_on__lt=end)
        .order_by("measured_on")
        .values_list("measured_on", "value")
    )
    series = weekly_series(scopes=[scope], start=start, end=end)
    weeks = [OutputWeek(w.week_start, w.deployments, w.change_count) for w in series[scope]]
    periods: list[FocusPeriod] = []
    if outcome.team_id is not None:
        periods = list(
            FocusPeriod.objects.filter(team_id=outcome.team_id, starts_on__lt=end)
            .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=start))
            .select_related("kind")
            .order_by("starts_on")
        )
    return _with_json(
        outcome_chart(
            outcome,
            measurements=measurements,
            weeks=weeks,
            bands=focus_bands(periods, start, end),
            start=start,
            end=end,
        )
    )


def _with_json(chart: OutcomeChart) -> OutcomeChart:
    """The chart with its JSON for the page escaped once (`page_cache.script_json`; the
    template falls back to `json_script` when EXECDASH_CHART_JSON_ONCE is off)."""
    if not settings.EXECDASH_CHART_JSON_ONCE:
        return chart
    return replace(chart, figure_json=script_json(chart.figure))
