"""window_samples: a window's samples by the rules of METRICS.md, from the metric queries."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.core.timezones import local_midnight
from apps.metrics.selectors import window_metrics, window_samples
from apps.releases.models import Release
from tests.factories import IncidentFactory, ReleaseFactory, TeamFactory

pytestmark = pytest.mark.django_db

START, END = dt.date(2025, 3, 3), dt.date(2025, 3, 10)


def at(day: int, hours: float = 10) -> dt.datetime:
    return local_midnight(dt.date(2025, 3, day)) + dt.timedelta(hours=hours)


def test_samples_follow_the_rules_and_match_the_window_metrics() -> None:
    team, other = TeamFactory(), TeamFactory()
    # Lead times: 2 h and 1 h kept; 0 and negative dropped; no first commit: no sample.
    caused = ReleaseFactory(
        team=team, deployed_at=at(3), first_commit_at=at(3, 8), deployed_by="ana"
    )
    ReleaseFactory(team=team, deployed_at=at(4), first_commit_at=at(4, 9), deployed_by="ana")
    ReleaseFactory(team=team, deployed_at=at(5), first_commit_at=at(5), deployed_by="bo")
    ReleaseFactory(team=team, deployed_at=at(5), first_commit_at=at(5, 11))
    ReleaseFactory(team=team, deployed_at=at(6), status=Release.Status.ROLLED_BACK)
    ReleaseFactory(team=team, deployed_at=at(11), first_commit_at=at(11, 1))  # after END
    ReleaseFactory(team=other, deployed_at=at(4), first_commit_at=at(4, 1))
    # Time to restore: 30 min and 90 min; an open incident is no sample.
    IncidentFactory(
        team=team,
        started_at=at(3, 12),
        resolved_at=at(3, 13.5),
        caused_by=caused,
        cause="release",
        resolved_by="bo",
    )
    IncidentFactory(team=team, started_at=at(4), resolved_at=at(4, 10.5), resolved_by="")
    IncidentFactory(team=team, started_at=at(5))
    IncidentFactory(team=team, started_at=at(2), resolved_at=at(3, 11))  # before START

    samples = window_samples(team_ids=[team.id, other.id], start=START, end=END)

    mine = samples[team.id]
    assert mine.lead_time == (3600.0, 7200.0)
    assert mine.time_to_restore == (1800.0, 5400.0)
    # resolved 13:30 on the 3rd, the causing release deployed 10:00 that day
    assert mine.failed_deployment_recovery == (3.5 * 3600,)
    assert (mine.deployments, mine.failed_deployments) == (5, 2)
    # 3 releases with a person (ana, ana, bo) and 1 resolved incident with one (bo)
    assert mine.bus_work_items == 4
    assert mine.bus_factor == 1  # ana and bo did 2 items each: ana alone did half
    assert samples[other.id].lead_time == (9 * 3600.0,)  # 01:00 -> 10:00
    point = window_metrics(team=team, start=START, end=END)
    assert (point.deployments, point.failed_deployments) == (5, 2)
    assert point.bus_factor == mine.bus_factor
    assert point.time_to_restore.n == len(mine.time_to_restore)
    assert point.lead_time.n == len(mine.lead_time)


def test_only_the_groups_asked_for_are_read(django_assert_num_queries) -> None:
    team = TeamFactory()
    ReleaseFactory(team=team, deployed_at=at(4), first_commit_at=at(4, 9))
    with django_assert_num_queries(1):
        found = window_samples(team_ids=[team.id], start=START, end=END, groups={"releases"})
    assert found[team.id].lead_time == (3600.0,)
    assert found[team.id].time_to_restore == ()
    with pytest.raises(ValueError, match="unknown"):
        window_samples(team_ids=[team.id], start=START, end=END, groups={"nope"})
    assert window_samples(team_ids=[], start=START, end=END) == {}
