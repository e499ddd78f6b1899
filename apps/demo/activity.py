"""The demo teams' releases and incidents, day by day, and how they are written.

`plan_team` draws a team's days from `first_day` up to today with one generator a day, so
a day once planned plans the same way on every later run. `plan_write` inserts the plan
with bulk inserts that ignore conflicts on (source, external_id), then settles what an
earlier run left open: incidents whose time to be resolved has come, and an open incident
placed on an earlier day.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from apps.core.timezones import local_midnight, org_tz
from apps.demo.draws import lognormal_hours, poisson, rng_for, weighted
from apps.demo.focus import Effect, focus_effects
from apps.demo.organization import TeamProfile, username
from apps.incidents.models import Incident
from apps.releases.models import Release, Source
from apps.teams.models import Team

DEMO_SOURCE = Source.API

Sev = Incident.Severity

SEVERITY_WEIGHTS = ((Sev.SEV1, 0.05), (Sev.SEV2, 0.2), (Sev.SEV3, 0.45), (Sev.SEV4, 0.3))
SEVERITY_TTR_FACTOR = {Sev.SEV1: 0.6, Sev.SEV2: 0.8, Sev.SEV3: 1.2, Sev.SEV4: 2.5}
DEPLOY_TITLES = (
    "Elevated 5xx on {service} after release",
    "{service}: p99 latency above SLO after deploy",
    "Migration locked a table in {service}",
    "Config change broke {service} health checks",
    "{service} workers crash-looping after release",
    "Feature flag default flipped in {service}",
)
OTHER_TITLES = (
    "Third-party API rate limiting {service}",
    "Certificate expired on {service}",
    "DNS resolution failures reaching {service}",
    "Database connection pool exhausted in {service}",
    "Queue backlog in {service}",
    "Cloud provider zone degraded, {service} impacted",
    "Disk full on {service} nodes",
    "Stale cache served by {service}",
)


class PlannedRelease(NamedTuple):
    external_id: str
    service: str
    version: str
    deployed_at: dt.datetime
    status: str
    first_commit_at: dt.datetime
    change_count: int
    deployed_by: str
    fixes: str | None  # the external id of the incident a hotfix fixes

    def model_fields(self) -> dict[str, Any]:
        """The fields a `Release` takes as they are (`fixes` is linked once both exist)."""
        fields = self._asdict()
        del fields["fixes"]
        return fields


class PlannedIncident(NamedTuple):
    external_id: str
    title: str
    severity: str
    service: str
    started_at: dt.datetime
    detected_at: dt.datetime
    resolved_at: dt.datetime | None
    resolved_by: str
    cause: str
    caused_by: str | None  # the external id of the release that caused it
    summary: str

    def model_fields(self) -> dict[str, Any]:
        """The fields an `Incident` takes as they are (`caused_by` is looked up by id)."""
        fields = self._asdict()
        del fields["caused_by"]
        return fields


@dataclass
class Plan:
    """Everything one team's demo data will hold, before it is written."""

    releases: list[PlannedRelease] = field(default_factory=list)
    incidents: list[PlannedIncident] = field(default_factory=list)


@dataclass(frozen=True)
class _Day:
    """What every release and incident of one team's day is drawn with."""

    plan: Plan
    rng: random.Random
    profile: TeamProfile
    handles: list[str]
    cutoff: dt.datetime

    def deployer(self) -> str:
        return weighted(self.rng, self.handles, self.profile.deployer_weights)


