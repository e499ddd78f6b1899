"""Realistic, deterministic demo data for `manage.py seed_demo`.

Every random draw comes from a generator seeded by (seed, team, what, day), so a day's
releases and incidents are the same whenever the command runs, and running it again a
few days later only adds the days that passed since. Rows carry stable keys (usernames,
slugs, `source="api"` + `external_id="demo:..."`) and are written with bulk inserts that
ignore conflicts: a second run changes nothing.

Times are relative to today (local midnight in the organization's zone), so the dashboard
always has recent data; nothing is placed after that instant.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from apps.core.timezones import local_midnight, org_tz, weeks_between
from apps.focus.models import FocusKind, FocusPeriod
from apps.focus.services import focus_kinds_ensure_builtin
from apps.incidents.models import Incident
from apps.outcomes.models import Outcome, OutcomeMeasurement
from apps.releases.models import Release, Source
from apps.teams.models import Membership, Team

DEMO_PASSWORD = "execdash-demo"  # noqa: S105  (documented demo credentials)
DEMO_SOURCE = Source.API
DIRECTOR = ("dana.director", "Dana", "Director")

Sev = Incident.Severity


@dataclass(frozen=True)
class FocusPlan:
    """A focus period placed by fractions of the demo span (1.0 = the first day)."""

    kind: str
    starts: float
    ends: float | None  # None: the current period
    status: str = FocusPeriod.Status.ALIGNED
    revisit_in_days: int | None = None  # relative to today; negative = overdue
    rationale: str = ""
    tradeoff: str = ""
    signals: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class OutcomePlan:
    name: str
    unit: str
    direction: str
    baseline: float
    target: float
    progress: float  # where the latest measurement stands, 0 = baseline, 1 = target
    noise: float  # standard deviation, in units


@dataclass(frozen=True)
class TeamProfile:
    name: str
    slug: str
    description: str
    people: tuple[str, ...]  # first names; the first is the manager
    services: tuple[str, ...]
    deploys_per_week: float  # per service
    weekly_release_day: int | None  # e.g. an app store train on Thursdays (weekday 3)
    failure_rate: float  # share of releases that fail, roll back or cause an incident
    ttr_median_hours: float
    other_incidents_per_week: float  # not caused by a deployment, or not known to be
    lead_time_median_hours: float
    deployer_weights: tuple[float, ...]  # skewed weights make a low bus factor
    focus: tuple[FocusPlan, ...]
    outcomes: tuple[OutcomePlan, ...]
    open_incident: tuple[str, str, float] | None = None  # title, severity, hours before today


K_STAB, K_THRU, K_KNOW = FocusKind.STABILITY, FocusKind.THROUGHPUT, FocusKind.KNOWLEDGE_SHARING
ST = FocusPeriod.Status
UP, DOWN = Outcome.Direction.UP, Outcome.Direction.DOWN

PROFILES: tuple[TeamProfile, ...] = (
    TeamProfile(
        name="Payments",
        slug="payments",
        description="Card payments, payouts and the ledger.",
        people=("Maya", "Leo", "Priya", "Tom", "Ana"),
        services=("payments-api", "ledger", "payouts"),
        deploys_per_week=4.0,
        weekly_release_day=None,
        failure_rate=0.05,
        ttr_median_hours=0.7,
        other_incidents_per_week=0.5,
        lead_time_median_hours=20,
        deployer_weights=(1, 3, 3, 2, 2),
        focus=(
            FocusPlan(
                K_STAB,
                1.0,
                0.55,
                ST.CLOSED,
                None,
                "Two SEV1 payment outages last quarter; recover first.",
                "throughput",
                (("time_to_restore", "median < 1 h"), ("change_failure_rate", "≤ 5 %")),
            ),
            FocusPlan(
                K_THRU,
                0.55,
                None,
                ST.ALIGNED,
                21,
                "Stable for two months; ship the payout redesign faster.",
                "some stability",
                (("deployment_frequency", "≥ 15 / week"), ("lead_time", "median < 1 day")),
            ),
        ),
        outcomes=(
            OutcomePlan("Checkout conversion", "%", UP, 2.1, 2.6, 0.7, 0.05),
            OutcomePlan("Payment success rate", "%", UP, 97.2, 98.5, 0.8, 0.1),
        ),
    ),
    TeamProfile(
        name="Search",
        slug="search",
        description="Search, ranking and autocomplete.",
        people=("Omar", "Lena", "Kai", "Zoe"),
        services=("search-api", "indexer"),
        deploys_per_week=3.0,
        weekly_release_day=None,
        failure_rate=0.12,
        ttr_median_hours=2.0,
        other_incidents_per_week=0.7,
        lead_time_median_hours=50,
        deployer_weights=(1, 2, 2, 2),
        focus=(
            FocusPlan(
                K_THRU,
                0.8,
                0.4,
                ST.CLOSED,
                None,
                "The ranking experiments wait on slow releases.",
                "stability",
                (("lead_time", "median < 2 days"),),
            ),
            FocusPlan(
                K_KNOW,
                0.4,
                None,
                ST.PROPOSED,
                14,
                "Only Lena can release the indexer; spread it before she goes on leave.",
                "throughput",
                (("bus_factor", "≥ 2 on every service"),),
            ),
        ),
        outcomes=(OutcomePlan("Search click-through", "%", UP, 31.0, 36.0, 0.45, 0.6),),
        open_incident=("Autocomplete suggestions stale for some locales", Sev.SEV4, 26),
    ),
    TeamProfile(
        name="Mobile",
        slug="mobile",
        description="The iOS and Android apps.",
        people=("Aisha", "Ben", "Carmen", "Dev"),
        services=("ios-app", "android-app"),
        deploys_per_week=1.0,
        weekly_release_day=3,
        failure_rate=0.15,
        ttr_median_hours=6.0,
        other_incidents_per_week=0.5,
        lead_time_median_hours=160,
        deployer_weights=(1, 8, 1, 1),
        focus=(
            FocusPlan(
                K_STAB,
                0.85,
                None,
                ST.ALIGNED,
                -10,
                "Crash rate after the 5.0 release hurts ratings.",
                "throughput",
                (("change_failure_rate", "≤ 10 %"), ("time_to_restore", "median < 1 day")),
            ),
        ),
        outcomes=(
            OutcomePlan("Crash-free sessions", "%", UP, 99.1, 99.7, 0.6, 0.05),
            OutcomePlan("App store rating", "stars", UP, 4.1, 4.5, 0.3, 0.03),
        ),
    ),
    TeamProfile(
        name="Platform",
        slug="platform",
        description="CI, deploy pipeline, clusters and the shared libraries.",
        people=("Elena", "Felix", "Grace", "Hiro", "Ivan"),
        services=("deployer", "gateway", "ci-runners"),
        deploys_per_week=6.0,
        weekly_release_day=None,
        failure_rate=0.08,
        ttr_median_hours=1.0,
        other_incidents_per_week=0.8,
        lead_time_median_hours=8,
        deployer_weights=(1, 2, 2, 2, 2),
        focus=(
            FocusPlan(
                K_KNOW,
                0.7,
                0.3,
                ST.CLOSED,
                None,
                "On-call depends on Felix for the gateway.",
                "throughput",
                (("bus_factor", "≥ 2"),),
            ),
            FocusPlan(
                K_THRU,
                0.3,
                None,
                ST.ALIGNED,
                28,
                "Product teams wait on the new deploy pipeline.",
                "",
                (("deployment_frequency", "≥ 20 / week"),),
            ),
        ),
        outcomes=(OutcomePlan("Median CI time", "min", DOWN, 18.0, 10.0, 0.5, 0.6),),
    ),
    TeamProfile(
        name="Growth",
        slug="growth",
        description="Sign-up, onboarding and experiments.",
        people=("Ines", "Jonas", "Kim", "Luis"),
        services=("web-frontend", "experiments"),
        deploys_per_week=5.0,
        weekly_release_day=None,
        failure_rate=0.3,
        ttr_median_hours=8.0,
        other_incidents_per_week=1.0,
        lead_time_median_hours=30,
        deployer_weights=(1, 3, 2, 2),
        focus=(
            FocusPlan(
                K_STAB,
                1.0,
                0.45,
                ST.CLOSED,
                None,
                "Broken sign-up twice in a month.",
                "throughput",
                (("change_failure_rate", "≤ 15 %"),),
            ),
            FocusPlan(
                K_THRU,
                0.45,
                None,
                ST.ALIGNED,
                10,
                "Quarter goal: double the experiments shipped.",
                "stability",
                (("deployment_frequency", "≥ 15 / week"),),
            ),
        ),
        outcomes=(OutcomePlan("Weekly sign-ups", "sign-ups", UP, 1200, 1500, 0.0, 25),),
        open_incident=("Sign-up form fails for some email domains", Sev.SEV2, 5),
    ),
    TeamProfile(
        name="Identity",
        slug="identity",
        description="Login, SSO and permissions.",
        people=("Mina", "Nils", "Olga"),
        services=("auth",),
        deploys_per_week=3.0,
        weekly_release_day=None,
        failure_rate=0.07,
        ttr_median_hours=1.5,
        other_incidents_per_week=0.3,
        lead_time_median_hours=40,
        deployer_weights=(1, 2, 2),
        focus=(
            FocusPlan(
                K_STAB, 0.6, None, ST.ALIGNED, 20, "SSO outages block every customer.", "throughput"
            ),
        ),
        outcomes=(OutcomePlan("Login success rate", "%", UP, 98.0, 99.5, 0.6, 0.1),),
    ),
    TeamProfile(
        name="Data",
        slug="data",
        description="Pipelines, the warehouse and reporting.",
        people=("Pavel", "Quinn", "Rosa"),
        services=("pipelines", "warehouse"),
        deploys_per_week=2.0,
        weekly_release_day=None,
        failure_rate=0.1,
        ttr_median_hours=4.0,
        other_incidents_per_week=0.4,
        lead_time_median_hours=70,
        deployer_weights=(1, 4, 1),
        focus=(
            FocusPlan(
                K_KNOW,
                0.5,
                None,
                ST.ALIGNED,
                30,
                "Quinn is the only one who can fix the nightly load.",
                "throughput",
            ),
        ),
        outcomes=(OutcomePlan("Reports delivered on time", "%", UP, 85.0, 98.0, 0.5, 1.0),),
    ),
    TeamProfile(
        name="Checkout",
        slug="checkout",
        description="Cart, checkout and promotions.",
        people=("Sam", "Tara", "Umar"),
        services=("cart",),
        deploys_per_week=4.0,
        weekly_release_day=None,
        failure_rate=0.09,
        ttr_median_hours=1.2,
        other_incidents_per_week=0.4,
        lead_time_median_hours=24,
        deployer_weights=(1, 2, 2),
        focus=(
            FocusPlan(
                K_THRU, 0.5, None, ST.ALIGNED, 25, "Promotions launch next quarter.", "stability"
            ),
        ),
        outcomes=(OutcomePlan("Cart abandonment", "%", DOWN, 70.0, 62.0, 0.4, 0.5),),
    ),
)

ORG_OUTCOME = OutcomePlan("Customer NPS", "points", UP, 31.0, 40.0, 0.4, 1.0)

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


def profile_for(index: int) -> TeamProfile:
    """The n-th demo team; beyond the named ones, plain numbered teams."""
    if index < len(PROFILES):
        return PROFILES[index]
    n = index + 1
    return TeamProfile(
        name=f"Team {n}",
        slug=f"team-{n}",
        description="A demo team.",
        people=("Alex", "Blair", "Casey"),
        services=(f"service-{n}",),
        deploys_per_week=3.0,
        weekly_release_day=None,
        failure_rate=0.1,
        ttr_median_hours=2.0,
        other_incidents_per_week=0.5,
        lead_time_median_hours=36,
        deployer_weights=(1, 2, 2),
        focus=(FocusPlan(K_STAB, 0.5, None, ST.ALIGNED, 21, "Recover faster.", "throughput"),),
        outcomes=(OutcomePlan(f"Team {n} KPI", "%", UP, 50.0, 60.0, 0.5, 1.0),),
    )


def username(first: str, profile: TeamProfile) -> str:
    return f"{first.lower()}.{profile.slug}"


def _rng(seed: int, *parts: object) -> random.Random:
    # A string seed is hashed with SHA-512 by random.Random: stable across processes.
    return random.Random(":".join([str(seed), *map(str, parts)]))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _lognormal_hours(rng: random.Random, median_hours: float, sigma: float) -> dt.timedelta:
    return dt.timedelta(hours=rng.lognormvariate(math.log(median_hours), sigma))


def _weighted(rng: random.Random, items: Sequence[Any], weights: Sequence[float]) -> Any:
    return rng.choices(list(items), weights=list(weights), k=1)[0]


@dataclass
class Plan:
    """Everything one team's demo data will hold, before it is written."""

    releases: list[dict[str, Any]] = field(default_factory=list)
    incidents: list[dict[str, Any]] = field(default_factory=list)


