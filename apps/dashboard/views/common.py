"""What every dashboard page does alike: which fragment htmx asks for, the date range, today,
the navigation, and cached content in the viewer's frame.

One URL serves a page or, for htmx, the fragment being swapped (`page.html#fragment`);
authorization is checked in the view for the fragment too. A history restore (the back
button with an empty htmx cache) gets the whole page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.core.timezones import org_tz
from apps.dashboard.dates import DateRange
from apps.dashboard.forms import DateRangeForm
from apps.teams.context_processors import NAV_TEAMS
from apps.teams.models import Team


def fragment_of(request: HttpRequest) -> str | None:
    """The htmx target being swapped, or None when the whole page is wanted."""
    htmx = request.htmx  # type: ignore[attr-defined]
    if not htmx or htmx.history_restore_request:
        return None
    return htmx.target or "content"


def today() -> dt.date:
    return timezone.localdate(timezone=org_tz())


def range_form(request: HttpRequest) -> tuple[DateRangeForm, DateRange]:
    form = DateRangeForm(request.GET or None, today=today())
    return form, form.date_range()


def page_response(
    request: HttpRequest, template: str, context: dict[str, Any], content_html: str
) -> HttpResponse:
    """The whole page: the viewer's frame (navigation, CSRF token) rendered now around the
    content, which may come from the page cache."""
    return render(request, template, {**context, "content_html": content_html})


@dataclass(frozen=True)
class NavTeam:
    """A team in the navigation."""

    pk: int
    name: str
    get_absolute_url: str


def nav(teams: list[Team]) -> list[NavTeam]:
    """The navigation's teams: the first NAV_TEAMS by name, and one more to tell that the
    list goes on (the template then links the overview of all of them)."""
    return [NavTeam(t.pk, t.name, t.get_absolute_url()) for t in teams[: NAV_TEAMS + 1]]
