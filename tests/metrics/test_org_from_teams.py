"""The organization's weeks are added up from the teams' rollups, and equal the raw rows' answer.

Hand-computed week [2026-03-02, 2026-03-09), organization time zone UTC, three teams:

  alpha: releases with lead times 100, 200, 300 s (ann, bob, ann; service api), changes 1-3;
         incidents restored in 60 s and 180 s (resolved by bob and cat, api).
         Lead median 200 s; bus factor: ann 2, bob 2, cat 1 of 5 → ann + bob → 2.
  beta:  one release, lead 1000 s (bob, web), changes 4, named by incident B1;
         B1 restored in 120 s (cat, web), recovery 13:02 - 12:00 = 3720 s; B2 restored in
         240 s (dan, web); B3 still open. Lead median 1000 s; bus factor: bob, cat, dan one
         each → 2.
  gamma: one failed release without a first commit (eve, batch), changes 5; no incidents.
         No samples at all; bus factor 1.

Organization: deployments 5, failed 2 (beta's, named by B1; gamma's by status), rework 0,
changes 15, incidents 5, open 1.
  lead time [100, 200, 300, 1000] (even n): median 250 (not the 600 of averaging the teams'
  medians), mean 400, p90 300 + 0.7 * 700 = 790;
  time to restore [60, 120, 180, 240]: median 150, mean 150, p90 180 + 0.7 * 60 = 222;
  recovery [3720]; bus factor 1 (gamma's, the lowest over every team's services).
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from apps.core.timezones import org_tz, week_start_of, weeks_between
from apps.incidents.models import Incident
from apps.metrics import compute, rollups
from apps.metrics.models import ORG_SCOPE, WeeklyRollup
from apps.metrics.rollups import (
    rollups_process_dirty,
    rollups_recompute,
    rollups_recompute_all,
    rollups_recompute_org,
)
from apps.metrics.selectors import window_metrics
from apps.metrics.services import buckets_mark_dirty
from tests.factories import IncidentFactory, ReleaseFactory, TeamFactory
from tests.metrics import reference
from tests.metrics.answers import as_api_dict, rollup_as_api_dict
from tests.metrics.handmade import at
from tests.metrics.test_property import BASE, incident_st, load, release_st

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 3, 2)
MICROS = 1_000_000


def week_dict(row: WeeklyRollup) -> dict:
    data = rollup_as_api_dict(row)
    del data["week_start"], data["computed_at"]
    return data


def exact_week(week: dt.date) -> dict:
    data = as_api_dict(window_metrics(team=None, start=week, end=week + dt.timedelta(days=7)))
    for name in ("team", "start", "end", "computed_at"):
        del data[name]
    return data


@pytest.fixture
def three_teams():
    alpha = TeamFactory(slug="alpha")
    beta = TeamFactory(slug="beta")
    gamma = TeamFactory(slug="gamma")

    def release(team, deployed, lead, by, service, changes, status="succeeded"):
        return ReleaseFactory(
            team=team,
            deployed_at=deployed,
            first_commit_at=None if lead is None else deployed - dt.timedelta(seconds=lead),
            deployed_by=by,
            service=service,
            change_count=changes,
            status=status,
        )

    def incident(team, started, seconds, by, service, caused_by=None):
        return IncidentFactory(
            team=team,
            started_at=started,
            resolved_at=None if seconds is None else started + dt.timedelta(seconds=seconds),
            resolved_by=by,
            service=service,
            cause=Incident.Cause.RELEASE if caused_by else Incident.Cause.UNKNOWN,
            caused_by=caused_by,
        )

    release(alpha, at(2, 10), 100, "ann", "api", 1)
    release(alpha, at(2, 11), 200, "bob", "api", 2)
    release(alpha, at(2, 12), 300, "ann", "api", 3)
    incident(alpha, at(3, 10), 60, "bob", "api")
    incident(alpha, at(4, 10), 180, "cat", "api")
    b1 = release(beta, at(3, 12), 1000, "bob", "web", 4)
    incident(beta, at(3, 13), 120, "cat", "web", caused_by=b1)
    incident(beta, at(5, 9), 240, "dan", "web")
    incident(beta, at(6, 9), None, "", "web")
    release(gamma, at(4, 8), None, "eve", "batch", 5, status="failed")
    return alpha, beta, gamma


def no_raw_reads():
    """Fail if an organization week is read from the raw rows instead of the teams' rows."""
    return mock.patch.object(
        rollups, "_org_weeks_from_raw_rows", side_effect=AssertionError("read raw rows")
    )