def plan_team(*, profile: TeamProfile, seed: int, first_day: dt.date, today: dt.date) -> Plan:
    """Releases and incidents from `first_day` up to (not including) `today`."""
    tz = org_tz()
    cutoff = local_midnight(today, tz)
    handles = [username(p, profile) for p in profile.people]
    plan = Plan()
    day = first_day
    while day < today:
        rng = _rng(seed, profile.slug, "day", day.isoformat())
        if day.weekday() < 5:
            for service in profile.services:
                if profile.weekly_release_day is not None:
                    count = 1 if day.weekday() == profile.weekly_release_day else 0
                else:
                    count = _poisson(rng, profile.deploys_per_week / 5)
                for i in range(count):
                    _plan_release(plan, rng, profile, handles, service, day, i, tz, cutoff)
        for i in range(_poisson(rng, profile.other_incidents_per_week / 7)):
            service = rng.choice(profile.services)
            started = local_midnight(day, tz) + dt.timedelta(minutes=rng.randint(0, 24 * 60 - 1))
            cause = Incident.Cause.NOT_DEPLOY if rng.random() < 0.55 else Incident.Cause.UNKNOWN
            title = rng.choice(OTHER_TITLES).format(service=service)
            _plan_incident(
                plan,
                rng,
                profile,
                handles,
                service,
                started,
                cause,
                None,
                f"demo:{profile.slug}:incident:{day.isoformat()}:{i}",
                title,
                cutoff,
            )
        day += dt.timedelta(days=1)
    if profile.open_incident is not None:
        title, severity, hours = profile.open_incident
        started = cutoff - dt.timedelta(hours=hours)
        plan.incidents.append(
            {
                "external_id": f"demo:{profile.slug}:open:{started.date().isoformat()}",
                "title": title,
                "severity": severity,
                "service": profile.services[0],
                "started_at": started,
                "detected_at": started + dt.timedelta(minutes=9),
                "resolved_at": None,
                "resolved_by": "",
                "cause": Incident.Cause.UNKNOWN,
                "caused_by": None,
                "summary": "Still being investigated.",
            }
        )
    return plan


