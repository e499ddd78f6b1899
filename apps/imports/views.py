"""CSV import pages (upload, the job's page with its preview, summary and progress bar,
starting the import or running a failed one again, the refused rows as CSV) and the weekly
metrics download.

Importing is for the team's managers and admins: a member of the team gets a 403, anyone
else a 404 (the team's existence is not revealed). Every page and fragment checks it.
"""

from __future__ import annotations

import datetime as dt
import logging

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.core import bounds
from apps.core.csvfiles import csv_response
from apps.core.forms import apply_service_errors
from apps.core.http import is_fragment_request, redirect_after_post, render_page
from apps.core.lists import one_or_404
from apps.core.timezones import org_tz
from apps.imports import selectors, services
from apps.imports.columns import metrics_export as metrics_rows
from apps.imports.forms import ImportForm
from apps.imports.models import ImportJob
from apps.imports.rows import FileProblem, read_header
from apps.metrics.selectors import window_metrics_with_weeks
from apps.teams.models import Team
from apps.teams.permissions import can_manage, team_for_user

log = logging.getLogger(__name__)

STOP_POLLING = 286  # htmx stops polling on this status (django-htmx: HttpResponseStopPolling)


def _team_for_importer(request: HttpRequest, slug: str) -> Team:
    team = team_for_user(request.user, slug)
    if not can_manage(request.user, team):
        raise PermissionDenied("Only the team's managers and admins import files.")
    return team


@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The upload form and the team's recent imports."""
    team = _team_for_importer(request, slug)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.job_create(
                team=team,
                kind=form.cleaned_data["kind"],
                mode=form.cleaned_data["mode"],
                time_zone=form.cleaned_data["time_zone"],
                file_name=upload.name or "upload.csv",
                chunks=upload.chunks(),
                user=request.user,
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return redirect_after_post(request, job.get_absolute_url())
    return render_page(
        request,
        "imports/list.html",
        {"team": team, "form": form, "jobs": selectors.import_jobs(team=team)},
        partial="form",
    )


def _job(team: Team, pk: int) -> ImportJob:
    return one_or_404(selectors.import_job_get, team=team, pk=pk)


def _job_as_it_stands(team: Team, pk: int) -> ImportJob:
    """The job, marked failed first if its worker is gone (the rule beat applies too)."""
    job = _job(team, pk)
    if job.running:
        try:
            if services.import_jobs_fail_stale(job=job):
                job = _job(team, pk)
        except DatabaseError:  # a locked database: show it as it is, beat marks it later
            log.exception("import %s: could not check whether its worker is gone", job.pk)
    return job


@require_GET
def import_detail(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """The job's page: the preview, then the summary, the progress bar or the result. The
    status part is also the fragment htmx polls every second while the job runs."""
    team = _team_for_importer(request, slug)
    job = _job_as_it_stands(team, pk)
    stage = "import" if job.state == ImportJob.State.DONE else "check"
    context = {
        "team": team,
        "job": job,
        "progress": selectors.import_progress(job),
        "refused": selectors.import_problems(job=job, stage=stage, refused=True),
        "flagged": selectors.import_problems(job=job, stage=stage, refused=False),
    }
    if is_fragment_request(request):
        response = render(request, "imports/detail.html#status", context)
        if not job.running:
            response.status_code = STOP_POLLING
        return response
    context["preview"] = selectors.import_preview(job)
    return render(request, "imports/detail.html", context)


@require_POST
def import_start(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    team = _team_for_importer(request, slug)
    job = _job(team, pk)
    try:
        services.job_start(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect_after_post(request, job.get_absolute_url())


@require_POST
def import_rerun(request: HttpRequest, slug: str, pk: int) -> HttpResponse:
    """Run a failed import (or its check) again; the same people as starting one."""
    team = _team_for_importer(request, slug)
    job = _job(team, pk)
    try:
        services.job_rerun(job=job)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect_after_post(request, job.get_absolute_url())


@require_GET
def import_refused_csv(request: HttpRequest, slug: str, pk: int) -> HttpResponseBase:
    """The refused rows as they were read, with the row number, column and reason first."""
    team = _team_for_importer(request, slug)
    job = _job(team, pk)
    try:
        header, _ = read_header(services.import_file_path(job), job.kind)
    except (FileProblem, OSError):
        header = []
    return csv_response(
        f"refused-rows-{job.kind}-{job.pk}.csv",
        ["row", "column", "reason", *header],
        selectors.refused_rows_csv(job=job, header=header),
    )


class MetricsRangeForm(forms.Form):
    start = forms.DateField(required=False, validators=[bounds.validate_day])
    end = forms.DateField(required=False, validators=[bounds.validate_day])


@require_GET
def metrics_export(request: HttpRequest, slug: str) -> HttpResponseBase:
    """The team's weekly metrics of the range `[start, end)` (dates in the organization's
    time zone; by default the 13 weeks up to today), as CSV. Members may download it."""
    team = team_for_user(request.user, slug)
    form = MetricsRangeForm(request.GET)
    form.is_valid()
    today = timezone.now().astimezone(org_tz()).date()
    end: dt.date = form.cleaned_data.get("end") or today + dt.timedelta(days=1)
    start: dt.date = form.cleaned_data.get("start") or end - dt.timedelta(weeks=13)
    if start >= end or (end - start).days > 3660:
        start, end = end - dt.timedelta(weeks=13), end
    header, rows = metrics_rows(window_metrics_with_weeks(team=team, start=start, end=end))
    return csv_response(f"{team.slug}-weekly-metrics-{start}-{end}.csv", header, rows)
