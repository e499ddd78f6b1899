"""The people the page tests act as: a member of the team, a manager, an admin, a member of
another team, and nobody (anonymous).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.test import Client
from django.utils import timezone

from apps.teams.models import Membership, Team
from tests.factories import AdminFactory, MembershipFactory, TeamFactory

HTMX = {"HX-Request": "true"}
LOCAL = "%Y-%m-%dT%H:%M"


def local(moment: dt.datetime) -> str:
    """A datetime as a datetime-local input sends it (wall clock in the org time zone)."""
    return timezone.localtime(moment).strftime(LOCAL)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@dataclass
class Personas:
    team: Team
    other_team: Team
    member: Any
    manager: Any
    admin: Any
    outsider: Any

    @classmethod
    def make(cls) -> Personas:
        team = TeamFactory(name="Payments", slug="payments")
        other_team = TeamFactory(name="Search", slug="search")
        member = MembershipFactory(team=team).user
        manager = MembershipFactory(team=team, role=Membership.Role.MANAGER).user
        outsider = MembershipFactory(team=other_team).user
        return cls(
            team=team,
            other_team=other_team,
            member=member,
            manager=manager,
            admin=AdminFactory(),
            outsider=outsider,
        )