def plan_team(*, profile: TeamProfile, seed: int, first_day: dt.date, today: dt.date) -> Plan:
    """Releases and incidents from `first_day` up to (not including) `today`."""
    tz = org_tz()
    cutoff = local_midnight(today, tz)
    handles = [username(p, profile) for p in profile.people]
    effects = focus_effects(profile.slug, profile.focus, first_day=first_day, today=today)
    usual = profile
    plan = Plan()
    day = first_day
    while day < today:
        rng = rng_for(seed, usual.slug, "day", day.isoformat())
        profile = _during_focus(usual, effects, day)
        draw = _Day(plan, rng, profile, handles, cutoff)
        midnight = local_midnight(day, tz)
        if day.weekday() < 5:
            for service in profile.services:
                if profile.weekly_release_day is not None:
                    count = 1 if day.weekday() == profile.weekly_release_day else 0
                else:
                    count = poisson(rng, profile.deploys_per_week / 5)
                for i in range(count):
                    _plan_release(draw, service, day, midnight, i)
        for i in range(poisson(rng, profile.other_incidents_per_week / 7)):
            service = rng.choice(profile.services)
            started = midnight + dt.timedelta(minutes=rng.randint(0, 24 * 60 - 1))
            cause = Incident.Cause.NOT_DEPLOY if rng.random() < 0.55 else Incident.Cause.UNKNOWN
            title = rng.choice(OTHER_TITLES).format(service=service)
            external_id = f"demo:{profile.slug}:incident:{day.isoformat()}:{i}"
            _plan_incident(draw, service, started, cause, None, external_id, title)
        day += dt.timedelta(days=1)
    if usual.open_incident is not None:
        title, severity, hours = usual.open_incident
        started = cutoff - dt.timedelta(hours=hours)
        plan.incidents.append(
            PlannedIncident(
                f"demo:{usual.slug}:open:{started.date().isoformat()}",
                title,
                severity,
                usual.services[0],
                started,
                started + dt.timedelta(minutes=9),
                None,
                "",
                Incident.Cause.UNKNOWN,
                None,
                "Still being investigated.",
            )
        )
    return plan


def _during_focus(
    profile: TeamProfile, effects: list[tuple[dt.date, dt.date, Effect]], day: dt.date
) -> TeamProfile:
    """The team's profile on `day`, changed by the focus covering it (apps.demo.focus)."""
    for first, last, effect in effects:
        if first <= day <= last:
            return replace(
                profile,
                deploys_per_week=profile.deploys_per_week * effect.deploys,
                failure_rate=profile.failure_rate * effect.failures,
                ttr_median_hours=profile.ttr_median_hours * effect.restore,
            )
    return profile


def _plan_release(
    draw: _Day, service: str, day: dt.date, midnight: dt.datetime, index: int
) -> None:
    rng, profile = draw.rng, draw.profile
    deployed = midnight + dt.timedelta(minutes=rng.randint(9 * 60, 18 * 60))
    external_id = f"demo:{profile.slug}:{service}:{day.isoformat()}:{index}"
    version = f"{day:%Y.%m.%d}.{index + 1}"
    status = Release.Status.SUCCEEDED
    bad = rng.random() < profile.failure_rate
    outcome = rng.random()
    causes_incident = False
    if bad:
        if outcome < 0.25:
            status = Release.Status.FAILED  # the deploy itself failed: nobody was hit
        elif outcome < 0.6:
            status = Release.Status.ROLLED_BACK
            causes_incident = rng.random() < 0.7
        else:
            causes_incident = True  # shipped, then hurt users
    first_commit = deployed - lognormal_hours(rng, profile.lead_time_median_hours, 0.9)
    changes = max(1, round(rng.lognormvariate(math.log(6), 0.8)))
    draw.plan.releases.append(
        PlannedRelease(
            external_id,
            service,
            version,
            deployed,
            status,
            first_commit,
            changes,
            draw.deployer(),
            None,
        )
    )
    if causes_incident:
        started = deployed + dt.timedelta(minutes=max(1, round(rng.lognormvariate(3.5, 0.8))))
        if started >= draw.cutoff:
            return
        title = rng.choice(DEPLOY_TITLES).format(service=service)
        incident = _plan_incident(
            draw,
            service,
            started,
            Incident.Cause.RELEASE,
            external_id,
            f"{external_id}:incident",
            title,
        )
        resolved = incident.resolved_at
        if status == Release.Status.SUCCEEDED and resolved is not None and rng.random() < 0.6:
            fixed_at = max(started, resolved - dt.timedelta(minutes=rng.randint(2, 20)))
            first_commit = fixed_at - dt.timedelta(minutes=rng.randint(15, 90))
            changes = rng.randint(1, 3)
            draw.plan.releases.append(
                PlannedRelease(
                    f"{external_id}:fix",
                    service,
                    f"{version}-hotfix",
                    fixed_at,
                    Release.Status.SUCCEEDED,
                    first_commit,
                    changes,
                    draw.deployer(),
                    incident.external_id,
                )
            )