def _plan_release(
    plan: Plan,
    rng: random.Random,
    profile: TeamProfile,
    handles: list[str],
    service: str,
    day: dt.date,
    index: int,
    tz: Any,
    cutoff: dt.datetime,
) -> None:
    deployed = local_midnight(day, tz) + dt.timedelta(minutes=rng.randint(9 * 60, 18 * 60))
    external_id = f"demo:{profile.slug}:{service}:{day.isoformat()}:{index}"
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
    plan.releases.append(
        {
            "external_id": external_id,
            "service": service,
            "version": f"{day:%Y.%m.%d}.{index + 1}",
            "deployed_at": deployed,
            "status": status,
            "first_commit_at": deployed
            - _lognormal_hours(rng, profile.lead_time_median_hours, 0.9),
            "change_count": max(1, round(rng.lognormvariate(math.log(6), 0.8))),
            "deployed_by": _weighted(rng, handles, profile.deployer_weights),
            "fixes": None,
        }
    )
    if causes_incident:
        started = deployed + dt.timedelta(minutes=max(1, round(rng.lognormvariate(3.5, 0.8))))
        if started >= cutoff:
            return
        title = rng.choice(DEPLOY_TITLES).format(service=service)
        incident = _plan_incident(
            plan,
            rng,
            profile,
            handles,
            service,
            started,
            Incident.Cause.RELEASE,
            external_id,
            f"{external_id}:incident",
            title,
            cutoff,
        )
        resolved = incident["resolved_at"]
        if status == Release.Status.SUCCEEDED and resolved is not None and rng.random() < 0.6:
            fixed_at = max(started, resolved - dt.timedelta(minutes=rng.randint(2, 20)))
            plan.releases.append(
                {
                    "external_id": f"{external_id}:fix",
                    "service": service,
                    "version": f"{day:%Y.%m.%d}.{index + 1}-hotfix",
                    "deployed_at": fixed_at,
                    "status": Release.Status.SUCCEEDED,
                    "first_commit_at": fixed_at - dt.timedelta(minutes=rng.randint(15, 90)),
                    "change_count": rng.randint(1, 3),
                    "deployed_by": _weighted(rng, handles, profile.deployer_weights),
                    "fixes": incident["external_id"],
                }
            )


