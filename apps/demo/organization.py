"""The demo organization: its director, its teams, their people and how each team works.

The named teams are read from tables, one line a team; `profile_for` numbers the teams
asked for beyond them. Users are keyed by username and memberships by (user, team), so a
second run finds them and adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from apps.demo.focus import K_STAB, ST, FocusPlan, focus_plans_for
from apps.demo.outcomes import UP, OutcomePlan, outcome_plans_for
from apps.incidents.models import Incident
from apps.teams.models import Membership, Team

DEMO_PASSWORD = "execdash-demo"  # noqa: S105  (documented demo credentials)
DIRECTOR = ("dana.director", "Dana", "Director")

Sev = Incident.Severity


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


# slug, name, description
TEAMS: tuple[tuple[str, str, str], ...] = (
    ("payments", "Payments", "Card payments, payouts and the ledger."),
    ("search", "Search", "Search, ranking and autocomplete."),
    ("mobile", "Mobile", "The iOS and Android apps."),
    ("platform", "Platform", "CI, deploy pipeline, clusters and the shared libraries."),
    ("growth", "Growth", "Sign-up, onboarding and experiments."),
    ("identity", "Identity", "Login, SSO and permissions."),
    ("data", "Data", "Pipelines, the warehouse and reporting."),
    ("checkout", "Checkout", "Cart, checkout and promotions."),
)

# slug: people (first names, the manager first), services
STAFF: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "payments": (("Maya", "Leo", "Priya", "Tom", "Ana"), ("payments-api", "ledger", "payouts")),
    "search": (("Omar", "Lena", "Kai", "Zoe"), ("search-api", "indexer")),
    "mobile": (("Aisha", "Ben", "Carmen", "Dev"), ("ios-app", "android-app")),
    "platform": (
        ("Elena", "Felix", "Grace", "Hiro", "Ivan"),
        ("deployer", "gateway", "ci-runners"),
    ),
    "growth": (("Ines", "Jonas", "Kim", "Luis"), ("web-frontend", "experiments")),
    "identity": (("Mina", "Nils", "Olga"), ("auth",)),
    "data": (("Pavel", "Quinn", "Rosa"), ("pipelines", "warehouse")),
    "checkout": (("Sam", "Tara", "Umar"), ("cart",)),
}

# slug: deploys a week per service, weekly release day (None: any weekday), failure rate,
# median hours to restore, other incidents a week, median lead time in hours, deployer weights
RHYTHM: dict[str, tuple[float, int | None, float, float, float, float, tuple[float, ...]]] = {
    "payments": (4.0, None, 0.05, 0.7, 0.5, 20, (1, 3, 3, 2, 2)),
    "search": (3.0, None, 0.12, 2.0, 0.7, 50, (1, 2, 2, 2)),
    "mobile": (1.0, 3, 0.15, 6.0, 0.5, 160, (1, 8, 1, 1)),
    "platform": (6.0, None, 0.08, 1.0, 0.8, 8, (1, 2, 2, 2, 2)),
    "growth": (5.0, None, 0.3, 8.0, 1.0, 30, (1, 3, 2, 2)),
    "identity": (3.0, None, 0.07, 1.5, 0.3, 40, (1, 2, 2)),
    "data": (2.0, None, 0.1, 4.0, 0.4, 70, (1, 4, 1)),
    "checkout": (4.0, None, 0.09, 1.2, 0.4, 24, (1, 2, 2)),
}

# slug: the incident still open today (title, severity, hours before today)
OPEN_INCIDENTS: dict[str, tuple[str, str, float]] = {
    "search": ("Autocomplete suggestions stale for some locales", Sev.SEV4, 26),
    "growth": ("Sign-up form fails for some email domains", Sev.SEV2, 5),
}


def _named_profile(slug: str, name: str, description: str) -> TeamProfile:
    people, services = STAFF[slug]
    per_week, release_day, failure, ttr, other, lead, weights = RHYTHM[slug]
    return TeamProfile(
        name,
        slug,
        description,
        people,
        services,
        per_week,
        release_day,
        failure,
        ttr,
        other,
        lead,
        weights,
        focus=focus_plans_for(slug),
        outcomes=outcome_plans_for(slug),
        open_incident=OPEN_INCIDENTS.get(slug),
    )


PROFILES: tuple[TeamProfile, ...] = tuple(_named_profile(*row) for row in TEAMS)


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


def user_ensure(
    *, name: str, first: str, last: str, password: str, staff: bool = False
) -> tuple[Any, bool]:
    """The demo user `name`, created with the (already hashed) password if missing."""
    return get_user_model().objects.get_or_create(
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


def team_users_ensure(*, team: Team, profile: TeamProfile, password: str) -> tuple[list[Any], int]:
    """The team's people as members (the first as manager); returns them and how many
    users were created."""
    users, created_count = [], 0
    for position, first in enumerate(profile.people):
        user, created = user_ensure(
            name=username(first, profile), first=first, last="", password=password
        )
        created_count += int(created)
        role = Membership.Role.MANAGER if position == 0 else Membership.Role.MEMBER
        Membership.objects.get_or_create(user=user, team=team, defaults={"role": role})
        users.append(user)
    return users, created_count
