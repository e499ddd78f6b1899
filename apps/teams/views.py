"""The dashboard: the overview (home page), a team's page, and the metric definitions.

One URL serves a page or, for htmx, the fragment being swapped (`page.html#fragment`);
authorization is checked in the view for the fragment too. A history restore (the back
button with an empty htmx cache) gets the whole page.
"""

from __future__ import annotations

import datetime as dt
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

from apps.core.templatetags.formatting import format_ago
from apps.core.timezones import org_tz
from apps.focus.models import FocusPeriod
from apps.metrics.formulas import DORA_LEVELS, MIN_SAMPLES_FOR_LEVEL
from apps.teams import selectors
from apps.teams.compression import deflate_part, gzip_parts
from apps.teams.context_processors import NAV_TEAMS
from apps.teams.forms import DateRangeForm
from apps.teams.models import Team
from apps.teams.permissions import is_org_admin, team_for_user, visible_teams

TEAM_CACHE_SECONDS = 600
# The overview shows this many team cards, most in need of attention first; the rest are
# one click away ("Show all N teams", `?teams=all`).
OVERVIEW_FIRST_CARDS = 24
ACCEPTS_GZIP = re.compile(r"\bgzip\b")


@dataclass(frozen=True)
class Content:
    """A page's content as rendered and, once it is cached, compressed (see compression):
    an htmx fragment is that content alone, and a whole page that content in the viewer's
    frame, so neither compresses it again on every request."""

    html: SafeString
    deflated: bytes | None = None


INDENT = re.compile(r"\n[ \t]+")
CONTENT_MARK = mark_safe("<!--execdash:content-->")  # a place-holder, never sent


def _unindent(html: str) -> str:
    """The templates' indentation dropped (a line break stays a line break, so the page reads
    the same, `white-space: pre-line` text too): a 200-team overview is a fifth smaller."""
    return INDENT.sub("\n", html)


