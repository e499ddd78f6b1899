"""Window answers against the hand-computed history of tests/metrics/handmade.py."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.metrics.models import ScopeVersion, WindowSnapshot
from apps.metrics.rollup_rows import versions_bump
from apps.metrics.selectors import window_metrics, window_metrics_for_teams
from tests.factories import IncidentFactory, ReleaseFactory, TeamFactory
from tests.metrics import handmade
from tests.metrics.answers import api_metrics, as_api_dict
from tests.metrics.handmade import END, ORGANIZATION, PAYMENTS, START, at, without_freshness

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    return handmade.build()


def test_team_window_matches_hand_computed_numbers(history):
    answer = as_api_dict(window_metrics(team=history["payments"], start=START, end=END))
    assert without_freshness(answer) == PAYMENTS


def test_organization_window_matches_hand_computed_numbers(history):
    answer = as_api_dict(window_metrics(team=None, start=START, end=END))
    assert without_freshness(answer) == ORGANIZATION


def test_boundaries_are_exact_to_the_second(history):
    payments = history["payments"]
    # One day earlier takes in the release at 03-01 23:59:59.999999 and the incident of 02-27.
    wider = window_metrics(team=payments, start=dt.date(2026, 3, 1), end=END)
    assert wider.deployments == 7
    # One day later takes in the release and the incident at 03-16 00:00:00, and I7's
    # resolution at 00:00:01 is now before the end.
    later = window_metrics(team=payments, start=START, end=dt.date(2026, 3, 17))
    assert later.deployments == 7
    assert later.incidents == 7
    assert later.open_incidents == 2


def test_empty_window_is_null_not_zero():
    team = TeamFactory()
    answer = as_api_dict(window_metrics(team=team, start=START, end=END))
    empty = {"median": None, "mean": None, "p90": None, "n": 0}
    assert answer["deployments"] == 0
    assert answer["change_failure_rate"] is None
    assert answer["rework_rate"] is None
    assert answer["deployment_frequency_per_week"] == 0.0
    assert answer["time_to_restore_seconds"] == empty
    assert answer["failed_deployment_recovery_seconds"] == empty
    assert answer["lead_time_seconds"] == empty
    assert answer["bus_factor"] is None
    assert set(answer["levels"].values()) == {"not_enough_data"}


def test_open_incidents_are_counted_not_sampled():
    team = TeamFactory()
    IncidentFactory(team=team, started_at=at(3, 9))  # open
    IncidentFactory(team=team, started_at=at(3, 10), resolved_at=at(3, 11))
    answer = window_metrics(team=team, start=START, end=END)
    assert answer.open_incidents == 1
    assert answer.incidents == 2
    assert answer.time_to_restore.n == 1
    assert answer.time_to_restore.median == 3600.0


def test_levels_reach_elite_with_enough_samples():
    team = TeamFactory()
    for day in range(2, 16):  # 14 days, one release a day and one more on each of 7 days
        ReleaseFactory(team=team, deployed_at=at(day, 9), first_commit_at=at(day, 8))
        if day % 2:
            ReleaseFactory(team=team, deployed_at=at(day, 10), first_commit_at=at(day, 9))
    for day in range(2, 7):
        IncidentFactory(team=team, started_at=at(day, 12), resolved_at=at(day, 12, 30))
    answer = window_metrics(team=team, start=START, end=END)
    assert answer.deployments == 21
    assert answer.deployment_frequency_per_week == 10.5
    assert answer.levels == {
        "deployment_frequency": "elite",
        "lead_time": "elite",
        "change_failure_rate": "elite",
        "time_to_restore": "elite",
    }


def test_dst_week_in_berlin(settings):
    """The ISO week of 2026-03-23 in Europe/Berlin lasts 167 hours (clocks go forward on
    Sunday 03-29 at 02:00): Monday 00:00 CET is 03-22 23:00 UTC, the next Monday 00:00 CEST
    is 03-29 22:00 UTC."""
    settings.EXECDASH_TIME_ZONE = "Europe/Berlin"
    team = TeamFactory()
    utc = dt.UTC
    moments = [
        dt.datetime(2026, 3, 22, 22, 59, 59, tzinfo=utc),  # Sunday 23:59:59 CET: week before
        dt.datetime(2026, 3, 22, 23, 0, 0, tzinfo=utc),  # Monday 00:00 CET: in
        dt.datetime(2026, 3, 29, 21, 59, 59, tzinfo=utc),  # Sunday 23:59:59 CEST: in
        dt.datetime(2026, 3, 29, 22, 0, 0, tzinfo=utc),  # Monday 00:00 CEST: week after
    ]
    for moment in moments:
        ReleaseFactory(team=team, deployed_at=moment)
    # 01:30 CET to 03:30 CEST on the night of the change is one hour, not two.
    IncidentFactory(
        team=team,
        started_at=dt.datetime(2026, 3, 29, 0, 30, tzinfo=utc),
        resolved_at=dt.datetime(2026, 3, 29, 1, 30, tzinfo=utc),
    )
    answer = window_metrics(team=team, start=dt.date(2026, 3, 23), end=dt.date(2026, 3, 30))
    assert answer.deployments == 2
    assert answer.deployment_frequency_per_week == 2.0
    assert answer.time_to_restore.median == 3600.0
    assert answer.incidents == 1


def test_window_metrics_for_teams_in_constant_queries(history):
    teams = [history["payments"], history["search"], *TeamFactory.create_batch(5)]
    versions_bump(scopes=[team.id for team in teams])
    with CaptureQueriesContext(connection) as first:
        answers = window_metrics_for_teams(teams=teams, start=START, end=END)
    assert len(first.captured_queries) <= 6
    assert without_freshness(as_api_dict(answers[history["payments"].id])) == PAYMENTS
    assert answers[history["search"].id].deployments == 1
    assert answers[teams[-1].id].deployments == 0
    with CaptureQueriesContext(connection) as cached:
        again = window_metrics_for_teams(teams=teams, start=START, end=END)
    assert len(cached.captured_queries) == 1
    assert again[history["payments"].id] == answers[history["payments"].id]

    more = [*teams, *TeamFactory.create_batch(20)]
    versions_bump(scopes=[team.id for team in more])
    with CaptureQueriesContext(connection) as many:
        window_metrics_for_teams(teams=more, start=START, end=END)
    assert len(many.captured_queries) == len(first.captured_queries)


def test_answers_are_cached_until_the_scope_is_recomputed(history):
    payments = history["payments"]
    versions_bump(scopes=[payments.id])
    first = window_metrics(team=payments, start=START, end=END)
    assert WindowSnapshot.objects.filter(scope=payments.id).count() == 1
    ReleaseFactory(team=payments, deployed_at=at(11, 9))
    # Not recomputed yet: the cached answer, with the time it was computed.
    stale = window_metrics(team=payments, start=START, end=END)
    assert stale.deployments == 6
    assert stale.computed_at == first.computed_at
    versions_bump(scopes=[payments.id])
    fresh = window_metrics(team=payments, start=START, end=END)
    assert fresh.deployments == 7
    assert fresh.computed_at >= first.computed_at
    assert ScopeVersion.objects.get(scope=payments.id).version == 2


def test_never_recomputed_scope_is_answered_but_not_cached(history):
    window_metrics(team=history["payments"], start=START, end=END)
    assert not WindowSnapshot.objects.exists()


def test_api_metrics_has_the_weeks_of_the_window(history):
    answer = api_metrics(team=history["payments"], start=START, end=END)
    assert without_freshness(answer) == PAYMENTS
    assert [week["week_start"] for week in answer["weeks"]] == ["2026-03-02", "2026-03-09"]
    assert set(answer["weeks"][0]) == {"week_start", "computed_at"} | (
        set(PAYMENTS) - {"team", "start", "end"}
    )


def test_window_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="ends before"):
        window_metrics(team=None, start=END, end=START)


def test_worker_prewarms_preset_windows(history, settings):
    from django.core.cache import cache

    from apps.metrics.models import ORG_SCOPE
    from apps.metrics.selectors import PRESET_WEEKS, preset_window
    from apps.metrics.services import windows_prewarm

    cache.clear()
    payments = history["payments"]
    versions_bump(scopes=[payments.id, ORG_SCOPE])
    today = dt.date(2026, 3, 18)
    assert windows_prewarm(team_ids=[payments.id], today=today) == 8
    assert preset_window(4, today=today) == (dt.date(2026, 2, 23), dt.date(2026, 3, 19))
    cached = set(WindowSnapshot.objects.values_list("scope", "start", "end"))
    for weeks in PRESET_WEEKS:
        start, end = preset_window(weeks, today=today)
        assert {(payments.id, start, end), (ORG_SCOPE, start, end)} <= cached
    # The organization's windows are refreshed at most every few minutes.
    assert windows_prewarm(team_ids=[payments.id], today=today) == 4
    settings.EXECDASH_PREWARM_WINDOWS = False
    assert windows_prewarm(team_ids=[payments.id], today=today) == 0
