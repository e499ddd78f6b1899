"""Property: on random histories the database path equals the pure-Python reading."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apps.core.timezones import org_tz
from apps.incidents.models import Incident
from apps.metrics.models import ORG_SCOPE, WeeklyRollup
from apps.metrics.rollups import rollups_recompute_all
from apps.metrics.selectors import window_metrics
from apps.releases.models import Release
from apps.teams.models import Team
from tests.metrics import reference
from tests.metrics.answers import as_api_dict, rollup_as_api_dict

BASE = dt.datetime(2026, 2, 23, tzinfo=dt.UTC)  # a Monday
SPAN_MICROS = 28 * 86_400 * 1_000_000
PEOPLE = st.sampled_from(["", "ann", "bob", "cat", "dan"])
SERVICES = st.sampled_from(["", "api", "web"])

moment = st.integers(0, SPAN_MICROS).map(lambda us: BASE + dt.timedelta(microseconds=us))
duration = st.one_of(st.integers(0, 10**6), st.integers(0, 3 * 86_400 * 10**6)).map(
    lambda us: dt.timedelta(microseconds=us)
)

release_st = st.fixed_dictionaries(
    {
        "team": st.integers(0, 1),
        "deployed_at": moment,
        "lead": st.one_of(st.none(), st.integers(-3600 * 10**6, 5 * 86_400 * 10**6)),
        "status": st.sampled_from(["succeeded", "succeeded", "failed", "rolled_back"]),
        "change_count": st.integers(0, 50),
        "deployed_by": PEOPLE,
        "service": SERVICES.filter(bool),
    }
)
incident_st = st.fixed_dictionaries(
    {
        "team": st.integers(0, 1),
        "started_at": moment,
        "duration": st.one_of(st.none(), duration),
        "cause": st.one_of(st.none(), st.integers(0, 30)),
        "fixed_by": st.one_of(st.none(), st.integers(0, 30)),
        "resolved_by": PEOPLE,
        "service": SERVICES,
        # Recorded from its resolution alone: no sample of the recovery times.
        "start_unknown": st.sampled_from([False, False, False, True]),
    }
)
window_st = st.tuples(st.integers(0, 27), st.integers(0, 28)).map(sorted)


def load(data):
    teams = [Team.objects.create(slug=f"t{i}", name=f"T{i}") for i in range(2)]
    releases = []
    for i, r in enumerate(data["releases"]):
        lead = r["lead"]
        releases.append(
            Release.objects.create(
                team=teams[r["team"]],
                service=r["service"],
                version=str(i),
                deployed_at=r["deployed_at"],
                status=r["status"],
                change_count=r["change_count"],
                deployed_by=r["deployed_by"],
                first_commit_at=None
                if lead is None
                else r["deployed_at"] - dt.timedelta(microseconds=lead),
            )
        )
    incidents = []
    for i, d in enumerate(data["incidents"]):
        team = teams[d["team"]]
        candidates = [
            r for r in releases if r.team_id == team.id and r.deployed_at <= d["started_at"]
        ]
        cause = None
        if d["cause"] is not None and candidates:
            cause = candidates[d["cause"] % len(candidates)]
        incidents.append(
            Incident.objects.create(
                team=team,
                title=str(i),
                started_at=d["started_at"],
                resolved_at=None if d["duration"] is None else d["started_at"] + d["duration"],
                cause="release" if cause else "unknown",
                caused_by=cause,
                resolved_by=d["resolved_by"],
                service=d["service"],
                start_unknown=d["start_unknown"],
            )
        )
        same_team = [r for r in releases if r.team_id == team.id]
        if d["fixed_by"] is not None and same_team:
            fixer = same_team[d["fixed_by"] % len(same_team)]
            fixer.fixes_incident = incidents[-1]
            fixer.save(update_fields=["fixes_incident"])
    return teams, releases, incidents


@pytest.mark.django_db
@hsettings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.fixed_dictionaries(
        {
            "releases": st.lists(release_st, max_size=25),
            "incidents": st.lists(incident_st, max_size=20),
            "window": window_st,
            "tz": st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
        }
    )
)
def test_database_path_equals_the_pure_module(settings, data):
    settings.EXECDASH_TIME_ZONE = data["tz"]
    tz = org_tz()
    start = BASE.date() + dt.timedelta(days=data["window"][0])
    end = BASE.date() + dt.timedelta(days=data["window"][1])
    with transaction.atomic():
        teams, releases, incidents = load(data)
        for r in releases:
            r.refresh_from_db()
        for scope_team, team_ids in ((teams[0], {teams[0].id}), (None, None)):
            got = as_api_dict(window_metrics(team=scope_team, start=start, end=end))
            del got["team"], got["computed_at"]
            expected = reference.window(
                releases=releases,
                incidents=incidents,
                team_ids=team_ids,
                start=start,
                end=end,
                tz=tz,
            )
            assert got == expected
        # Every weekly rollup equals the reading of its week.
        rollups_recompute_all()
        for row in WeeklyRollup.objects.all():
            week = rollup_as_api_dict(row)
            week_start = dt.date.fromisoformat(week.pop("week_start"))
            del week["computed_at"]
            expected = reference.window(
                releases=releases,
                incidents=incidents,
                team_ids=None if row.scope == ORG_SCOPE else {row.scope},
                start=week_start,
                end=week_start + dt.timedelta(days=7),
                tz=tz,
            )
            del expected["start"], expected["end"]
            assert week == expected, (row.scope, week_start)
        transaction.set_rollback(True)
