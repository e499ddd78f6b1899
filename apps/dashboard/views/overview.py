"""The overview (home page): the organization's totals and a card per team."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from apps.core.formatting import format_ago
from apps.dashboard.dates import preset_links
from apps.dashboard.page_cache import PAGE_CACHE_SECONDS, unindent
from apps.dashboard.selectors.overview import OverviewState, overview_cards, overview_state
from apps.dashboard.views.common import fragment_of, nav, page_response, range_form, today
from apps.teams.permissions import is_org_admin, visible_teams

# The overview shows this many team cards, most in need of attention first; the rest are
# one click away ("Show all N teams", `?teams=all`).
OVERVIEW_FIRST_CARDS = 24
TEMPLATE = "dashboard/overview.html"


@require_GET
@vary_on_headers("HX-Request")
def overview(request: HttpRequest) -> HttpResponse:
    form, date_range = range_form(request)
    admin = is_org_admin(request.user)
    show_all = request.GET.get("teams") == "all"
    state = overview_state(
        teams=visible_teams(request.user),
        date_range=date_range,
        today=today(),
        variant=f"{request.GET.urlencode()}|{admin}",
        cards_shown=None if show_all else OVERVIEW_FIRST_CARDS,
    )
    context: dict[str, Any] = {
        "overview": state,
        "date_range": date_range,
        "range_form": form,
        "range_error": form.error_text(),
        "presets": preset_links(date_range, extra="teams=all" if show_all else ""),
        "show_all_teams": show_all,
        "nav_teams": nav(state.teams),  # the navigation lists the same teams: no second query
        "team": None,  # no team is the current one (and the navigation need not look it up)
        "is_org_admin": admin,
        "definitions_url": reverse("teams:definitions"),
    }
    content = _content(request, state, context)
    if fragment_of(request):
        return HttpResponse(content)
    return page_response(request, TEMPLATE, context, content)


def _content(request: HttpRequest, state: OverviewState, context: dict[str, Any]) -> str:
    """The overview's content, rendered once per state of what it shows (see
    overview_state): its team cards stay the same until a team is recomputed or its focus
    changes, and the rest until the organization is. The "computed … ago" line is checked on
    the way out, so it never reads older than it is."""
    ago = format_ago(state.computed_at)
    if state.cached_content is not None:
        cached_ago, html = state.cached_content
        if cached_ago == ago:
            return mark_safe(html)  # noqa: S308  (rendered by the templates)
    cards = state.cached_cards
    if cards is None and state.teams:
        every_card = overview_cards(state)
        shown = every_card if state.cards_shown is None else every_card[: state.cards_shown]
        cards = unindent(
            render_to_string(
                f"{TEMPLATE}#cards",
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
            cache.set(state.cards_key, cards, PAGE_CACHE_SECONDS)
    html = unindent(
        render_to_string(
            f"{TEMPLATE}#content",
            {**context, "cards_html": mark_safe(cards or "")},  # noqa: S308  (rendered above)
            request,
        )
    )
    if state.content_key:
        cache.set(state.content_key, (ago, html), PAGE_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308  (rendered by the template engine)