def _plan_incident(
    plan: Plan,
    rng: random.Random,
    profile: TeamProfile,
    handles: list[str],
    service: str,
    started: dt.datetime,
    cause: str,
    caused_by: str | None,
    external_id: str,
    title: str,
    cutoff: dt.datetime,
) -> dict[str, Any]:
    severity = _weighted(rng, [s for s, _ in SEVERITY_WEIGHTS], [w for _, w in SEVERITY_WEIGHTS])
    ttr = _lognormal_hours(rng, profile.ttr_median_hours * SEVERITY_TTR_FACTOR[severity], 1.0)
    ttr = max(ttr, dt.timedelta(minutes=3))
    resolved: dt.datetime | None = started + ttr
    detected = started + dt.timedelta(minutes=rng.lognormvariate(math.log(6), 0.9))
    if resolved is not None and detected > resolved:
        detected = started + (resolved - started) / 2
    if resolved is not None and resolved >= cutoff:
        resolved = None  # still open as of today
    if detected >= cutoff:
        detected = started
    incident = {
        "external_id": external_id,
        "title": title,
        "severity": severity,
        "service": service,
        "started_at": started,
        "detected_at": detected,
        "resolved_at": resolved,
        "resolved_by": _weighted(rng, handles, profile.deployer_weights) if resolved else "",
        "cause": cause,
        "caused_by": caused_by,
        "summary": "" if resolved is None else "Mitigated; follow-ups in the team's tracker.",
    }
    plan.incidents.append(incident)
    return incident


