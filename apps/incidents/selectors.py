"""Reads of incidents for the incident pages and the pickers on release pages."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    QuerySet,
    Subquery,
    Value,
    When,
)

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
    while open or when the start is unknown). `status` is "open" or "resolved".
    """
    qs = (
        Incident.objects.filter(team=team)
        .select_related("team", "caused_by")
        .annotate(
            time_to_restore=Case(
                # From a stand-in start it would be a made-up number: none.
                When(start_unknown=True, then=Value(None, output_field=DurationField())),
                default=ExpressionWrapper(
                    F("resolved_at") - F("started_at"), output_field=DurationField()
                ),
                output_field=DurationField(),
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
    """Started → detected → resolved, with the time between each step. With the start
    unknown, the first step is the first moment known and no time is counted from it."""
    if incident.start_unknown:
        steps = [TimelineStep("First known (the start is unknown)", incident.started_at, None)]
        if incident.resolved_at is not None:
            steps.append(TimelineStep("Resolved", incident.resolved_at, None))
        else:
            steps.append(TimelineStep("Not resolved yet", None, None))
        return steps
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


START_UNKNOWN = (
    "Its start is unknown (its sender reported a later event, never the start): it is left "
    "out of time to restore and failed deployment recovery time until the start is known. "
    "“Impact began” shows the first moment known."
)


def incident_imperfections(
    *,
    detected_at: dt.datetime | None,
    resolved_at: dt.datetime | None,
    start_unknown: bool = False,
) -> list[RecordWarning]:
    """The flags of an incident that is stored but imperfect (see apps.core.validation)."""
    flags = []
    if start_unknown:
        flags.append(RecordWarning("started_at", START_UNKNOWN))
    if detected_at is not None and resolved_at is not None and detected_at > resolved_at:
        flags.append(RecordWarning("detected_at", DETECTED_AFTER_RESOLVED))
    return flags


def incident_warnings(incident: Incident) -> list[RecordWarning]:
    """The flags of a stored incident, read from its row."""
    return incident_imperfections(
        detected_at=incident.detected_at,
        resolved_at=incident.resolved_at,
        start_unknown=incident.start_unknown,
    )


@dataclass(frozen=True)
class DataGaps:
    """What a team's numbers for a range leave out for want of data: the incidents whose
    start is unknown (the first `limit`, oldest first, and how many there are)."""

    start_unknown: list[Incident]
    start_unknown_count: int

    def __bool__(self) -> bool:
        return self.start_unknown_count > 0


def data_gaps(*, team: Team, start: dt.date, end: dt.date, limit: int = 10) -> DataGaps:
    """The team's incidents in `[start, end)` (local dates, by their first moment known)
    left out of time to restore because their start is unknown. One query while there are
    fewer than `limit`, which is the usual case (none)."""
    since, until = window_bounds(start, end, org_tz())
    qs = Incident.objects.filter(
        team=team, started_at__gte=since, started_at__lt=until, start_unknown=True
    )
    shown = list(
        qs.only("id", "title", "service", "started_at", "resolved_at", "team_id").order_by(
            "started_at", "id"
        )[: limit + 1]
    )
    count = len(shown) if len(shown) <= limit else qs.count()
    return DataGaps(shown[:limit], count)


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
