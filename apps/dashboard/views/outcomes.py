"""The outcome-vs-output page (`/outcomes/`), an outcome's page with its measurement and
paste forms, and the outcome create and edit forms.

Who may do what: everyone signed in reads the organization's outcomes; a team's outcomes are
read by who may see the team (anyone else gets a 404, as for the team). Managers of the
team and admins write a team's outcomes, admins the organization's; anyone else who may
read it gets a 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from apps.dashboard.dates import DateRange, preset_links
from apps.dashboard.page_cache import PAGE_CACHE_SECONDS, outcomes_page_key, unindent
from apps.dashboard.selectors.outcomes import (
    OutcomesPage,
    managed_team_ids,
    outcome_detail_chart,
    outcome_for_viewer,
    outcome_measurements,
    outcomes_page,
    status_of,
)
from apps.dashboard.views.common import fragment_of, nav, page_response, range_form
from apps.outcomes.forms import MeasurementForm, MeasurementPasteForm, OutcomeForm
from apps.outcomes.models import Outcome
from apps.outcomes.services import (
    CsvImport,
    outcome_create,
    outcome_measurement_record,
    outcome_measurements_import_csv_text,
    outcome_update,
)
from apps.teams.models import Team
from apps.teams.permissions import is_org_admin, visible_teams

PAGE = "dashboard/outcomes.html"
# The page charts the outcomes of this many teams (those needing attention first); the rest
# are listed, one click from being charted too (`?teams=all`).
TEAMS_CHARTED = 12
DETAIL = "dashboard/outcomes_detail.html"
FORM = "dashboard/outcomes_form.html"


@require_GET
@vary_on_headers("HX-Request")
def outcomes_overview(request: HttpRequest) -> HttpResponse:
    form, date_range = range_form(request)
    visible = visible_teams(request.user)
    teams = list(visible)
    admin = is_org_admin(request.user)
    managed = set() if admin else managed_team_ids(request.user)
    show_all = request.GET.get("teams") == "all"
    context: dict[str, Any] = {
        "date_range": date_range,
        "range_form": form,
        "range_error": form.error_text(),
        "presets": preset_links(date_range, extra="teams=all" if show_all else ""),
        "show_all_teams": show_all,
        "all_teams_query": f"{date_range.query}&teams=all",
        "nav_teams": nav(teams),
        "team": None,
        "is_org_admin": admin,
    }
    key = outcomes_page_key(
        teams=visible,
        team_list=teams,
        managed=sorted(managed),
        is_admin=admin,
        variant=request.GET.urlencode(),
        today=timezone.localdate(),
    )
    content = cache.get(key) if key else None
    if content is None:
        page = outcomes_page(
            user=request.user,
            teams=teams,
            date_range=date_range,
            shown=None if show_all else TEAMS_CHARTED,
            managed=managed,
        )
        _render_sections(request, page, date_range)
        content = unindent(render_to_string(f"{PAGE}#content", {**context, "page": page}, request))
        if key:
            cache.set(key, content, PAGE_CACHE_SECONDS)
    content = mark_safe(content)  # noqa: S308  (rendered by the template engine)
    if fragment_of(request):
        return HttpResponse(content)
    return page_response(request, PAGE, context, content)


def _render_sections(request: HttpRequest, page: OutcomesPage, date_range: DateRange) -> None:
    """Each team section the page cache did not have, rendered and kept for the next view
    (`page_cache.outcomes_section_key`; sections without a key are rendered every time)."""
    fresh: dict[str, str] = {}
    for section in page.teams:
        if section.html is not None:
            continue
        html = unindent(
            render_to_string(
                f"{PAGE}#team-section", {"section": section, "date_range": date_range}, request
            )
        )
        section.html = mark_safe(html)  # noqa: S308  (rendered by the template engine)
        if section.cache_key:
            fresh[section.cache_key] = html
    if fresh:
        cache.set_many(fresh, PAGE_CACHE_SECONDS)


def _can_write(user: Any, outcome: Outcome) -> bool:
    if is_org_admin(user):
        return True
    return outcome.team_id is not None and outcome.team_id in managed_team_ids(user)


def _writable(request: HttpRequest, pk: int) -> Outcome:
    """The outcome, if the viewer may change it: 404 if they may not see it, 403 if they
    may see it but not change it."""
    outcome = outcome_for_viewer(request.user, pk)
    if not _can_write(request.user, outcome):
        raise PermissionDenied("Only the team's managers and admins change its outcomes.")
    return outcome


def _detail_url(outcome: Outcome) -> str:
    return reverse("outcomes:detail", kwargs={"pk": outcome.pk})


def _done(request: HttpRequest, url: str, message: str) -> HttpResponse:
    messages.success(request, message)
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _detail_context(
    request: HttpRequest,
    outcome: Outcome,
    *,
    measurement_form: MeasurementForm | None = None,
    paste_form: MeasurementPasteForm | None = None,
    paste: CsvImport | None = None,
) -> dict[str, Any]:
    _form, date_range = range_form(request)
    return {
        "outcome": outcome,
        "status": status_of(outcome),
        "team": outcome.team,
        "can_write": _can_write(request.user, outcome),
        "measurement_form": measurement_form or MeasurementForm(),
        "paste_form": paste_form or MeasurementPasteForm(),
        "paste": paste,
        "date_range": date_range,
        "presets": preset_links(date_range),
        "is_org_admin": is_org_admin(request.user),
    }


def _with_page(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """What only the whole page shows: the chart and the latest measurements."""
    outcome = context["outcome"]
    context["chart"] = outcome_detail_chart(outcome=outcome, date_range=context["date_range"])
    context["measurements"] = outcome_measurements(outcome)
    return context


@require_GET
@vary_on_headers("HX-Request")
def outcome_detail(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = outcome_for_viewer(request.user, pk)
    context = _detail_context(request, outcome)
    fragment = fragment_of(request)
    if fragment == "measurements":
        context["measurements"] = outcome_measurements(outcome)
        return render(request, f"{DETAIL}#measurements", context)
    if fragment == "paste-panel":
        return render(request, f"{DETAIL}#paste", context)
    return render(request, DETAIL, _with_page(request, context))


@require_POST
def outcome_measurement_add(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = _writable(request, pk)
    form = MeasurementForm(request.POST)
    if form.is_valid():
        try:
            _measurement, created = outcome_measurement_record(
                outcome=outcome,
                measured_on=form.cleaned_data["measured_on"],
                value=form.cleaned_data["value"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            day = form.cleaned_data["measured_on"].isoformat()
            word = "Recorded" if created else "Updated"
            return _done(request, _detail_url(outcome), f"{word} the measurement of {day}.")
    context = _detail_context(request, outcome, measurement_form=form)
    if request.htmx:  # type: ignore[attr-defined]
        # 200: htmx swaps only successful responses; the errors are in the fragment.
        return render(request, f"{DETAIL}#measurement-form", context)
    return render(request, DETAIL, _with_page(request, context), status=422)


@require_POST
def outcome_paste(request: HttpRequest, pk: int) -> HttpResponse:
    """Pasted `date,value` lines: a preview (every line, bad ones marked) or, with
    `action=import` and every line fine, the import of all of them."""
    outcome = _writable(request, pk)
    form = MeasurementPasteForm(request.POST)
    result: CsvImport | None = None
    if form.is_valid():
        commit = request.POST.get("action") == "import"
        result = outcome_measurements_import_csv_text(
            outcome=outcome, text=form.cleaned_data["text"], commit=commit
        )
        if result.imported:
            return _done(
                request,
                _detail_url(outcome),
                f"Imported {result.created + result.updated} measurements "
                f"({result.created} new, {result.updated} updated).",
            )
    status = 200 if result is not None and result.ok else 422
    context = _detail_context(request, outcome, paste_form=form, paste=result)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, f"{DETAIL}#paste", context)
    return render(request, DETAIL, _with_page(request, context), status=status)


def _add_errors(form: Any, error: ValidationError) -> None:
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def _creatable_teams(request: HttpRequest) -> QuerySet[Team]:
    if is_org_admin(request.user):
        return Team.objects.all()
    return Team.objects.filter(pk__in=managed_team_ids(request.user))


def _parents() -> QuerySet[Outcome]:
    return Outcome.objects.filter(team__isnull=True).order_by("name")


def _outcome_fields(form: OutcomeForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "unit": data.get("unit") or "",
        "direction": data["direction"],
        "baseline": data["baseline"],
        "target": data["target"],
        "target_date": data.get("target_date"),
        "parent": data.get("parent"),
    }


def _render_form(
    request: HttpRequest, form: OutcomeForm, outcome: Outcome | None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "outcome": outcome, "team": outcome.team if outcome else None}
    if request.htmx and request.method == "POST":  # type: ignore[attr-defined]
        return render(request, f"{FORM}#form", context)  # htmx swaps 200s only
    return render(request, FORM, context, status=status)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def outcome_new(request: HttpRequest) -> HttpResponse:
    admin = is_org_admin(request.user)
    teams = _creatable_teams(request)
    if not admin and not teams.exists():
        raise PermissionDenied("Only managers and admins create outcomes.")
    chosen = teams.filter(slug=request.GET.get("team", "")).first()
    kwargs: dict[str, Any] = {"teams": teams, "allow_organization": admin, "parents": _parents()}
    if request.method != "POST":
        return _render_form(request, OutcomeForm(initial={"team": chosen}, **kwargs), None)
    form = OutcomeForm(request.POST, **kwargs)
    if form.is_valid():
        try:
            outcome = outcome_create(team=form.cleaned_data.get("team"), **_outcome_fields(form))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(
                request,
                _detail_url(outcome),
                f"Created “{outcome.name}”. Record its first measurement below.",
            )
    return _render_form(request, form, None, status=422)


def _without_parent_if_organization(form: OutcomeForm, outcome: Outcome) -> OutcomeForm:
    """An organization-wide outcome ladders up to nothing: no parent to choose."""
    if outcome.team_id is None:
        del form.fields["parent"]
    return form


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
def outcome_edit(request: HttpRequest, pk: int) -> HttpResponse:
    outcome = _writable(request, pk)
    kwargs: dict[str, Any] = {
        "teams": None,
        "allow_organization": False,
        "parents": _parents().exclude(pk=outcome.pk),
    }
    if request.method != "POST":
        initial = {
            "name": outcome.name,
            "unit": outcome.unit,
            "direction": outcome.direction,
            "baseline": outcome.baseline,
            "target": outcome.target,
            "target_date": outcome.target_date,
            "parent": outcome.parent,
        }
        form = OutcomeForm(initial=initial, **kwargs)
        return _render_form(request, _without_parent_if_organization(form, outcome), outcome)
    form = _without_parent_if_organization(OutcomeForm(request.POST, **kwargs), outcome)
    if form.is_valid():
        try:
            outcome_update(outcome=outcome, **_outcome_fields(form))
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return _done(request, _detail_url(outcome), f"Saved “{outcome.name}”.")
    return _render_form(request, form, outcome, status=422)