@dataclass
class SeedReport:
    teams: int = 0
    users: int = 0
    focus_periods: int = 0
    releases: int = 0
    incidents: int = 0
    outcomes: int = 0
    measurements: int = 0
    weeks: list[dt.date] = field(default_factory=list)
    team_ids: list[int] = field(default_factory=list)


def seed_demo(*, teams: int = 5, weeks: int = 26, seed: int = 7) -> SeedReport:
    """Write the demo data; rows that already exist are left as they are."""
    report = SeedReport()
    today = timezone.localdate(timezone=org_tz())
    first_day = today - dt.timedelta(days=weeks * 7)
    password = make_password(DEMO_PASSWORD)  # hashed once: the demo users share it
    with transaction.atomic():
        director = _user(DIRECTOR[0], DIRECTOR[1], DIRECTOR[2], password, report, staff=True)
        kinds = focus_kinds_ensure_builtin()
        for index in range(teams):
            profile = profile_for(index)
            team, created = Team.objects.get_or_create(
                slug=profile.slug,
                defaults={"name": profile.name, "description": profile.description},
            )
            report.teams += int(created)
            report.team_ids.append(team.id)
            users = _team_users(team, profile, password, report)
            _focus(team, profile, kinds, users[0], director, first_day, today, report)
            plan = plan_team(profile=profile, seed=seed, first_day=first_day, today=today)
            _write_plan(team, plan, users, report)
            for outcome in profile.outcomes:
                _outcome(team, outcome, seed, first_day, today, report)
        _outcome(None, ORG_OUTCOME, seed, first_day, today, report)
    report.weeks = weeks_between(first_day, today)
    return report


