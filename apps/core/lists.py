"""The filterable list of a team's records (incidents, releases): one page, three shapes
from one URL — the whole page, the panel embedded in the team page (`embed=1`), and the
rows alone when a filter or the pager changes them (htmx).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, URLPattern, path, reverse
from django.utils.http import urlencode

from apps.core.csvfiles import csv_response
from apps.core.forms import ListFilterForm
from apps.core.http import is_fragment_request

PAGE_SIZE = 25
PANEL = "includes/list_panel.html"


@dataclass(frozen=True)
class ListPage:
    """A team's list of records of one kind, named by the plural `noun` ("incidents"). The
    app's URL "<noun>:list" takes the team's slug; its template "<noun>/list.html" extends
    the page, includes the panel and defines the partials `table` (the rows of a page) and
    `empty` (nothing recorded yet).
    """

    noun: str
    form_class: type[ListFilterForm]
    # The services named by the team's rows, for the menu: `services(team=)`.
    services: Callable[..., list[str]]
    # The team's rows under the filters: `rows(team=, **filters)`.
    rows: Callable[..., QuerySet[Any]]
    # The CSV download's columns, and its cells of the rows: `cells(rows)` -> rows of cells.
    header: tuple[str, ...]
    cells: Callable[[QuerySet[Any]], Any]
    # What else the whole page shows the viewer: `context(request, team)` -> dict.
    context: Callable[[HttpRequest, Any], dict[str, Any]] | None = None

    @property
    def url_name(self) -> str:
        return f"{self.noun}:list"

    @property
    def template(self) -> str:
        return f"{self.noun}/list.html"

    @property
    def export_url_name(self) -> str:
        return f"{self.noun}:export"

    @property
    def rows_id(self) -> str:
        return f"{self.noun.removesuffix('s')}-rows"


def filtered_list(
    request: HttpRequest,
    *,
    team: Any,
    spec: ListPage,
    page_size: int = PAGE_SIZE,
) -> HttpResponse:
    """The team's rows a page at a time, under the filters of the request."""
    filter_form = spec.form_class(
        request.GET, services=spec.services(team=team), auto_id=f"{spec.noun}-%s"
    )
    filters = filter_form.filters()
    # `embed=1`: the filters and rows as a panel inside the team page, which keeps its URL.
    embedded = request.GET.get("embed") == "1"
    page = Paginator(spec.rows(team=team, **filters), page_size).get_page(request.GET.get("page"))
    template = spec.template
    if is_fragment_request(request):
        template = PANEL if embedded else f"{PANEL}#rows"
    context = {
        "team": team,
        "list": spec,
        "export_url": _export_url(spec, team, filters),
        "list_url": reverse(spec.url_name, args=[team.slug]),
        "filter_form": filter_form,
        "filtered": bool(filters),
        "page": page,
        "embedded": embedded,
    }
    if spec.context is not None and not is_fragment_request(request):
        context.update(spec.context(request, team))
    return render(request, template, context)


def _export_url(spec: ListPage, team: Any, filters: dict[str, str]) -> str:
    """The CSV download of the rows under the same filters ("" if the app has none)."""
    try:
        url = reverse(spec.export_url_name, args=[team.slug])
    except NoReverseMatch:
        return ""
    return f"{url}?{urlencode(filters)}" if filters else url


def filtered_export(request: HttpRequest, *, team: Any, spec: ListPage) -> HttpResponseBase:
    """Every row of the team's list under the filters of the request, as a streamed CSV in
    the list's columns (`header`, `cells`)."""
    filter_form = spec.form_class(request.GET, services=spec.services(team=team))
    qs = spec.rows(team=team, **filter_form.filters())
    return csv_response(f"{team.slug}-{spec.noun}.csv", spec.header, spec.cells(qs))


def record_paths(
    list_view: Callable[..., HttpResponse],
    create_view: Callable[..., HttpResponse],
    detail_view: Callable[..., HttpResponse],
) -> list[URLPattern]:
    """The list, the form and the page of a team's record kind, at the same paths for each."""
    return [
        path("", list_view, name="list"),
        path("new/", create_view, name="create"),
        path("<int:pk>/", detail_view, name="detail"),
    ]


def one_or_404[M](get: Callable[..., M], **lookups: Any) -> M:
    """What the selector `get` finds, or 404 (another team's record is not found either)."""
    try:
        return get(**lookups)
    except ObjectDoesNotExist:
        raise Http404("Not found") from None
