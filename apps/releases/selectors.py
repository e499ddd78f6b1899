"""Reads of releases for the release pages and the pickers on incident pages."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet, Subquery

from apps.core.records import filter_given
from apps.core.timezones import org_tz, window_bounds
from apps.core.validation import RecordWarning
from apps.incidents.models import Incident
from apps.releases.models import FAILED_STATUSES, Release
from apps.teams.models import Team

CHOICE_LIMIT = 50


def release_list(
    *, team: Team, status: str | None = None, service: str | None = None
) -> QuerySet[Release]:
    """The team's releases, newest first, optionally filtered."""
    qs = Release.objects.filter(team=team).select_related("team", "fixes_incident")
    return filter_given(qs, status=status, service=service).order_by("-deployed_at", "-id")


def release_services(*, team: Team) -> list[str]:
    """The services the team has released, for filter menus."""
    return list(
        Release.objects.filter(team=team)
        .order_by("service")
        .values_list("service", flat=True)
        .distinct()
    )


def release_get(*, team: Team, pk: int) -> Release:
    """One release of the team (raises Release.DoesNotExist otherwise)."""
    return Release.objects.select_related("team", "fixes_incident", "recorded_by").get(
        team=team, pk=pk
    )


def release_choices(
    *, team: Team, deployed_before: dt.datetime | None = None, limit: int = CHOICE_LIMIT
) -> QuerySet[Release]:
    """The team's most recent releases (deployed no later than `deployed_before`, if given),
    newest first, at most `limit`.

    Filtered through a subquery rather than sliced, so a form field can still look a
    submitted id up in it: an id outside the list (another team's release) is not a choice.
    """
    recent = Release.objects.filter(team=team)
    if deployed_before is not None:
        recent = recent.filter(deployed_at__lte=deployed_before)
    recent_ids = recent.order_by("-deployed_at", "-id").values("pk")[:limit]
    return (
        Release.objects.filter(team=team, pk__in=Subquery(recent_ids))
        .select_related("team")
        .order_by("-deployed_at", "-id")
    )


def release_caused_incidents(*, release: Release) -> QuerySet[Incident]:
    """The incidents that name this release as their cause, newest first."""
    return (
        Incident.objects.filter(caused_by=release)
        .select_related("team")
        .order_by("-started_at", "-id")
    )


def lead_time_seconds(release: Release) -> float | None:
    """First commit to deployment, in seconds; None when the first commit is unknown or not
    before the deployment (then the release is left out of lead time: METRICS.md)."""
    if release.first_commit_at is None or release.first_commit_at >= release.deployed_at:
        return None
    return (release.deployed_at - release.first_commit_at).total_seconds()


LEAD_TIME_LEFT_OUT = (
    "The first commit is not before the deployment (clock skew between CI runners, or a "
    "rebased or cherry-picked commit?). The release counts in deployment frequency and "
    "change failure rate; it is left out of lead time."
)


def release_imperfections(
    *, deployed_at: dt.datetime | None, first_commit_at: dt.datetime | None
) -> list[RecordWarning]:
    """The flags of a release that is stored but imperfect (see apps.core.validation)."""
    if deployed_at is not None and first_commit_at is not None and first_commit_at >= deployed_at:
        return [RecordWarning("first_commit_at", LEAD_TIME_LEFT_OUT)]
    return []


def release_warnings(release: Release) -> list[RecordWarning]:
    """The flags of a stored release, read from its row: what its page and the API's answer
    say about it."""
    return release_imperfections(
        deployed_at=release.deployed_at, first_commit_at=release.first_commit_at
    )


def suggest_causing_release(
    *, team: Team, started_at: dt.datetime, service: str = ""
) -> Release | None:
    """The latest release of the team (and service, if given) deployed in the 48 hours
    before the incident started. Only a suggestion: never linked without the reporter's say.
    """
    qs = Release.objects.filter(
        team=team,
        deployed_at__lte=started_at,
        deployed_at__gte=started_at - dt.timedelta(hours=48),
    )
    if service:
        qs = qs.filter(service=service)
    return qs.order_by("-deployed_at", "-id").first()


# --- reads for the dashboard ---------------------------------------------------------------


def latest_releases(*, team: Team, start: dt.date, end: dt.date, limit: int = 5) -> list[Release]:
    """The team's latest releases deployed in `[start, end)` (local dates)."""
    since, until = window_bounds(start, end, org_tz())
    return list(
        Release.objects.filter(team=team, deployed_at__gte=since, deployed_at__lt=until).order_by(
            "-deployed_at"
        )[:limit]
    )


def failed_releases_between(
    *, team: Team, start: dt.date, end: dt.date, limit: int
) -> QuerySet[Release]:
    """The team's releases deployed in `[start, end)` (local dates) that failed or caused an
    incident, newest first, at most `limit` (the fields a chart marker shows)."""
    since, until = window_bounds(start, end, org_tz())
    return (
        Release.objects.filter(team=team, deployed_at__gte=since, deployed_at__lt=until)
        .filter(Q(status__in=FAILED_STATUSES) | Q(caused_incidents__isnull=False))
        .distinct()
        .only("id", "service", "version", "status", "deployed_at")
        .order_by("-deployed_at")[:limit]
    )