def _user(
    name: str, first: str, last: str, password: str, report: SeedReport, staff: bool = False
) -> Any:
    user, created = get_user_model().objects.get_or_create(
        username=name,
        defaults={
            "first_name": first,
            "last_name": last,
            "email": f"{name}@example.com",
            "password": password,
            "is_staff": staff,
            "is_superuser": staff,
        },
    )
    report.users += int(created)
    return user


def _team_users(team: Team, profile: TeamProfile, password: str, report: SeedReport) -> list[Any]:
    users = []
    for position, first in enumerate(profile.people):
        user = _user(username(first, profile), first, "", password, report)
        role = Membership.Role.MANAGER if position == 0 else Membership.Role.MEMBER
        Membership.objects.get_or_create(user=user, team=team, defaults={"role": role})
        users.append(user)
    return users


def _focus(
    team: Team,
    profile: TeamProfile,
    kinds: dict[str, FocusKind],
    manager: Any,
    director: Any,
    first_day: dt.date,
    today: dt.date,
    report: SeedReport,
) -> None:
    # A team that already has focus periods keeps its history as it is: adding demo periods
    # next to it could overlap, and a later run (a later "today") would place them elsewhere.
    if FocusPeriod.objects.filter(team=team).exists():
        return
    span = (today - first_day).days

    def day_at(fraction: float) -> dt.date:
        day = today - dt.timedelta(days=round(fraction * span))
        return day - dt.timedelta(days=day.weekday())  # periods start on Mondays

    rows = []
    for plan in profile.focus:
        starts = day_at(plan.starts)
        ends = day_at(plan.ends) - dt.timedelta(days=1) if plan.ends is not None else None
        if ends is not None and ends < starts:
            continue
        aligned = plan.status != ST.PROPOSED
        rows.append(
            FocusPeriod(
                team=team,
                kind=kinds[plan.kind],
                starts_on=starts,
                ends_on=ends,
                rationale=plan.rationale or "Demo focus.",
                tradeoff=plan.tradeoff,
                success_signals=[{"metric": m, "target": t} for m, t in plan.signals],
                revisit_on=(
                    today + dt.timedelta(days=plan.revisit_in_days)
                    if plan.revisit_in_days is not None
                    else None
                ),
                status=plan.status,
                proposed_by=manager,
                aligned_by=director if aligned else None,
                aligned_at=local_midnight(starts) + dt.timedelta(hours=10) if aligned else None,
            )
        )
    FocusPeriod.objects.bulk_create(rows)
    report.focus_periods += len(rows)


