"""Release pages: list, record form, the release's page, marking it failed or rolled back,
and naming it as the cause of one of the team's incidents.

Every view goes through `team_for_user` first: another team's release is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.http import is_fragment_request, redirect_after_post
from apps.incidents.forms import apply_service_errors
from apps.incidents.services import incident_update
from apps.metrics.selectors import team_freshness
from apps.releases import selectors
from apps.releases.forms import (
    ReleaseFilterForm,
    ReleaseForm,
    ReleaseLinkIncidentForm,
    ReleaseStatusForm,
)
from apps.releases.models import Release
from apps.releases.services import release_create as create_release
from apps.releases.services import release_set_status
from apps.teams.models import Team
from apps.teams.permissions import can_post_for, team_for_poster, team_for_user

PAGE_SIZE = 25


def _release(team: Team, pk: int) -> Release:
    try:
        return selectors.release_get(team=team, pk=pk)
    except Release.DoesNotExist:
        raise Http404("No such release") from None


@require_GET
def release_list(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_user(request.user, slug)
    # `embed=1`: the filters and rows as a panel inside the team page, which keeps its URL.
    embedded = request.GET.get("embed") == "1"
    filter_form = ReleaseFilterForm(
        request.GET, services=selectors.release_services(team=team), auto_id="releases-%s"
    )
    filters = filter_form.filters()
    page = Paginator(selectors.release_list(team=team, **filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    template = "releases/list.html"
    if is_fragment_request(request):
        template += "#panel" if embedded else "#rows"
    context = {
        "team": team,
        "filter_form": filter_form,
        "filtered": bool(filters),
        "page": page,
        "embedded": embedded,
    }
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def release_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_poster(request, slug)
    if request.method == "GET":
        form = ReleaseForm(team=team, initial={"deployed_by": request.user.get_username()})
    else:
        form = ReleaseForm(request.POST, team=team)
        if form.is_valid():
            try:
                release = create_release(
                    team=team, recorded_by=request.user, **form.service_kwargs()
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Release {release} recorded.")
                return redirect_after_post(request, release.get_absolute_url())
    template = "releases/form.html#form" if is_fragment_request(request) else "releases/form.html"
    return render(
        request,
        template,
        {"team": team, "form": form, "services": selectors.release_services(team=team)},
    )


def _render_detail(
    request: HttpRequest,
    team: Team,
    release: Release,
    *,
    link_form: ReleaseLinkIncidentForm | None = None,
) -> HttpResponse:
    return render(
        request,
        "releases/detail.html",
        {
            "team": team,
            "release": release,
            "lead_time": selectors.lead_time_seconds(release),
            "caused_incidents": selectors.release_caused_incidents(release=release),
            "link_form": link_form or ReleaseLinkIncidentForm(release=release),
            "other_statuses": [
                (value, label) for value, label in Release.Status.choices if value != release.status
            ],
            "can_post": can_post_for(request.user, team),
            "freshness": team_freshness(team=team),
        },
    )


@require_GET
def release_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for_user(request.user, slug)
    return _render_detail(request, team, _release(team, pk))


@require_POST
def release_status(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Mark the release failed, rolled back (or succeeded again)."""
    team = team_for_poster(request, slug)
    release = _release(team, pk)
    form = ReleaseStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose succeeded, failed or rolled back.")
        return redirect_after_post(request, release.get_absolute_url())
    try:
        release_set_status(release=release, status=form.cleaned_data["status"])
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"Release marked {release.get_status_display().lower()}.")
    return redirect_after_post(request, release.get_absolute_url())


@require_POST
def release_link_incident(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Name this release as the cause of one of the team's incidents."""
    team = team_for_poster(request, slug)
    release = _release(team, pk)
    form = ReleaseLinkIncidentForm(request.POST, release=release)
    if form.is_valid():
        incident = form.cleaned_data["incident"]
        try:
            incident_update(incident=incident, caused_by=release)
        except ValidationError as exc:
            apply_service_errors(form, exc, rename={"caused_by": "incident"})
        else:
            messages.success(
                request, f"Incident “{incident.title}” now names this release as its cause."
            )
            return redirect_after_post(request, release.get_absolute_url())
    return _render_detail(request, team, release, link_form=form)
