"""A team's page: its focus, numbers, charts and latest incidents and releases; and the
"numbers computed …" line that the incident and release pages poll."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from apps.core.formatting import format_ago
from apps.dashboard.dates import DateRange, preset_links
from apps.dashboard.page_cache import (
    PAGE_CACHE_SECONDS,
    TeamState,
    team_content_key,
    team_numbers_key,
    teams_state,
    unindent,
    visible_teams_state,
)
from apps.dashboard.selectors.team import team_charts, team_numbers, team_page
from apps.dashboard.views.common import fragment_of, nav, page_response, range_form, today
from apps.dashboard.views.team_sections import SECTIONS
from apps.focus.models import FocusPeriod
from apps.focus.selectors import current_focus_by_team, team_focus_rows, team_periods
from apps.focus.stability import stability_warnings
from apps.incidents.selectors import latest_incidents
from apps.metrics.selectors import team_freshness as freshness_of
from apps.releases.selectors import latest_releases
from apps.teams.models import Team
from apps.teams.permissions import team_for_user, visible_teams

TEMPLATE = "dashboard/team.html"
# htmx targets of the team page, and the partial each one is rendered from.
TEAM_FRAGMENTS = {
    "team-numbers": "numbers",
    "team-charts": "charts",
    **{target: partial for target, (partial, _view) in SECTIONS.items()},
}


@require_GET
@vary_on_headers("HX-Request")
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    fragment = fragment_of(request)
    partial = TEAM_FRAGMENTS.get(fragment or "")
    day = today()
    state: TeamState | None = None
    nav_teams: list[Team] | None = None
    if partial == "charts" or fragment in SECTIONS:
        team = team_for_user(request.user, slug)
    elif fragment:
        # The content and numbers fragments need the team's state: one query gives the team
        # (a 404 as with team_for_user when the viewer may not see it) and its state.
        found_teams, states, _org = visible_teams_state(
            visible_teams(request.user).filter(slug=slug), day
        )
        if not found_teams:
            raise Http404("No such team")
        team, state = found_teams[0], states[found_teams[0].id]
    else:
        # The whole page lists the viewer's teams in its navigation anyway: one query gives
        # both, and a team the viewer may not see is a 404 as with team_for_user.
        nav_teams = list(visible_teams(request.user))
        found = next((t for t in nav_teams if t.slug == slug), None)
        if found is None:
            raise Http404("No such team")
        team = found
        states, _org = teams_state([team.id], day)
        state = states.get(team.id)
    form, date_range = range_form(request)
    context: dict[str, Any] = {
        "team": team,
        "date_range": date_range,
        "range_form": form,
        "range_error": form.error_text(),
        "presets": preset_links(date_range),
        "version": state.version if state is not None else None,
    }
    if partial == "numbers":
        # The polling fragment. Once the numbers are fresh it comes back without its
        # trigger (so polling stops) and tells the charts to redraw from the new rollups.
        key = team_numbers_key(team=team, state=state, today=day, variant=request.GET.urlencode())
        html, pending = _numbers_content(request, key, context, day)
        response = HttpResponse(html)
        if not pending:
            trigger_client_event(response, "execdash:fresh")
        return response
    if fragment in SECTIONS:
        return SECTIONS[fragment][1](request, team, context)
    if partial == "charts":
        context["charts"] = team_charts(
            team=team, date_range=date_range, periods=team_periods(team)
        )
        return render(request, f"{TEMPLATE}#charts", context)

    key = team_content_key(
        team=team,
        focus_rows=team_focus_rows(team),
        state=state,
        today=day,
        variant=request.GET.urlencode(),
    )
    content = _team_content(request, key, context, day)
    if fragment:
        return HttpResponse(content)
    context.update(nav_teams=nav(nav_teams or []))
    return page_response(request, TEMPLATE, context, content)


def _cached(key: str | None) -> str | None:
    """Content cached under `key`, if its "computed … ago" line still reads true."""
    cached = cache.get(key) if key else None
    if cached is None:
        return None
    ago, computed_at, html = cached
    return mark_safe(html) if format_ago(computed_at) == ago else None  # noqa: S308


def _keep(key: str | None, numbers: dict[str, Any], html: str) -> str:
    if key:
        computed_at = numbers["computed_at"]
        cache.set(key, (format_ago(computed_at), computed_at, html), PAGE_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308  (rendered by the template engine)


def _team_content(
    request: HttpRequest, key: str | None, context: dict[str, Any], day: dt.date
) -> str:
    """A team's page content, rendered once per state of what it shows (see
    page_cache.team_content_key); the "computed … ago" line is checked on the way out. The
    focus periods are read in full only to render it."""
    cached = _cached(key)
    if cached is not None:
        return cached
    team, date_range = context["team"], context["date_range"]
    start, end = date_range.start, date_range.end
    page = team_page(team=team, date_range=date_range, today=day, version=context["version"])
    numbers = _numbers(team, date_range, page.current_focus)
    html = unindent(
        render_to_string(
            f"{TEMPLATE}#content",
            {
                **context,
                "page": page,
                "numbers": numbers,
                "charts": team_charts(team=team, date_range=date_range, periods=page.periods),
                "incidents": latest_incidents(team=team, start=start, end=end),
                "releases": latest_releases(team=team, start=start, end=end),
            },
            request,
        )
    )
    return _keep(key, numbers, html)


def _numbers_content(
    request: HttpRequest, key: str | None, context: dict[str, Any], day: dt.date
) -> tuple[str, bool]:
    """The numbers fragment and whether a recompute is pending. With nothing pending it is
    rendered once per state of what it shows (see page_cache.team_numbers_key) and the
    "computed … ago" line is checked on the way out; while one is pending (no key) it is
    rendered live every time, and polls."""
    cached = _cached(key)
    if cached is not None:
        return cached, False
    team = context["team"]
    # Only today's focus matters here (for the stability warning): one light query.
    focus = current_focus_by_team([team.id], day).get(team.id)
    numbers = _numbers(team, context["date_range"], focus)
    html = unindent(
        render_to_string(f"{TEMPLATE}#numbers", {**context, "numbers": numbers}, request)
    )
    if numbers["pending"]:
        return mark_safe(html), True  # noqa: S308  (rendered by the templates)
    return _keep(key, numbers, html), False


def _numbers(team: Team, date_range: DateRange, focus: FocusPeriod | None) -> dict[str, Any]:
    numbers = team_numbers(team=team, date_range=date_range)
    return {
        "window": numbers.window,
        "pending": numbers.pending,
        "computed_at": numbers.computed_at,
        "warnings": stability_warnings(focus, numbers.window),
        "gaps": numbers.gaps,
    }


@require_GET
def team_freshness(request: HttpRequest, slug: str) -> HttpResponse:
    """The "numbers computed …" line of a team. While a recompute is pending it polls
    itself every 2 s; the first response that is fresh carries no trigger, so polling stops.
    """
    team = team_for_user(request.user, slug)
    return render(
        request, "includes/freshness.html", {"team": team, "freshness": freshness_of(team=team)}
    )