def _write_plan(team: Team, plan: Plan, users: list[Any], report: SeedReport) -> None:
    before = Release.objects.filter(team=team).count()
    Release.objects.bulk_create(
        [
            Release(
                team=team,
                source=DEMO_SOURCE,
                external_id=r["external_id"],
                service=r["service"],
                version=r["version"],
                deployed_at=r["deployed_at"],
                status=r["status"],
                first_commit_at=r["first_commit_at"],
                change_count=r["change_count"],
                deployed_by=r["deployed_by"],
            )
            for r in plan.releases
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    release_ids = _ids(Release, team, [r["external_id"] for r in plan.releases])
    report.releases += Release.objects.filter(team=team).count() - before

    before = Incident.objects.filter(team=team).count()
    Incident.objects.bulk_create(
        [
            Incident(
                team=team,
                source=DEMO_SOURCE,
                external_id=i["external_id"],
                title=i["title"],
                severity=i["severity"],
                service=i["service"],
                started_at=i["started_at"],
                detected_at=i["detected_at"],
                resolved_at=i["resolved_at"],
                resolved_by=i["resolved_by"],
                cause=i["cause"],
                caused_by_id=release_ids.get(i["caused_by"]) if i["caused_by"] else None,
                summary=i["summary"],
                reported_by=users[position % len(users)],
            )
            for position, i in enumerate(plan.incidents)
        ],
        ignore_conflicts=True,
        batch_size=500,
    )
    report.incidents += Incident.objects.filter(team=team).count() - before
    # An incident left open by an earlier run is resolved once its time has come.
    resolved = {i["external_id"]: i for i in plan.incidents if i["resolved_at"] is not None}
    stale = Incident.objects.filter(
        team=team, source=DEMO_SOURCE, external_id__in=list(resolved), resolved_at__isnull=True
    )
    for incident in stale:
        data = resolved[incident.external_id or ""]
        incident.resolved_at = data["resolved_at"]
        incident.resolved_by = data["resolved_by"]
        incident.save(update_fields=["resolved_at", "resolved_by", "updated_at"])

    # The open incident placed by a run on an earlier day has been dealt with since.
    current_open = {i["external_id"] for i in plan.incidents if ":open:" in i["external_id"]}
    for incident in Incident.objects.filter(
        team=team,
        source=DEMO_SOURCE,
        external_id__startswith=f"demo:{team.slug}:open:",
        resolved_at__isnull=True,
    ).exclude(external_id__in=current_open):
        incident.resolved_at = incident.started_at + dt.timedelta(hours=3)
        incident.summary = "Fixed a configuration mismatch."
        incident.save(update_fields=["resolved_at", "summary", "updated_at"])

    fixes = [r for r in plan.releases if r["fixes"]]
    incident_ids = _ids(Incident, team, [r["fixes"] for r in fixes])
    for r in fixes:
        release_id, incident_id = release_ids.get(r["external_id"]), incident_ids.get(r["fixes"])
        if release_id is not None and incident_id is not None:
            Release.objects.filter(id=release_id, fixes_incident__isnull=True).update(
                fixes_incident_id=incident_id
            )


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


def _outcome(
    team: Team | None,
    plan: OutcomePlan,
    seed: int,
    first_day: dt.date,
    today: dt.date,
    report: SeedReport,
) -> None:
    outcome, created = Outcome.objects.get_or_create(
        team=team,
        name=plan.name,
        defaults={
            "unit": plan.unit,
            "direction": plan.direction,
            "baseline": plan.baseline,
            "target": plan.target,
        },
    )
    report.outcomes += int(created)
    mondays = [d for d in weeks_between(first_day, today) if first_day <= d < today]
    rows = []
    for position, monday in enumerate(mondays):
        rng = _rng(seed, "outcome", team.slug if team else "org", plan.name, monday.isoformat())
        share = plan.progress * (position + 1) / len(mondays)
        value = plan.baseline + (plan.target - plan.baseline) * share + rng.gauss(0, plan.noise)
        rows.append(OutcomeMeasurement(outcome=outcome, measured_on=monday, value=round(value, 3)))
    before = OutcomeMeasurement.objects.filter(outcome=outcome).count()
    OutcomeMeasurement.objects.bulk_create(rows, ignore_conflicts=True)
    report.measurements += OutcomeMeasurement.objects.filter(outcome=outcome).count() - before