def _accepts_gzip(request: HttpRequest) -> bool:
    return bool(ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")))


def _gzip_response(body: bytes) -> HttpResponse:
    # GZipMiddleware leaves a response that already has a Content-Encoding alone.
    response = HttpResponse(body)
    response["Content-Encoding"] = "gzip"
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def _fragment_response(request: HttpRequest, content: Content) -> HttpResponse:
    """The fragment, compressed as cached when the client takes gzip; otherwise as HTML."""
    if content.deflated is None or not _accepts_gzip(request):
        return HttpResponse(content.html)
    return _gzip_response(gzip_parts([(content.html.encode(), content.deflated)]))


def _page_response(
    request: HttpRequest, template: str, context: dict[str, Any], content: Content
) -> HttpResponse:
    """The whole page: the frame rendered now around the content. With gzip, the frame is
    compressed now and the content's compressed blocks are copied in as cached."""
    if content.deflated is None or not _accepts_gzip(request):
        return render(request, template, {**context, "content_html": content.html})
    page = render_to_string(template, {**context, "content_html": CONTENT_MARK}, request)
    head, tail = page.split(CONTENT_MARK, 1)
    return _gzip_response(
        gzip_parts(
            [
                (head.encode(), None),
                (content.html.encode(), content.deflated),
                (tail.encode(), None),
            ]
        )
    )


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
    admin = is_org_admin(request.user)
    show_all = request.GET.get("teams") == "all"
    state = selectors.overview_state(
        teams=visible_teams(request.user),
        date_range=date_range,
        today=_today(),
        variant=f"{request.GET.urlencode()}|{admin}",
        cards_shown=None if show_all else OVERVIEW_FIRST_CARDS,
    )
    definitions_url = reverse("teams:definitions")
    context: dict[str, Any] = {
        "overview": state,
        "date_range": date_range,
        "range_form": form,
        "range_error": form.error_text(),
        "presets": selectors.preset_links(date_range, extra="teams=all" if show_all else ""),
        "show_all_teams": show_all,
        "nav_teams": _nav(state.teams),  # the navigation lists the same teams: no second query
        "team": None,  # no team is the current one (and the navigation need not look it up)
        "is_org_admin": admin,
        "definitions_url": definitions_url,
    }
    content = _overview_content(request, state, context)
    if _fragment(request):
        return _fragment_response(request, content)
    return _page_response(request, "teams/overview.html", context, content)


def _overview_content(
    request: HttpRequest, state: selectors.OverviewState, context: dict[str, Any]
) -> Content:
    """The overview's content, rendered once per state of what it shows (see
    selectors.overview_state): its team cards stay the same until a team is recomputed or
    its focus changes, and the rest until the organization is. The "computed … ago" line is
    checked on the way out, so it never reads older than it is."""
    ago = format_ago(state.computed_at)
    if state.cached_content is not None:
        cached_ago, html, deflated = state.cached_content
        if cached_ago == ago:
            return Content(mark_safe(html), deflated)  # noqa: S308  (rendered by the templates)
    cards = state.cached_cards
    if cards is None and state.teams:
        every_card = selectors.overview_cards(state)
        shown = every_card if state.cards_shown is None else every_card[: state.cards_shown]
        cards = _unindent(
            render_to_string(
                "teams/overview.html#cards",
                {
                    "cards": shown,
                    "hidden_cards": len(every_card) - len(shown),
                    "hidden_attention": sum(
                        1 for card in every_card[len(shown) :] if card.needs_attention
                    ),
                    "all_teams_query": f"{state.date_range.query}&teams=all",
                    **context,
                },
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
    deflated = deflate_part(html.encode())
    cache.set(state.content_key, (ago, html, deflated), selectors.OVERVIEW_CACHE_SECONDS)
    return Content(mark_safe(html), deflated)  # noqa: S308  (rendered by the template engine)


@require_GET
@vary_on_headers("HX-Request")
def team_detail(request: HttpRequest, slug: str) -> HttpResponse:
    fragment = _fragment(request)
    partial = TEAM_FRAGMENTS.get(fragment or "")
    today = _today()
    state: selectors.TeamState | None = None
    nav_teams: list[Team] | None = None
    if partial == "charts":
        team = team_for_user(request.user, slug)
    elif fragment:
        # The content and numbers fragments need the team's state: one query gives the team
        # (a 404 as with team_for_user when the viewer may not see it) and its state.
        found_teams, states, _org = selectors.visible_teams_state(
            visible_teams(request.user).filter(slug=slug), today
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
        states, _org = selectors.teams_state([team.id], today)
        state = states.get(team.id)
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
        key = selectors.team_numbers_key(
            team=team, state=state, today=today, variant=request.GET.urlencode()
        )
        content, pending = _numbers_content(request, key, context, today)
        response = _fragment_response(request, content)
        if not pending:
            trigger_client_event(response, "execdash:fresh")
        return response
    if partial == "charts":
        periods = selectors.team_periods(team)
        context["charts"] = selectors.team_charts(team=team, date_range=date_range, periods=periods)
        return render(request, "teams/detail.html#charts", context)

    key = selectors.team_content_key(
        team=team,
        focus_rows=selectors.team_focus_rows(team),
        state=state,
        today=today,
        variant=request.GET.urlencode(),
    )
    content = _team_content(request, key, context, today)
    if fragment:
        return _fragment_response(request, content)
    context.update(nav_teams=_nav(nav_teams or []))
    return _page_response(request, "teams/detail.html", context, content)


def _team_content(
    request: HttpRequest, key: str | None, context: dict[str, Any], today: dt.date
) -> Content:
    """A team's page content, rendered once per state of what it shows (see
    selectors.team_content_key); the "computed … ago" line is checked on the way out. The
    focus periods are read in full only to render it."""
    cached = cache.get(key) if key else None
    if cached is not None:
        ago, computed_at, html, deflated = cached
        if format_ago(computed_at) == ago:
            return Content(mark_safe(html), deflated)  # noqa: S308  (rendered by the templates)
    team, date_range = context["team"], context["date_range"]
    page = selectors.team_page(team=team, date_range=date_range, today=today)
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
    computed_at, deflated = numbers["computed_at"], deflate_part(html.encode())
    cache.set(key, (format_ago(computed_at), computed_at, html, deflated), TEAM_CACHE_SECONDS)
    return Content(mark_safe(html), deflated)  # noqa: S308  (rendered by the template engine)


def _numbers_content(
    request: HttpRequest, key: str | None, context: dict[str, Any], today: dt.date
) -> tuple[Content, bool]:
    """The numbers fragment and whether a recompute is pending. With nothing pending it is
    rendered once per state of what it shows (see selectors.team_numbers_key) and the
    "computed … ago" line is checked on the way out; while one is pending (no key) it is
    rendered live every time, and polls."""
    cached = cache.get(key) if key else None
    if cached is not None:
        ago, computed_at, html, deflated = cached
        if format_ago(computed_at) == ago:
            return Content(mark_safe(html), deflated), False  # noqa: S308  (rendered by the templates)
    team = context["team"]
    # Only today's focus matters here (for the stability warning): one light query.
    focus = selectors.current_focus_by_team([team.id], today).get(team.id)
    numbers = _numbers(team, context["date_range"], focus)
    html = _unindent(
        render_to_string("teams/detail.html#numbers", {**context, "numbers": numbers}, request)
    )
    if not key or numbers["pending"]:
        return Content(mark_safe(html)), numbers["pending"]  # noqa: S308  (rendered by the templates)
    computed_at, deflated = numbers["computed_at"], deflate_part(html.encode())
    cache.set(key, (format_ago(computed_at), computed_at, html, deflated), TEAM_CACHE_SECONDS)
    return Content(mark_safe(html), deflated), False  # noqa: S308  (rendered by the templates)


@dataclass(frozen=True)
class NavTeam:
    """A team in the navigation, its link built with one reverse() for all of them (an
    admin's navigation lists every team)."""

    pk: int
    name: str
    get_absolute_url: str


def _nav(teams: list[Team]) -> list[NavTeam]:
    """The navigation's teams: the first NAV_TEAMS by name, and one more to tell that the
    list goes on (the template then links the overview of all of them)."""
    pattern = reverse("teams:detail", kwargs={"slug": selectors.SLUG_SENTINEL})
    return [
        NavTeam(t.pk, t.name, pattern.replace(selectors.SLUG_SENTINEL, t.slug))
        for t in teams[: NAV_TEAMS + 1]
    ]


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
