"""Realistic, deterministic demo data for `manage.py seed_demo`: the orchestration.

Every random draw comes from a generator seeded by (seed, team, what, day), so a day's
releases and incidents are the same whenever the command runs, and running it again a
few days later only adds the days that passed since. Rows carry stable keys (usernames,
slugs, `source="api"` + `external_id="demo:..."`) and are written with bulk inserts that
ignore conflicts: a second run changes nothing.

Times are relative to today (local midnight in the organization's zone), so the dashboard
always has recent data; nothing is placed after that instant.

What is generated lives beside this module: the teams and people in `organization`, the
releases and incidents in `activity`, the focus periods in `focus` and their histories in
`history`, the outcomes in `outcomes`, the seeded draws in `draws`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from apps.core.timezones import org_tz, weeks_between
from apps.demo.activity import plan_team, plan_write
from apps.demo.focus import focus_periods_seed
from apps.demo.history import focus_histories_seed
from apps.demo.organization import (
    DEMO_PASSWORD,
    DIRECTOR,
    profile_for,
    team_users_ensure,
    user_ensure,
    username,
)
from apps.demo.outcomes import BUSY_TEAM, ORG_OUTCOME, busy_output_ensure, outcome_seed
from apps.focus.services import focus_kinds_ensure_builtin
from apps.outcomes.models import Outcome
from apps.teams.models import Team


@dataclass
class SeedReport:
    teams: int = 0
    users: int = 0
    focus_periods: int = 0
    focus_events: int = 0
    releases: int = 0
    incidents: int = 0
    outcomes: int = 0
    measurements: int = 0
    weeks: list[dt.date] = field(default_factory=list)
    team_ids: list[int] = field(default_factory=list)

    def add_outcome(self, counts: tuple[int, int]) -> None:
        self.outcomes += counts[0]
        self.measurements += counts[1]


def seed_demo(*, teams: int = 5, weeks: int = 26, seed: int = 7) -> SeedReport:
    """Write the demo data; rows that already exist are left as they are."""
    report = SeedReport()
    today = timezone.localdate(timezone=org_tz())
    first_day = today - dt.timedelta(days=weeks * 7)
    password = make_password(DEMO_PASSWORD)  # hashed once: the demo users share it
    span = {"first_day": first_day, "today": today}
    with transaction.atomic():
        name, first, last = DIRECTOR
        director, created = user_ensure(
            name=name, first=first, last=last, password=password, staff=True
        )
        report.users += int(created)
        kinds = focus_kinds_ensure_builtin()
        report.add_outcome(
            outcome_seed(team=None, plan=ORG_OUTCOME, seed=seed, first_day=first_day, today=today)
        )
        nps = Outcome.objects.get(team=None, name=ORG_OUTCOME.name)
        for index in range(teams):
            profile = profile_for(index)
            team, created = Team.objects.get_or_create(
                slug=profile.slug,
                defaults={"name": profile.name, "description": profile.description},
            )
            report.teams += int(created)
            report.team_ids.append(team.id)
            users, users_created = team_users_ensure(team=team, profile=profile, password=password)
            report.users += users_created
            report.focus_periods += focus_periods_seed(
                team=team,
                plans=profile.focus,
                kinds=kinds,
                manager=users[0],
                director=director,
                **span,
            )
            report.focus_events += focus_histories_seed(
                team=team, manager=users[0], director=director, today=today
            )
            plan = plan_team(profile=profile, seed=seed, **span)
            releases, incidents = plan_write(team=team, plan=plan, users=users)
            report.releases += releases
            report.incidents += incidents
            for position, outcome in enumerate(profile.outcomes):
                parent = nps if position == 0 else None  # ladders up to the organization's
                report.add_outcome(
                    outcome_seed(
                        team=team,
                        plan=outcome,
                        seed=seed,
                        parent=parent,
                        first_day=first_day,
                        today=today,
                    )
                )
            if profile.slug == BUSY_TEAM:
                report.releases += busy_output_ensure(
                    team=team, today=today, deployer=username(profile.people[1], profile)
                )
    report.weeks = weeks_between(first_day, today)
    return report
