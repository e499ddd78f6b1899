"""The dashboard: the overview (home page), a team's page, and the metric definitions.

One URL serves a page or, for htmx, the fragment being swapped (`page.html#fragment`);
authorization is checked in the view for the fragment too. A history restore (the back
button with an empty htmx cache) gets the whole page.
"""

from __future__ import annotations

import datetime as dt
import gzip
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from apps.core.permissions import is_org_admin, team_for_user, visible_teams
from apps.core.templatetags.formatting import format_ago
from apps.core.timezones import org_tz
from apps.focus.models import FocusPeriod
from apps.metrics.formulas import DORA_LEVELS, MIN_SAMPLES_FOR_LEVEL
from apps.teams import selectors
from apps.teams.forms import DateRangeForm
from apps.teams.models import Team

TEAM_CACHE_SECONDS = 600
ACCEPTS_GZIP = re.compile(r"\bgzip\b")


@dataclass(frozen=True)
class Content:
    """A page's content as rendered, and gzipped once when it is cached: an htmx fragment is
    that content alone, so it is sent compressed as cached instead of compressed again."""

    html: SafeString
    gzipped: bytes | None = None


INDENT = re.compile(r"\n[ \t]+")


def _unindent(html: str) -> str:
    """The templates' indentation dropped (a line break stays a line break, so the page reads
    the same, `white-space: pre-line` text too): a 200-team overview is a fifth smaller."""
    return INDENT.sub("\n", html)


def _gzip(html: str) -> bytes:
    return gzip.compress(html.encode(), compresslevel=6, mtime=0)


def _fragment_response(request: HttpRequest, content: Content) -> HttpResponse:
    """The fragment, gzipped as cached when the client takes gzip (GZipMiddleware leaves a
    response that has a Content-Encoding alone); otherwise as HTML."""
    accepts = ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", ""))
    if content.gzipped is None or not accepts:
        return HttpResponse(content.html)
    response = HttpResponse(content.gzipped)
    response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


# htmx targets of the team page, and the partial each one is rendered from.
TEAM_FRAGMENTS = {"team-numbers": "numbers", "team-charts": "charts"}


def _fragment(request: HttpRequest) -> str | None:
    """The htmx target being swapped, or None when the whole page is wanted."""
    htmx = request.htmx  # type: ignore[attr-defined]
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target or "content"


def _range_form(request: HttpRequest) -> tuple[DateRangeForm, selectors.DateRange]:
    form = DateRangeForm(request.GET or None, today=_today())
    return form, form.date_range()


@require_GET
@vary_on_headers("HX-Request")
def overview(request: HttpRequest) -> HttpResponse:
    form, date_range = _range_form(request)
    teams = list(visible_teams(request.user).only("id", "name", "slug"))
    admin = is_org_admin(request.user)
    state = selectors.overview_state(
        teams=teams,
        date_range=date_range,
        today=_today(),
        variant=f"{request.GET.urlencode()}|{admin}",
    )
    definitions_url = reverse("teams:definitions")
    context: dict[str, Any] = {
        "overview": state,
        "date_range": date_range,
        "range_form": form,
        "range_error": form.error_text(),
        "presets": selectors.preset_links(date_range),
        "nav_teams": _nav(teams),  # the navigation lists the same teams: no second query
        "is_org_admin": admin,
        "definitions_url": definitions_url,
    }
    content = _overview_content(request, state, context)
    if _fragment(request):
        return _fragment_response(request, content)
    context["content_html"] = content.html
    return render(request, "teams/overview.html", context)


def _overview_content(
    request: HttpRequest, state: selectors.OverviewState, context: dict[str, Any]
) -> Content:
    """The overview's content, rendered once per state of what it shows (see
    selectors.overview_state): its team cards stay the same until a team is recomputed or
    its focus changes, and the rest until the organization is. The "computed … ago" line is
    checked on the way out, so it never reads older than it is."""
    ago = format_ago(state.computed_at)
    if state.cached_content is not None:
        cached_ago, html, gzipped = state.cached_content
        if cached_ago == ago:
            return Content(mark_safe(html), gzipped)  # noqa: S308  (rendered by the templates)
    cards = state.cached_cards
    if cards is None and state.teams:
        cards = _unindent(
            render_to_string(
                "teams/overview.html#cards",
                {"cards": selectors.overview_cards(state), **context},
                request,
            )
        )
        if state.cards_key:
            cache.set(state.cards_key, cards, selectors.OVERVIEW_CACHE_SECONDS)
    html = _unindent(
        render_to_string(
            "teams/overview.html#content",
            {**context, "cards_html": mark_safe(cards or "")},  # noqa: S308  (rendered above)
            request,
        )
    )
    if not state.content_key:
        return Content(mark_safe(html))  # noqa: S308  (rendered by the template engine)
    gzipped = _gzip(html)
    cache.set(state.content_key, (ago, html, gzipped), selectors.OVERVIEW_CACHE_SECONDS)
    return Content(mark_safe(html), gzipped)  # noqa: S308  (rendered by the template engine)