def test_worker_adds_up_the_organization_week_from_the_teams(three_teams):
    alpha, beta, gamma = three_teams
    for team in three_teams:
        buckets_mark_dirty(team_id=team.id, weeks=[WEEK])
    with no_raw_reads():
        assert rollups_process_dirty() == 3
    org = WeeklyRollup.objects.get(scope=ORG_SCOPE, week_start=WEEK)
    assert (
        org.deployments,
        org.failed_deployments,
        org.rework_deployments,
        org.change_count,
        org.incidents,
        org.open_incidents,
    ) == (5, 2, 0, 15, 5, 1)
    assert (org.lead_n, org.lead_median, org.lead_mean, org.lead_p90) == (4, 250.0, 400.0, 790.0)
    assert (org.ttr_n, org.ttr_median, org.ttr_mean, org.ttr_p90) == (4, 150.0, 150.0, 222.0)
    assert (org.fdrt_n, org.fdrt_median, org.fdrt_mean, org.fdrt_p90) == (1, 3720.0, 3720.0, 3720.0)
    assert org.bus_factor == 1
    # The teams' rows keep their samples (sorted µs); the organization's row keeps none.
    teams = {row.scope: row for row in WeeklyRollup.objects.filter(week_start=WEEK)}
    assert teams[alpha.id].lead_samples == [100 * MICROS, 200 * MICROS, 300 * MICROS]
    assert teams[alpha.id].ttr_samples == [60 * MICROS, 180 * MICROS]
    assert teams[beta.id].fdrt_samples == [3720 * MICROS]
    assert (teams[gamma.id].lead_samples, teams[gamma.id].ttr_samples) == ([], [])
    assert teams[gamma.id].fdrt_samples == []
    assert (teams[alpha.id].lead_median, teams[beta.id].lead_median) == (200.0, 1000.0)
    assert [teams[t.id].bus_factor for t in three_teams] == [2, 2, 1]
    assert org.lead_samples is None
    # The same week, exactly, from every raw row.
    assert week_dict(org) == exact_week(WEEK)


def test_full_recompute_adds_up_the_same_organization_week(three_teams):
    for team in three_teams:
        rollups_recompute(team_id=team.id, weeks=[WEEK])
    incremental = week_dict(WeeklyRollup.objects.get(scope=ORG_SCOPE, week_start=WEEK))
    WeeklyRollup.objects.all().delete()
    with no_raw_reads():
        rollups_recompute_all()
    full = WeeklyRollup.objects.get(scope=ORG_SCOPE, week_start=WEEK)
    assert week_dict(full) == incremental == exact_week(WEEK)
    # One team's full recompute re-derives the organization from every team's rows.
    with no_raw_reads():
        rollups_recompute_all(team=three_teams[0])
    assert week_dict(WeeklyRollup.objects.get(scope=ORG_SCOPE, week_start=WEEK)) == incremental


def test_a_team_row_without_samples_makes_the_week_read_raw_rows(three_teams):
    """Rows written before samples were kept (NULL): that week is computed from raw rows."""
    alpha = three_teams[0]
    for team in three_teams:
        rollups_recompute(team_id=team.id, weeks=[WEEK])
    expected = exact_week(WEEK)
    WeeklyRollup.objects.filter(scope=alpha.id).update(ttr_samples=None)
    WeeklyRollup.objects.filter(scope=ORG_SCOPE).delete()
    raw = rollups._org_weeks_from_raw_rows
    with mock.patch.object(rollups, "_org_weeks_from_raw_rows", side_effect=raw) as spy:
        rollups_recompute_org(weeks=[WEEK, WEEK + dt.timedelta(days=7)])
    spy.assert_called_once()
    assert spy.call_args.args[0] == [WEEK]  # the next week's rows all have samples
    assert week_dict(WeeklyRollup.objects.get(scope=ORG_SCOPE, week_start=WEEK)) == expected


def test_derived_and_raw_organization_weeks_agree_on_the_handmade_history():
    from tests.metrics import handmade

    history = handmade.build()
    weeks = weeks_between(dt.date(2026, 2, 16), dt.date(2026, 3, 16))
    for key in ("payments", "search"):
        rollups_recompute(team_id=history[key].id, weeks=weeks)
    derived = rollups._org_weeks(weeks)
    raw = {
        week: compute.Partial(open_incidents=p.open_incidents, bus_factor=p.bus_factor)
        for week, p in derived.items()
    }
    rollups._org_weeks_from_raw_rows(weeks, raw)
    assert derived == raw


@hsettings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.fixed_dictionaries(
        {
            "releases": st.lists(release_st, max_size=25),
            "incidents": st.lists(incident_st, max_size=20),
            "tz": st.sampled_from(["UTC", "Europe/Berlin", "America/New_York"]),
        }
    )
)
def test_organization_weeks_from_team_rows_equal_the_raw_rows(settings, data):
    """Random histories: each team's weeks recomputed the worker's way, then every
    organization week (added up from the teams' rows) equals the one read from raw rows
    and the pure-Python reading of METRICS.md."""
    settings.EXECDASH_TIME_ZONE = data["tz"]
    tz = org_tz()
    weeks = weeks_between(
        week_start_of(BASE - dt.timedelta(days=1), tz),
        week_start_of(BASE + dt.timedelta(days=32), tz),
    )
    with transaction.atomic():
        teams, releases, incidents = load(data)
        for r in releases:
            r.refresh_from_db()
        for team in teams:
            rollups_recompute(team_id=team.id, weeks=weeks)
        derived = rollups._org_weeks(weeks)
        raw = {
            week: compute.Partial(open_incidents=p.open_incidents, bus_factor=p.bus_factor)
            for week, p in derived.items()
        }
        rollups._org_weeks_from_raw_rows(weeks, raw)
        assert derived == raw
        for row in WeeklyRollup.objects.filter(scope=ORG_SCOPE):
            expected = reference.window(
                releases=releases,
                incidents=incidents,
                team_ids=None,
                start=row.week_start,
                end=row.week_start + dt.timedelta(days=7),
                tz=tz,
            )
            del expected["start"], expected["end"]
            assert week_dict(row) == expected, row.week_start
        transaction.set_rollback(True)
