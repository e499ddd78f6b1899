"""Reads of incidents for the incident pages and the pickers on release pages."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count, DurationField, ExpressionWrapper, F, QuerySet, Subquery

from apps.core.records import filter_given
from apps.core.timezones import org_tz, window_bounds
from apps.core.validation import RecordWarning
from apps.incidents.models import Incident
from apps.teams.models import Team

CHOICE_LIMIT = 50


def incident_list(
    *,
    team: Team,
    status: str | None = None,
    severity: str | None = None,
    service: str | None = None,
) -> QuerySet[Incident]:
    """The team's incidents, newest first, each with `time_to_restore` (a timedelta, None
    while open). `status` is "open" or "resolved".
    """
    qs = (
        Incident.objects.filter(team=team)
        .select_related("team", "caused_by")
        .annotate(
            time_to_restore=ExpressionWrapper(
                F("resolved_at") - F("started_at"), output_field=DurationField()
            )
        )
    )
    if status == "open":
        qs = qs.filter(resolved_at__isnull=True)
    elif status == "resolved":
        qs = qs.filter(resolved_at__isnull=False)
    return filter_given(qs, severity=severity, service=service).order_by("-started_at", "-id")


def incident_services(*, team: Team) -> list[str]:
    """The services named by the team's incidents, for filter menus."""
    return list(
        Incident.objects.filter(team=team)
        .exclude(service="")
        .order_by("service")
        .values_list("service", flat=True)
        .distinct()
    )


def incident_get(*, team: Team, pk: int) -> Incident:
    """One incident of the team (raises Incident.DoesNotExist otherwise)."""
    return Incident.objects.select_related("team", "caused_by", "reported_by").get(team=team, pk=pk)


def incident_choices(
    *,
    team: Team,
    started_since: dt.datetime | None = None,
    limit: int = CHOICE_LIMIT,
) -> QuerySet[Incident]:
    """At most `limit` of the team's incidents for a picker: the most recent ones, newest
    first; or, with `started_since`, the first ones that began at or after it, in order.

    A subquery rather than a slice, so a form can still look a submitted id up in it.
    """
    if started_since is None:
        order = ("-started_at", "-id")
        candidates = Incident.objects.filter(team=team)
    else:
        order = ("started_at", "id")
        candidates = Incident.objects.filter(team=team, started_at__gte=started_since)
    ids = candidates.order_by(*order).values("pk")[:limit]
    return (
        Incident.objects.filter(team=team, pk__in=Subquery(ids))
        .select_related("team")
        .order_by(*order)
    )


@dataclass(frozen=True)
class TimelineStep:
    label: str
    at: dt.datetime | None
    # Seconds since the previous step (None for the first, or when either end is unknown).
    since_previous: float | None
    since_previous_label: str = ""


def incident_timeline(incident: Incident) -> list[TimelineStep]:
    """Started → detected → resolved, with the time between each step."""
    steps = [TimelineStep("Impact began", incident.started_at, None)]
    if incident.detected_at is not None:
        steps.append(
            TimelineStep(
                "Detected",
                incident.detected_at,
                (incident.detected_at - incident.started_at).total_seconds(),
                "to detect",
            )
        )
    if incident.resolved_at is not None:
        steps.append(
            TimelineStep(
                "Resolved",
                incident.resolved_at,
                (incident.resolved_at - incident.started_at).total_seconds(),
                "to restore since impact began",
            )
        )
    else:
        steps.append(TimelineStep("Not resolved yet", None, None))
    return steps


def incident_open_for(incident: Incident, now: dt.datetime) -> float | None:
    """Seconds an open incident has lasted so far; None once resolved."""
    if incident.resolved_at is not None:
        return None
    return max((now - incident.started_at).total_seconds(), 0.0)


DETECTED_AFTER_RESOLVED = (
    "Detected after it was resolved (found afterwards?). Time to restore still runs from "
    "when the impact began to when it was resolved."
)


def incident_imperfections(
    *, detected_at: dt.datetime | None, resolved_at: dt.datetime | None
) -> list[RecordWarning]:
    """The flags of an incident that is stored but imperfect (see apps.core.validation)."""
    if detected_at is not None and resolved_at is not None and detected_at > resolved_at:
        return [RecordWarning("detected_at", DETECTED_AFTER_RESOLVED)]
    return []


def incident_warnings(incident: Incident) -> list[RecordWarning]:
    """The flags of a stored incident, read from its row."""
    return incident_imperfections(
        detected_at=incident.detected_at, resolved_at=incident.resolved_at
    )


# --- reads for the dashboard ---------------------------------------------------------------

SEVERE = (Incident.Severity.SEV1, Incident.Severity.SEV2)


def open_incidents_by_team(team_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Incidents open right now per team and severity (one grouped query)."""
    rows = (
        Incident.objects.filter(team_id__in=team_ids, resolved_at__isnull=True)
        .values_list("team_id", "severity")
        .annotate(n=Count("id"))
        .order_by()
    )
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for team_id, severity, n in rows:
        out[team_id][severity] = n
    return out


def latest_incidents(*, team: Team, start: dt.date, end: dt.date, limit: int = 5) -> list[Incident]:
    """The team's latest incidents that started in `[start, end)` (local dates)."""
    since, until = window_bounds(start, end, org_tz())
    return list(
        Incident.objects.filter(team=team, started_at__gte=since, started_at__lt=until)
        .select_related("caused_by")
        .order_by("-started_at")[:limit]
    )


def severe_incidents_between(
    *, team: Team, start: dt.date, end: dt.date, limit: int
) -> QuerySet[Incident]:
    """The team's SEV1 and SEV2 incidents that started in `[start, end)` (local dates), newest
    first, at most `limit` (the fields a chart marker shows)."""
    since, until = window_bounds(start, end, org_tz())
    return (
        Incident.objects.filter(
            team=team, started_at__gte=since, started_at__lt=until, severity__in=SEVERE
        )
        .only("id", "title", "severity", "service", "started_at", "resolved_at")
        .order_by("-started_at")[:limit]
    )
