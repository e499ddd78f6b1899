"""An organization the fault tests drive through real processes: a team, its manager (who
logs in with a password the production hasher made), a team API token, and some history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from unittest import mock

import pytest
from django.utils import timezone

from apps.api.services import api_token_create
from apps.incidents.services import incident_create
from apps.metrics.rollups import rollups_recompute_all
from apps.releases.services import release_create
from apps.teams.models import Membership, Team
from tests.factories import MembershipFactory, TeamFactory, UserFactory

PASSWORD = "fault-tests-password-1234"


@dataclass
class Org:
    team: Team
    username: str
    password: str
    token: str
    incident_id: int
    release_id: int


def seed_history(team: Team, *, count: int, prefix: str) -> tuple[int, int]:
    """`count` releases and incidents over the last weeks; the writes schedule nothing."""
    now = timezone.now()
    incident_id = release_id = 0
    with mock.patch("apps.metrics.services.recompute_schedule"):
        for n in range(count):
            deployed = now - dt.timedelta(days=n % 40, hours=3 + n % 5)
            release = release_create(
                team=team,
                service=f"svc-{n % 3}",
                version=f"{prefix}-{n}",
                deployed_at=deployed,
                first_commit_at=deployed - dt.timedelta(hours=4 + n % 7),
                change_count=1 + n % 4,
            )
            incident = incident_create(
                team=team,
                title=f"{prefix} incident {n}",
                service=f"svc-{n % 3}",
                started_at=deployed + dt.timedelta(minutes=20),
                resolved_at=(deployed + dt.timedelta(minutes=50 + n)) if n % 4 else None,
            )
            release_id, incident_id = release.id, incident.id
    return incident_id, release_id


@pytest.fixture
def org(transactional_db: None, settings) -> Org:  # type: ignore[no-untyped-def]
    # gunicorn checks passwords with the production hashers.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    team = TeamFactory(slug="faults", name="Faults")
    user = UserFactory(username="fault-manager")
    user.set_password(PASSWORD)
    user.save()
    MembershipFactory(user=user, team=team, role=Membership.Role.MANAGER)
    _token, raw = api_token_create(name="fault tests", team=team)
    incident_id, release_id = seed_history(team, count=12, prefix="seed")
    rollups_recompute_all()
    return Org(team, user.username, PASSWORD, raw, incident_id, release_id)
