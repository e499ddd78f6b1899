"""Weekly rollups: the worker's incremental path, the full recompute, idempotence."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core.cache import cache

from apps.incidents.services import incident_create, incident_resolve
from apps.metrics import rollups
from apps.metrics.models import ORG_SCOPE, DirtyBucket, RecomputeRun, WeeklyRollup
from apps.metrics.rollups import (
    rollups_process_dirty,
    rollups_recheck_recent,
    rollups_recompute,
    rollups_recompute_all,
)
from apps.metrics.selectors import weekly_series, window_metrics
from apps.metrics.services import buckets_mark_dirty
from apps.metrics.tasks import process_dirty_buckets
from apps.releases.services import release_create, release_update
from tests.factories import IncidentFactory, ReleaseFactory, TeamFactory
from tests.metrics import handmade
from tests.metrics.answers import as_api_dict, rollup_as_api_dict
from tests.metrics.handmade import at

pytestmark = pytest.mark.django_db

WEEK1, WEEK2 = dt.date(2026, 3, 2), dt.date(2026, 3, 9)


def rows(scope=None):
    qs = WeeklyRollup.objects.order_by("scope", "week_start")
    if scope is not None:
        qs = qs.filter(scope=scope)
    return [{k: v for k, v in row.items() if k not in ("id", "computed_at")} for row in qs.values()]


def as_week_dict(answer):
    data = as_api_dict(answer)
    for name in ("team", "start", "end", "computed_at"):
        del data[name]
    return data


def week_dict(row):
    data = rollup_as_api_dict(row)
    del data["week_start"], data["computed_at"]
    return data


@pytest.fixture
def history():
    return handmade.build()


def test_each_weekly_row_equals_the_exact_one_week_window(history):
    rollups_recompute_all()
    payments = history["payments"]
    for week in (WEEK1, WEEK2):
        row = WeeklyRollup.objects.get(scope=payments.id, week_start=week)
        exact = window_metrics(team=payments, start=week, end=week + dt.timedelta(days=7))
        assert week_dict(row) == as_week_dict(exact)
        org = WeeklyRollup.objects.get(scope=ORG_SCOPE, week_start=week)
        exact_org = window_metrics(team=None, start=week, end=week + dt.timedelta(days=7))
        assert week_dict(org) == as_week_dict(exact_org)


def test_hand_computed_weeks(history):
    rollups_recompute_all()
    payments = history["payments"]
    week1 = WeeklyRollup.objects.get(scope=payments.id, week_start=WEEK1)
    week2 = WeeklyRollup.objects.get(scope=payments.id, week_start=WEEK2)
    # Week 1: R1-R4 (R2 failed, R4 rolled back and linked); I3, I4; I6 open throughout.
    assert (week1.deployments, week1.failed_deployments, week1.change_count) == (4, 2, 10)
    assert (week1.ttr_n, week1.ttr_median, week1.ttr_mean) == (2, 43200.25, 43200.25)
    assert (week1.fdrt_n, week1.fdrt_median) == (1, 93600.0)
    assert (week1.lead_n, week1.lead_median) == (2, 46800.0)
    assert week1.open_incidents == 2  # I6, and I9 (resolved on 03-10)
    # Week 2: R5 (caused I1 and I2: one failed release), R6 (rework); I1, I2, I5, I7.
    assert (week2.deployments, week2.failed_deployments, week2.rework_deployments) == (2, 1, 1)
    assert (week2.incidents, week2.ttr_n, week2.ttr_median) == (4, 3, 3600.0)
    assert week2.open_incidents == 3  # I5, I6, I7 (resolved after the week ended)
    assert week2.bus_factor == 1  # api: ann alone (R6); web: cat, ann, dan → 2


def test_incremental_recompute_equals_full_recompute(history):
    payments, search = history["payments"], history["search"]
    weeks = [WEEK1 - dt.timedelta(days=7), WEEK1, WEEK2, WEEK2 + dt.timedelta(days=7)]
    scopes = [payments.id, search.id, ORG_SCOPE]

    def series():
        found = weekly_series(scopes=scopes, start=weeks[0], end=weeks[-1] + dt.timedelta(7))
        return {scope: [week_dict(row) for row in found[scope]] for scope in scopes}

    rollups_recompute(team_id=payments.id, weeks=weeks)
    rollups_recompute(team_id=search.id, weeks=weeks)
    incremental = series()
    WeeklyRollup.objects.all().delete()
    rollups_recompute_all()
    assert series() == incremental


def test_recompute_is_idempotent(history):
    payments = history["payments"]
    rollups_recompute(team_id=payments.id, weeks=[WEEK1, WEEK2])
    first = rows()
    rollups_recompute(team_id=payments.id, weeks=[WEEK2, WEEK1])
    assert rows() == first
    rollups_recompute_all()
    once = rows()
    rollups_recompute_all()
    assert rows() == once


def test_process_dirty_buckets_after_incident_create_eager(
    settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    team = TeamFactory()
    started = dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True):
        incident_create(
            team=team,
            title="Checkout down",
            started_at=started,
            resolved_at=started + dt.timedelta(minutes=45),
        )
    row = WeeklyRollup.objects.get(scope=team.id, week_start=WEEK1)
    assert (row.incidents, row.ttr_n, row.ttr_median) == (1, 1, 2700.0)
    org = WeeklyRollup.objects.get(scope=ORG_SCOPE, week_start=WEEK1)
    assert org.incidents == 1
    assert not DirtyBucket.objects.exists()
    assert RecomputeRun.objects.get().buckets == 1


def test_open_incident_counts_in_every_week_until_resolved(
    settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    team = TeamFactory()
    with django_capture_on_commit_callbacks(execute=True):
        incident = incident_create(team=team, title="Slow", started_at=at(4, 9))
    with django_capture_on_commit_callbacks(execute=True):
        incident_resolve(incident=incident, resolved_at=at(18, 9))
    series = weekly_series(scopes=[team.id], start=WEEK1, end=dt.date(2026, 3, 30))[team.id]
    assert [w.open_incidents for w in series] == [1, 1, 0, 0]
    assert [w.incidents for w in series] == [1, 0, 0, 0]


def test_burst_of_writes_is_one_recompute(settings, django_capture_on_commit_callbacks):
    """1,000 incidents posted for one team: one task enqueued, one run, a few buckets."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    cache.clear()
    team = TeamFactory()
    with (
        mock.patch.object(process_dirty_buckets, "apply_async") as enqueue,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        for i in range(1000):
            started = at(2, 0) + dt.timedelta(minutes=17 * i)  # 11.8 days: two weeks
            incident_create(
                team=team,
                title=f"#{i}",
                started_at=started,
                resolved_at=started + dt.timedelta(minutes=5),
            )
    assert len(callbacks) == 1000
    assert enqueue.call_count == 1
    assert DirtyBucket.objects.filter(team=team).count() == 2
    process_dirty_buckets.run()
    assert RecomputeRun.objects.count() == 1
    assert RecomputeRun.objects.get().buckets == 2
    assert sum(r["incidents"] for r in rows(team.id)) == 1000
    assert not DirtyBucket.objects.exists()


def test_burst_then_sweep_through_process_dirty(settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    team = TeamFactory()
    with mock.patch("apps.metrics.services.recompute_schedule"):
        for i in range(200):
            release_create(
                team=team,
                service="api",
                version=f"1.{i}",
                deployed_at=at(2) + dt.timedelta(hours=i),
            )
    assert rollups_process_dirty() == 2
    assert rollups_process_dirty() == 0
    assert RecomputeRun.objects.count() == 1
    assert sum(r["deployments"] for r in rows(team.id)) == 200


def test_crash_half_way_leaves_buckets_dirty_and_a_rerun_repairs(history):
    payments, search = history["payments"], history["search"]
    buckets_mark_dirty(team_id=payments.id, weeks=[WEEK1, WEEK2])
    buckets_mark_dirty(team_id=search.id, weeks=[WEEK2])
    real = rollups._team_weeks
    calls = []

    def crashing(team_id, weeks):
        calls.append(team_id)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(team_id, weeks)

    with (
        mock.patch.object(rollups, "_team_weeks", side_effect=crashing),
        pytest.raises(RuntimeError),
    ):
        rollups_process_dirty()
    assert DirtyBucket.objects.count() == 3
    assert rollups_process_dirty() == 3
    assert not DirtyBucket.objects.exists()
    repaired = rows()
    rollups_recompute_all()
    assert [r for r in rows() if r["week_start"] in (WEEK1, WEEK2)] == [
        r for r in repaired if r["week_start"] in (WEEK1, WEEK2)
    ]


def test_bucket_re_marked_during_recompute_stays_dirty(history):
    payments = history["payments"]
    buckets_mark_dirty(team_id=payments.id, weeks=[WEEK1])
    real = rollups._team_weeks

    def meanwhile(team_id, weeks):
        out = real(team_id, weeks)
        DirtyBucket.objects.filter(team_id=team_id).update(
            marked_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        )
        return out

    with mock.patch.object(rollups, "_team_weeks", side_effect=meanwhile):
        rollups_process_dirty()
    assert DirtyBucket.objects.filter(team=payments, week_start=WEEK1).exists()


def test_moving_a_release_re_marks_the_weeks_of_incidents_it_caused(
    django_capture_on_commit_callbacks, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    team = TeamFactory()
    with django_capture_on_commit_callbacks(execute=True):
        release = release_create(team=team, service="api", version="1", deployed_at=at(6, 9))
        incident_create(
            team=team, title="x", started_at=at(10, 9), resolved_at=at(10, 10), caused_by=release
        )
    assert WeeklyRollup.objects.get(scope=team.id, week_start=WEEK2).fdrt_median == 4 * 86400 + 3600
    with django_capture_on_commit_callbacks(execute=True):
        release_update(release=release, deployed_at=at(5, 9))
    row = WeeklyRollup.objects.get(scope=team.id, week_start=WEEK2)
    assert row.fdrt_median == 5 * 86400 + 3600


def test_full_recompute_removes_weeks_without_data_and_clears_buckets(history):
    payments = history["payments"]
    WeeklyRollup.objects.create(
        scope=payments.id,
        team=payments,
        week_start=dt.date(2020, 1, 6),
        deployments=9,
        computed_at=at(1),
    )
    buckets_mark_dirty(team_id=payments.id, weeks=[WEEK1])
    rollups_recompute_all(team=payments)
    assert not WeeklyRollup.objects.filter(week_start=dt.date(2020, 1, 6)).exists()
    assert not DirtyBucket.objects.exists()
    assert WeeklyRollup.objects.filter(scope=ORG_SCOPE, week_start=WEEK1).exists()


def test_full_recompute_since_keeps_open_incidents_from_before(history):
    rollups_recompute_all()
    everything = rows()
    rollups_recompute_all(since=dt.date(2026, 3, 11))  # a Wednesday: from its Monday on
    assert rows() == everything


def test_dst_weeks_in_berlin(settings):
    settings.EXECDASH_TIME_ZONE = "Europe/Berlin"
    team = TeamFactory()
    utc = dt.UTC
    for moment in (
        dt.datetime(2026, 3, 22, 22, 59, 59, tzinfo=utc),
        dt.datetime(2026, 3, 22, 23, 0, 0, tzinfo=utc),
        dt.datetime(2026, 3, 29, 21, 59, 59, tzinfo=utc),
        dt.datetime(2026, 3, 29, 22, 0, 0, tzinfo=utc),
    ):
        ReleaseFactory(team=team, deployed_at=moment)
    IncidentFactory(team=team, started_at=dt.datetime(2026, 3, 29, 21, 30, tzinfo=utc))
    weeks = [dt.date(2026, 3, 16), dt.date(2026, 3, 23), dt.date(2026, 3, 30)]
    rollups_recompute(team_id=team.id, weeks=weeks)
    incremental = rows(team.id)
    assert [(r["week_start"], r["deployments"], r["open_incidents"]) for r in incremental] == [
        (weeks[0], 1, 0),
        (weeks[1], 2, 1),
        (weeks[2], 1, 1),
    ]
    rollups_recompute_all(team=team)
    assert [r for r in rows(team.id) if r["week_start"] in weeks] == incremental


def test_recheck_recent_recomputes_the_last_eight_weeks():
    team = TeamFactory()
    ReleaseFactory(team=team, deployed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=10))
    ReleaseFactory(team=team, deployed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=200))
    rollups_recheck_recent()
    assert sum(r["deployments"] for r in rows(team.id)) == 1
    today = dt.datetime.now(dt.UTC).date()
    since = today - dt.timedelta(days=today.weekday() + 7 * 7)
    assert all(r["week_start"] >= since for r in rows(team.id))
    assert RecomputeRun.objects.get().trigger == "recheck"


def test_one_week_at_a_time_equals_full_recompute(history):
    """A single dirty week is read without grouping by week: same rows as grouped reads."""
    payments, search = history["payments"], history["search"]
    scopes = [payments.id, search.id, ORG_SCOPE]

    def series():
        found = weekly_series(scopes=scopes, start=WEEK1, end=WEEK2 + dt.timedelta(days=7))
        return {scope: [week_dict(row) for row in found[scope]] for scope in scopes}

    rollups_recompute_all()
    full = series()
    WeeklyRollup.objects.all().delete()
    for week in (WEEK1, WEEK2):
        rollups_recompute(team_id=search.id, weeks=[week])
        rollups_recompute(team_id=payments.id, weeks=[week])
    assert series() == full


@pytest.mark.django_db(transaction=True)
def test_an_in_process_recompute_that_fails_leaves_the_write_and_its_buckets(
    settings, monkeypatch, caplog
):
    """No broker: the recompute runs in the writer's request after the commit. The database
    going away in the middle of it must not turn the stored write into an error."""
    from django.db import OperationalError

    import apps.metrics.tasks as tasks

    settings.CELERY_TASK_ALWAYS_EAGER = True
    team = TeamFactory()

    def gone(**_kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tasks, "rollups_process_dirty", gone)
    release = release_create(team=team, service="api", version="1.0", deployed_at=at(2))
    assert release.pk is not None
    assert DirtyBucket.objects.filter(team=team).exists()  # left for the next run
    assert "the in-process recompute failed" in caplog.text
    monkeypatch.undo()
    assert rollups_process_dirty() == 1
