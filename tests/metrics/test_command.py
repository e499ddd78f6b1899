"""`manage.py recompute_metrics`."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from apps.metrics.models import ORG_SCOPE, DirtyBucket, RecomputeRun, WeeklyRollup
from apps.metrics.rollup_rows import versions_bump
from apps.metrics.selectors import window_metrics
from apps.metrics.services import buckets_mark_dirty
from tests.factories import ReleaseFactory
from tests.metrics import handmade
from tests.metrics.handmade import END, START, at

pytestmark = pytest.mark.django_db


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("recompute_metrics", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_recomputes_everything_with_progress_and_summary():
    history = handmade.build()
    buckets_mark_dirty(team_id=history["payments"].id, weeks=[START])
    out, _err = run()
    assert "Recomputed" in out
    assert "all teams and the organization" in out
    assert WeeklyRollup.objects.filter(scope=history["payments"].id, week_start=START).exists()
    assert WeeklyRollup.objects.filter(scope=ORG_SCOPE, week_start=START).exists()
    assert not DirtyBucket.objects.exists()
    assert RecomputeRun.objects.get().trigger == "command"


def test_after_it_returns_every_answer_reflects_committed_data():
    history = handmade.build()
    payments = history["payments"]
    versions_bump(scopes=[payments.id])
    assert window_metrics(team=payments, start=START, end=END).deployments == 6  # now cached
    ReleaseFactory(team=payments, deployed_at=at(11, 9))  # written behind the worker's back
    assert window_metrics(team=payments, start=START, end=END).deployments == 6
    run("--team", "payments")
    assert window_metrics(team=payments, start=START, end=END).deployments == 7
    assert window_metrics(team=None, start=START, end=END).deployments == 8


def test_one_team_since_a_date():
    history = handmade.build()
    out, _err = run("--team", "search", "--since", "2026-03-09")
    assert "team search" in out
    assert "from 2026-03-09" in out
    assert set(WeeklyRollup.objects.values_list("scope", flat=True)) == {
        history["search"].id,
        ORG_SCOPE,
    }
    assert WeeklyRollup.objects.filter(week_start__lt="2026-03-09").count() == 0


def test_unknown_team_is_a_clear_error():
    handmade.build()
    with pytest.raises(CommandError, match=r"No team with slug 'nope'.*payments"):
        run("--team", "nope")


def test_bad_date_is_a_clear_error():
    with pytest.raises(CommandError, match="not a date: use YYYY-MM-DD"):
        run("--since", "03/09/2026")
