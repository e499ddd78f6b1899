"""Release pages: list, record form, the release's page, marking it failed or rolled back,
and naming it as the cause of one of the team's incidents.

Every view goes through `team_for_user` first: another team's release is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.actions import button_action, form_action
from apps.core.forms import apply_service_errors
from apps.core.http import redirect_after_post, render_page
from apps.core.lists import ListPage, filtered_export, filtered_list, one_or_404
from apps.imports.columns import RELEASE_HEADER, release_export_rows
from apps.metrics.selectors import team_freshness
from apps.releases import selectors, services
from apps.releases.forms import (
    ReleaseFilterForm,
    ReleaseForm,
    ReleaseLinkIncidentForm,
    ReleaseStatusForm,
)
from apps.releases.models import Release
from apps.teams.models import Team
from apps.teams.permissions import can_manage, can_post_for, team_for_poster, team_for_user

LIST = ListPage(
    "releases",
    ReleaseFilterForm,
    selectors.release_services,
    selectors.release_list,
    header=RELEASE_HEADER,
    cells=release_export_rows,
    context=lambda request, team: {"can_import": can_manage(request.user, team)},
)


@require_GET
def release_list(request: HttpRequest, slug: str) -> HttpResponse:
    return filtered_list(request, team=team_for_user(request.user, slug), spec=LIST)


@require_GET
def release_export(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The list under its filters as CSV (the columns of the API, see the README)."""
    return filtered_export(request, team=team_for_user(request.user, slug), spec=LIST)


@require_http_methods(["GET", "POST"])
def release_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_poster(request, slug)
    if request.method == "GET":
        form = ReleaseForm(team=team, initial={"deployed_by": request.user.get_username()})
    else:
        form = ReleaseForm(request.POST, team=team)
        if form.is_valid():
            try:
                release = services.release_create(
                    team=team, recorded_by=request.user, **form.service_kwargs()
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"Release {release} recorded.")
                for flag in selectors.release_warnings(release):
                    messages.warning(request, flag.message)
                return redirect_after_post(request, release.get_absolute_url())
    return render_page(
        request,
        "releases/form.html",
        {"team": team, "form": form, "services": selectors.release_services(team=team)},
        partial="form",
    )


def _release(team: Team, pk: int) -> Release:
    return one_or_404(selectors.release_get, team=team, pk=pk)


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
            "warnings": selectors.release_warnings(release),
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
    status = form.cleaned_data["status"]
    return button_action(
        request,
        action=lambda: services.release_set_status(release=release, status=status),
        done=f"Release marked {Release.Status(status).label.lower()}.",
        back_to=release.get_absolute_url(),
    )


@require_POST
def release_link_incident(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Name this release as the cause of one of the team's incidents."""
    team = team_for_poster(request, slug)
    release = _release(team, pk)
    form = ReleaseLinkIncidentForm(request.POST, release=release)

    def link(cleaned: dict[str, Any]) -> str:
        incident = cleaned["incident"]
        services.release_link_incident(release=release, incident=incident)
        return f"Incident “{incident.title}” now names this release as its cause."

    done = form_action(
        request,
        form,
        action=link,
        back_to=release.get_absolute_url(),
        rename={"caused_by": "incident"},
    )
    return done or _render_detail(request, team, release, link_form=form)
