"""The team page's "Flow" and "Knowledge sharing" sections: htmx fragments of the team page's
URL, loaded when they scroll into view (the page itself stays within its query budget).

Permissions are those of the team page (a team the viewer may not see is a 404, checked by
`team_detail` before it calls these). Who may read people's names is decided here:
`names_visible`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.dashboard.selectors.flow import team_flow, team_knowledge
from apps.focus.selectors import team_periods
from apps.teams.models import Team
from apps.teams.permissions import can_manage, role_in

if TYPE_CHECKING:
    from apps.teams.permissions import AnyUser

TEMPLATE = "dashboard/team.html"


def names_visible(user: AnyUser, team: Team) -> bool:
    """Whether `user` may read the names of the people who did `team`'s work: its members,
    its managers and admins. Today everyone who can open a team page is one of them; a
    view shared more widely (an organization-wide page, a link for another team) shows
    "person 1", "person 2"… instead."""
    return role_in(user, team) in ("member", "manager", "admin")


def flow_section(request: HttpRequest, team: Team, context: dict[str, Any]) -> HttpResponse:
    flow = team_flow(team=team, date_range=context["date_range"], periods=team_periods(team))
    return render(request, f"{TEMPLATE}#flow", {**context, "flow": flow})


def knowledge_section(request: HttpRequest, team: Team, context: dict[str, Any]) -> HttpResponse:
    knowledge = team_knowledge(
        team=team,
        date_range=context["date_range"],
        periods=team_periods(team),
        show_names=names_visible(request.user, team),
    )
    # Managers and admins are offered a knowledge-sharing focus, its success signal preset.
    can_propose = can_manage(request.user, team)
    return render(
        request,
        f"{TEMPLATE}#knowledge",
        {**context, "knowledge": knowledge, "can_propose": can_propose},
    )


# htmx target → (partial of the team page, the view that renders it)
SECTIONS: dict[str, tuple[str, Callable[[HttpRequest, Team, dict[str, Any]], HttpResponse]]] = {
    "team-flow": ("flow", flow_section),
    "team-knowledge": ("knowledge", knowledge_section),
}