@require_GET
@vary_on_headers("HX-Request")
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    fragment = _fragment(request)
    partial = TEAM_FRAGMENTS.get(fragment or "")
    if partial:
        team = team_for_user(request.user, slug)
        nav_teams = None
    else:
        # The whole page lists the viewer's teams in its navigation anyway: one query gives
        # both, and a team the viewer may not see is a 404 as with team_for_user.
        nav_teams = list(visible_teams(request.user))
        found = next((t for t in nav_teams if t.slug == slug), None)
        if found is None:
            raise Http404("No such team")
        team = found
    form, date_range = _range_form(request)
    context: dict[str, Any] = {
        "team": team,
        "date_range": date_range,
        "range_form": form,
        "range_error": form.error_text(),
        "presets": selectors.preset_links(date_range),
    }
    if partial == "numbers":
        # The polling fragment. Once the numbers are fresh it comes back without its
        # trigger (so polling stops) and tells the charts to redraw from the new rollups.
        # Only today's focus matters here (for the stability warning): one light query.
        focus = selectors.current_focus_by_team([team.id], _today()).get(team.id)
        context["numbers"] = _numbers(team, date_range, focus)
        response = render(request, "teams/detail.html#numbers", context)
        if not context["numbers"]["pending"]:
            trigger_client_event(response, "execdash:fresh")
        return response
    if partial == "charts":
        periods = selectors.team_periods(team)
        context["charts"] = selectors.team_charts(team=team, date_range=date_range, periods=periods)
        return render(request, "teams/detail.html#charts", context)

    today = _today()
    page = selectors.team_page(team=team, date_range=date_range, today=today)
    states, _org = selectors.teams_state([team.id], today)
    key = selectors.team_content_key(
        team=team,
        page=page,
        state=states.get(team.id),
        today=today,
        variant=request.GET.urlencode(),
    )
    content = _team_content(request, key, context, page)
    if fragment:
        return _fragment_response(request, content)
    context.update(page=page, nav_teams=_nav(nav_teams or []), content_html=content.html)
    return render(request, "teams/detail.html", context)


def _team_content(
    request: HttpRequest, key: str | None, context: dict[str, Any], page: selectors.TeamPage
) -> Content:
    """A team's page content, rendered once per state of what it shows (see
    selectors.team_content_key); the "computed … ago" line is checked on the way out."""
    cached = cache.get(key) if key else None
    if cached is not None:
        ago, computed_at, html, gzipped = cached
        if format_ago(computed_at) == ago:
            return Content(mark_safe(html), gzipped)  # noqa: S308  (rendered by the templates)
    team, date_range = context["team"], context["date_range"]
    numbers = _numbers(team, date_range, page.current_focus)
    html = _unindent(
        render_to_string(
            "teams/detail.html#content",
            {
                **context,
                "page": page,
                "numbers": numbers,
                "charts": selectors.team_charts(
                    team=team, date_range=date_range, periods=page.periods
                ),
                "incidents": selectors.latest_incidents(team=team, date_range=date_range),
                "releases": selectors.latest_releases(team=team, date_range=date_range),
            },
            request,
        )
    )
    if not key:
        return Content(mark_safe(html))  # noqa: S308  (rendered by the template engine)
    computed_at, gzipped = numbers["computed_at"], _gzip(html)
    cache.set(key, (format_ago(computed_at), computed_at, html, gzipped), TEAM_CACHE_SECONDS)
    return Content(mark_safe(html), gzipped)  # noqa: S308  (rendered by the template engine)


@dataclass(frozen=True)
class NavTeam:
    """A team in the navigation, its link built with one reverse() for all of them (an
    admin's navigation lists every team)."""

    pk: int
    name: str
    get_absolute_url: str


def _nav(teams: list[Team]) -> list[NavTeam]:
    pattern = reverse("teams:detail", kwargs={"slug": selectors.SLUG_SENTINEL})
    return [NavTeam(t.pk, t.name, pattern.replace(selectors.SLUG_SENTINEL, t.slug)) for t in teams]


def _today() -> dt.date:
    return timezone.localdate(timezone=org_tz())


def _numbers(
    team: Any, date_range: selectors.DateRange, focus: FocusPeriod | None
) -> dict[str, Any]:
    numbers = selectors.team_numbers(team=team, date_range=date_range)
    return {
        "window": numbers.window,
        "pending": numbers.pending,
        "computed_at": numbers.computed_at,
        "warnings": selectors.stability_warnings(focus, numbers.window),
    }


@require_GET
def definitions(request: HttpRequest) -> HttpResponse:
    """How every number is computed (METRICS.md, in the product's words)."""
    year = settings.EXECDASH_DORA_YEAR
    return render(
        request,
        "teams/definitions.html",
        {
            "dora_year": year,
            "dora_rows": selectors.dora_table(DORA_LEVELS[year]),
            "min_samples": MIN_SAMPLES_FOR_LEVEL,
            "org_time_zone": settings.EXECDASH_TIME_ZONE,
        },
    )
