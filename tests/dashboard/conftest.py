from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.focus.models import FocusKind
from apps.incidents.models import Incident
from apps.metrics.rollups import rollups_recompute_all
from apps.releases.models import Release
from apps.teams.models import Membership
from tests.factories import (
    AdminFactory,
    FocusPeriodFactory,
    IncidentFactory,
    MembershipFactory,
    ReleaseFactory,
    TeamFactory,
    UserFactory,
    focus_kind,
)


def days_ago(days: float, hours: float = 0) -> dt.datetime:
    """A moment `days` (and `hours`) ago."""
    return timezone.now() - dt.timedelta(days=days, hours=hours)


def build_org(n_teams: int) -> list:
    """`n_teams` teams with a little history each: releases (some failed), incidents
    (one still open), a current focus period. Returns the teams, rollups recomputed.
    """
    teams = [TeamFactory(name=f"Team {i:03d}", slug=f"team-{i:03d}") for i in range(n_teams)]
    releases, incidents = [], []
    for i, team in enumerate(teams):
        for d in range(8):
            releases.append(
                Release(
                    team=team,
                    service="api",
                    version=f"1.{i}.{d}",
                    deployed_at=days_ago(10 + d * 5),
                    first_commit_at=days_ago(11 + d * 5),
                    status=Release.Status.FAILED if d % 4 == 0 else Release.Status.SUCCEEDED,
                    deployed_by=f"dev{d % 3}",
                )
            )
        for d in range(3):
            incidents.append(
                Incident(
                    team=team,
                    title=f"Outage {i}.{d}",
                    severity=Incident.Severity.SEV3,
                    service="api",
                    started_at=days_ago(12 + d * 7),
                    resolved_at=days_ago(12 + d * 7, hours=-2),
                    resolved_by="dev1",
                )
            )
        FocusPeriodFactory(team=team, starts_on=timezone.localdate() - dt.timedelta(days=60))
    Release.objects.bulk_create(releases)
    Incident.objects.bulk_create(incidents)
    rollups_recompute_all()
    return teams


def open_incident(team, severity: str, hours_ago: float = 3) -> Incident:
    """An incident of `team` still open, begun `hours_ago`."""
    began = days_ago(0, hours=hours_ago)
    return IncidentFactory(
        team=team, severity=severity, started_at=began, detected_at=began, resolved_at=None
    )


def large_org(n_teams: int) -> list:
    """`n_teams` teams without history: "Team 000"... and, last by name but first by
    attention, "Zulu" with an open SEV1."""
    teams = [TeamFactory(name=f"Team {i:03d}", slug=f"team-{i:03d}") for i in range(n_teams - 1)]
    zulu = TeamFactory(name="Zulu", slug="zulu")
    open_incident(zulu, Incident.Severity.SEV1)
    return [*teams, zulu]


@pytest.fixture
def admin(db):
    return AdminFactory(username="director")


@pytest.fixture
def payments(db):
    return TeamFactory(name="Payments", slug="payments")


@pytest.fixture
def search(db):
    return TeamFactory(name="Search", slug="search")


@pytest.fixture
def manager(payments):
    return MembershipFactory(team=payments, role=Membership.Role.MANAGER).user


@pytest.fixture
def member(payments):
    return MembershipFactory(team=payments).user


@pytest.fixture
def outsider(search):
    """A member of another team."""
    return MembershipFactory(team=search).user


@pytest.fixture
def loner(db):
    return UserFactory(username="loner")


@pytest.fixture
def payments_history(payments):
    """Payments: a throughput focus while its change failure rate is low, a failed release
    that caused a SEV1, rollups computed."""
    FocusPeriodFactory(
        team=payments,
        kind=focus_kind(FocusKind.THROUGHPUT),
        starts_on=timezone.localdate() - dt.timedelta(days=120),
        rationale="Ship the new checkout.",
    )
    failed = [
        ReleaseFactory(
            team=payments,
            service="checkout",
            deployed_at=days_ago(10 + d),
            status=Release.Status.FAILED if d < 3 else Release.Status.SUCCEEDED,
        )
        for d in range(6)
    ]
    IncidentFactory(
        team=payments,
        title="Checkout down",
        severity=Incident.Severity.SEV1,
        started_at=days_ago(9),
        resolved_at=days_ago(9, hours=-1),
        cause=Incident.Cause.RELEASE,
        caused_by=failed[0],
    )
    rollups_recompute_all()
    return payments
