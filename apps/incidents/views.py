"""Incident pages: list, report form (with inline validation and a suggested cause),
the incident's page, resolving it and naming the release that caused it.

Every view goes through `team_for_user` first: another team's incident is a 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core.actions import button_action, form_action
from apps.core.forms import apply_service_errors
from apps.core.http import redirect_after_post, render_page
from apps.core.lists import ListPage, filtered_export, filtered_list, one_or_404
from apps.imports.columns import INCIDENT_HEADER, incident_export_rows
from apps.incidents import selectors, services
from apps.incidents.forms import IncidentCauseForm, IncidentFilterForm, IncidentForm
from apps.incidents.models import Incident
from apps.metrics.selectors import team_freshness
from apps.releases.models import Release
from apps.releases.selectors import release_services, suggest_causing_release
from apps.teams.models import Team
from apps.teams.permissions import can_manage, can_post_for, team_for_poster, team_for_user

LIST = ListPage(
    "incidents",
    IncidentFilterForm,
    selectors.incident_services,
    selectors.incident_list,
    header=INCIDENT_HEADER,
    cells=incident_export_rows,
    context=lambda request, team: {"can_import": can_manage(request.user, team)},
)


@require_GET
def incident_list(request: HttpRequest, slug: str) -> HttpResponse:
    return filtered_list(request, team=team_for_user(request.user, slug), spec=LIST)


@require_GET
def incident_export(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The list under its filters as CSV (the columns of the API, see the README)."""
    return filtered_export(request, team=team_for_user(request.user, slug), spec=LIST)


# ---------- the report form ----------


def _suggestion(form: IncidentForm, team: Team) -> Release | None:
    """The release that probably caused it, once the start time is known; None when the
    reporter has already chosen it.
    """
    cleaned = getattr(form, "cleaned_data", {})
    started_at = cleaned.get("started_at")
    if started_at is None:
        return None
    release = suggest_causing_release(
        team=team, started_at=started_at, service=(cleaned.get("service") or "").strip()
    )
    if (
        release is not None
        and cleaned.get("cause") == Incident.Cause.RELEASE
        and cleaned.get("caused_by") == release
    ):
        return None
    return release


def _render_form(
    request: HttpRequest,
    team: Team,
    form: IncidentForm,
    *,
    suggestion: Release | None,
    validating: bool = False,
) -> HttpResponse:
    return render_page(
        request,
        "incidents/form.html",
        {
            "team": team,
            "form": form,
            "suggestion": suggestion,
            "suggestion_service": (form.data.get("service") or "").strip() if suggestion else "",
            "validating": validating,
            "services": release_services(team=team),
        },
        partial="form",
    )


def _check(form: IncidentForm, team: Team, *, create: bool, user: Any) -> Incident | None:
    """Validate (and with `create`, save) through the incident service; its errors land on
    the form's fields. The service's rules run even when a field did not parse, so every
    problem shows at once. Returns the new incident, or None.
    """
    parsed = form.is_valid()
    fields = form.service_kwargs()
    try:
        if parsed and create:
            if fields["resolved_at"] is not None:
                fields["resolved_by"] = user.get_username()
            return services.incident_create(team=team, reported_by=user, **fields)
        services.incident_validate(team=team, data=fields)
    except ValidationError as exc:
        # A field that did not parse already says why; the service would only repeat it.
        apply_service_errors(form, exc, skip=set(form.errors))
    return None


def _with_suggestion_used(request: HttpRequest, team: Team) -> IncidentForm | None:
    """The "Use it" button of the suggestion: the same form, naming that release as the cause.
    Nothing is saved; the reporter still submits the form.
    """
    chosen = request.POST.get("use_suggestion")
    if not chosen:
        return None
    data = request.POST.copy()
    data["cause"] = Incident.Cause.RELEASE
    data["caused_by"] = chosen
    return IncidentForm(data, team=team)


def _forget_empty_field_errors(form: IncidentForm) -> None:
    """While the form is being filled in, an empty field is not an error yet."""
    for name in list(form.errors):
        if name in form.fields and not (form.data.get(name) or "").strip():
            del form.errors[name]


@require_http_methods(["GET", "POST"])
def incident_create(request: HttpRequest, slug: str) -> HttpResponse:
    team = team_for_poster(request, slug)
    if request.method == "GET":
        form = IncidentForm(team=team)
        return _render_form(request, team, form, suggestion=None)

    used = _with_suggestion_used(request, team)
    if used is not None:
        # Show the form with the release chosen; nothing is saved until the person submits.
        _check(used, team, create=False, user=request.user)
        _forget_empty_field_errors(used)
        return _render_form(
            request, team, used, suggestion=_suggestion(used, team), validating=True
        )

    form = IncidentForm(request.POST, team=team)
    incident = _check(form, team, create=True, user=request.user)
    if incident is None:
        return _render_form(request, team, form, suggestion=_suggestion(form, team))
    messages.success(request, f"Incident “{incident.title}” recorded.")
    for flag in selectors.incident_warnings(incident):
        messages.warning(request, flag.message)
    return redirect_after_post(request, incident.get_absolute_url())


@require_POST
def incident_validate(request: HttpRequest, slug: str) -> HttpResponse:
    """Inline validation while the reporter types: the form partial with the errors of the
    fields filled in so far, and the suggested release. Saves nothing.
    """
    team = team_for_poster(request, slug)
    form = _with_suggestion_used(request, team) or IncidentForm(request.POST, team=team)
    _check(form, team, create=False, user=request.user)
    _forget_empty_field_errors(form)
    return _render_form(request, team, form, suggestion=_suggestion(form, team), validating=True)


# ---------- the incident's page ----------


def _incident(team: Team, pk: int) -> Incident:
    return one_or_404(selectors.incident_get, team=team, pk=pk)


def _render_detail(
    request: HttpRequest,
    team: Team,
    incident: Incident,
    *,
    cause_form: IncidentCauseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    return render(
        request,
        "incidents/detail.html",
        {
            "team": team,
            "incident": incident,
            "timeline": selectors.incident_timeline(incident),
            "warnings": selectors.incident_warnings(incident),
            "open_for": selectors.incident_open_for(incident, now),
            "cause_form": cause_form or IncidentCauseForm(incident=incident),
            "can_post": can_post_for(request.user, team),
            "freshness": team_freshness(team=team),
        },
        status=status,
    )


@require_GET
def incident_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for_user(request.user, slug)
    return _render_detail(request, team, _incident(team, pk))


@require_POST
def incident_resolve(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = team_for_poster(request, slug)
    incident = _incident(team, pk)
    if incident.resolved_at is not None:
        messages.info(request, "This incident was already resolved.")
        return redirect_after_post(request, incident.get_absolute_url())
    return button_action(
        request,
        action=lambda: services.incident_resolve(
            incident=incident, resolved_by=request.user.get_username()
        ),
        done="Incident resolved. The team's numbers are being updated.",
        back_to=incident.get_absolute_url(),
    )


@require_POST
def incident_set_cause(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Name the release that caused this incident."""
    team = team_for_poster(request, slug)
    incident = _incident(team, pk)
    form = IncidentCauseForm(request.POST, incident=incident)

    def link(cleaned: dict[str, Any]) -> str:
        services.incident_update(incident=incident, caused_by=cleaned["caused_by"])
        return f"Linked to release {cleaned['caused_by']}."

    done = form_action(request, form, action=link, back_to=incident.get_absolute_url())
    return done or _render_detail(request, team, incident, cause_form=form)
