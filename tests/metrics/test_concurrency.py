"""Two recomputes at once (PostgreSQL, real transactions): no error, the right rows."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connections

from apps.metrics.models import ORG_SCOPE, DirtyBucket, WeeklyRollup
from apps.metrics.rollups import rollups_process_dirty, rollups_recompute, rollups_recompute_all
from apps.metrics.selectors import window_metrics
from apps.metrics.services import buckets_mark_dirty
from tests.factories import ReleaseFactory
from tests.metrics import handmade
from tests.metrics.handmade import at
from tests.metrics.test_rollups import WEEK1, WEEK2, rows

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(*targets):
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(targets))

    def wrap(target):
        try:
            barrier.wait()
            target()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors


def test_two_workers_recompute_the_same_weeks():
    history = handmade.build()
    payments, search = history["payments"], history["search"]
    rollups_recompute_all()
    expected = rows()
    WeeklyRollup.objects.all().delete()
    for _ in range(3):
        run_together(
            lambda: rollups_recompute(team_id=payments.id, weeks=[WEEK1, WEEK2]),
            lambda: rollups_recompute(team_id=payments.id, weeks=[WEEK2, WEEK1]),
            lambda: rollups_recompute(team_id=search.id, weeks=[WEEK2]),
        )
    got = rows()
    assert got == [
        r
        for r in expected
        if (r["scope"], r["week_start"]) in {(g["scope"], g["week_start"]) for g in got}
    ]
    assert {(r["scope"], r["week_start"]) for r in got} >= {(payments.id, WEEK1), (0, WEEK2)}


def test_two_sweeps_and_a_full_recompute_at_once():
    history = handmade.build()
    payments, search = history["payments"], history["search"]
    buckets_mark_dirty(team_id=payments.id, weeks=[WEEK1, WEEK2])
    buckets_mark_dirty(team_id=search.id, weeks=[WEEK2])
    run_together(rollups_process_dirty, rollups_process_dirty, rollups_recompute_all)
    assert not DirtyBucket.objects.exists()
    after = rows()
    rollups_recompute_all()
    assert rows() == after


def test_two_workers_on_two_teams_of_one_week_leave_the_organization_week_complete():
    """Each worker adds up the organization's week after writing its own team's row; the
    second waits for the first to commit, so it sees both teams' new rows."""
    history = handmade.build()
    payments, search = history["payments"], history["search"]
    rollups_recompute_all()
    for i in range(3):
        for team in (payments, search):
            ReleaseFactory(
                team=team,
                deployed_at=at(11, 8, i),
                first_commit_at=at(10, 8, i),
                deployed_by="zed",
            )
        run_together(
            lambda: rollups_recompute(team_id=payments.id, weeks=[WEEK2]),
            lambda: rollups_recompute(team_id=search.id, weeks=[WEEK2]),
        )
        org = WeeklyRollup.objects.get(scope=ORG_SCOPE, week_start=WEEK2)
        assert org.deployments == 3 + 2 * (i + 1)
        exact = window_metrics(team=None, start=WEEK2, end=WEEK2 + dt.timedelta(days=7))
        assert org.lead_n == exact.lead_time.n
        assert org.lead_median == exact.lead_time.median