def _plan_incident(
    draw: _Day,
    service: str,
    started: dt.datetime,
    cause: str,
    caused_by: str | None,
    external_id: str,
    title: str,
) -> PlannedIncident:
    rng, profile, cutoff = draw.rng, draw.profile, draw.cutoff
    severity = weighted(rng, [s for s, _ in SEVERITY_WEIGHTS], [w for _, w in SEVERITY_WEIGHTS])
    ttr = lognormal_hours(rng, profile.ttr_median_hours * SEVERITY_TTR_FACTOR[severity], 1.0)
    ttr = max(ttr, dt.timedelta(minutes=3))
    resolved: dt.datetime | None = started + ttr
    detected = started + dt.timedelta(minutes=rng.lognormvariate(math.log(6), 0.9))
    if resolved is not None and detected > resolved:
        detected = started + (resolved - started) / 2
    if resolved is not None and resolved >= cutoff:
        resolved = None  # still open as of today
    if detected >= cutoff:
        detected = started
    incident = PlannedIncident(
        external_id,
        title,
        severity,
        service,
        started,
        detected,
        resolved,
        draw.deployer() if resolved else "",
        cause,
        caused_by,
        "" if resolved is None else "Mitigated; follow-ups in the team's tracker.",
    )
    draw.plan.incidents.append(incident)
    return incident


def plan_write(*, team: Team, plan: Plan, users: list[Any]) -> tuple[int, int]:
    """Write the plan; returns how many releases and incidents were added."""
    before = Release.objects.filter(team=team).count()
    Release.objects.bulk_create(
        [Release(team=team, source=DEMO_SOURCE, **r.model_fields()) for r in plan.releases],
        ignore_conflicts=True,
        batch_size=500,
    )
    release_ids = _ids(Release, team, [r.external_id for r in plan.releases])
    releases_added = Release.objects.filter(team=team).count() - before

    before = Incident.objects.filter(team=team).count()
    Incident.objects.bulk_create(
        [
            Incident(
                team=team,
                source=DEMO_SOURCE,
                **i.model_fields(),
                caused_by_id=release_ids.get(i.caused_by) if i.caused_by else None,
                reported_by=users[position % len(users)],
            )
            for position, i in enumerate(plan.incidents)
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    incidents_added = Incident.objects.filter(team=team).count() - before
    _settle_open_incidents(team, plan)

    fixes = [(r.external_id, r.fixes) for r in plan.releases if r.fixes]
    incident_ids = _ids(Incident, team, [fixed for _, fixed in fixes])
    for external_id, fixed in fixes:
        release_id, incident_id = release_ids.get(external_id), incident_ids.get(fixed)
        if release_id is not None and incident_id is not None:
            Release.objects.filter(id=release_id, fixes_incident__isnull=True).update(
                fixes_incident_id=incident_id
            )
    return releases_added, incidents_added


def _settle_open_incidents(team: Team, plan: Plan) -> None:
    # An incident left open by an earlier run is resolved once its time has come.
    resolved = {i.external_id: i for i in plan.incidents if i.resolved_at is not None}
    stale = Incident.objects.filter(
        team=team, source=DEMO_SOURCE, external_id__in=list(resolved), resolved_at__isnull=True
    )
    for incident in stale:
        data = resolved[incident.external_id or ""]
        incident.resolved_at = data.resolved_at
        incident.resolved_by = data.resolved_by
        incident.save(update_fields=["resolved_at", "resolved_by", "updated_at"])

    # The open incident placed by a run on an earlier day has been dealt with since.
    current_open = {i.external_id for i in plan.incidents if ":open:" in i.external_id}
    for incident in Incident.objects.filter(
        team=team,
        source=DEMO_SOURCE,
        external_id__startswith=f"demo:{team.slug}:open:",
        resolved_at__isnull=True,
    ).exclude(external_id__in=current_open):
        incident.resolved_at = incident.started_at + dt.timedelta(hours=3)
        incident.summary = "Fixed a configuration mismatch."
        incident.save(update_fields=["resolved_at", "summary", "updated_at"])


def _ids(model: Any, team: Team, external_ids: Iterable[str]) -> dict[str, int]:
    wanted = list(external_ids)
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 500):  # SQLite caps the number of parameters
        chunk = wanted[start : start + 500]
        found.update(
            model.objects.filter(team=team, source=DEMO_SOURCE, external_id__in=chunk).values_list(
                "external_id", "id"
            )
        )
    return found
