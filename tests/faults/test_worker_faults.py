"""The worker under faults: killed outright (SIGKILL) in the middle of a recompute ten times
in a row, and two workers with two beats at once. Either way the rollups end equal to a
from-scratch recompute, with no duplicate rows: every task is idempotent, acknowledged late,
and the dirty buckets stay until the transaction that recomputed them commits.

The workers and beats use the test run's Redis (its own database number): nothing here stops
a shared service.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket, RecomputeRun, WeeklyRollup
from apps.metrics.services import buckets_mark_dirty, weeks_spanning
from apps.releases.models import Release
from apps.teams.models import Team
from tests.factories import TeamFactory
from tests.faults.conftest import seed_history
from tests.faults.stack import app_env, beat, kill, processes, rollup_differences, settle, tail
from tests.faults.stack import worker as start_worker
from tests.integration.conftest import stop

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def bulk_history(teams: list[Team], *, per_team: int, tag: str) -> None:
    """Many rows at once (no services: this is volume for the recompute to chew on), every
    week they touch marked dirty."""
    now = timezone.now()
    releases, incidents = [], []
    for team in teams:
        for n in range(per_team):
            deployed = now - dt.timedelta(days=n % 300, minutes=n)
            releases.append(
                Release(
                    team=team,
                    service=f"svc-{n % 5}",
                    version=f"{tag}-{team.id}-{n}",
                    deployed_at=deployed,
                    first_commit_at=deployed - dt.timedelta(hours=1 + n % 30),
                    change_count=n % 9,
                    status=Release.Status.FAILED if n % 11 == 0 else Release.Status.SUCCEEDED,
                )
            )
            incidents.append(
                Incident(
                    team=team,
                    title=f"{tag} {n}",
                    service=f"svc-{n % 5}",
                    started_at=deployed + dt.timedelta(minutes=5),
                    resolved_at=deployed + dt.timedelta(minutes=40 + n % 200) if n % 6 else None,
                    cause=Incident.Cause.NOT_DEPLOY,
                )
            )
    Release.objects.bulk_create(releases, batch_size=2000)
    Incident.objects.bulk_create(incidents, batch_size=2000)
    for team in teams:
        buckets_mark_dirty(team_id=team.id, weeks=weeks_spanning(now - dt.timedelta(days=301), now))


def says(log: Path, word: str) -> Callable[[], bool]:
    return lambda: word in tail(log, 50000)


def purge_broker() -> None:
    from django.core.cache import cache

    from execdash.celery import app

    app.control.purge()
    cache.clear()


def pool_children(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(word) for word in out.stdout.split()]


def recompute_running() -> bool:
    """Another connection to the test database holds a transaction open (the worker's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
        )
        row = cursor.fetchone()
    return bool(row and row[0])


def test_a_worker_killed_mid_recompute_ten_times_loses_nothing(tmp_path: Path) -> None:
    """The process running the recompute is SIGKILLed at random moments of it, nine times
    (its message goes back to the queue: acks_late and reject_on_worker_lost), the tenth
    time with the whole worker; a restarted worker and one sweep repair all."""
    from apps.metrics.tasks import process_dirty_buckets

    teams = [TeamFactory() for _ in range(4)]
    bulk_history(teams, per_team=1200, tag="base")
    purge_broker()
    env = app_env(settings.REDIS_URL)
    rng = random.Random(20261130)
    log = tmp_path / "worker.log"
    process = start_worker(env, log, pool="prefork", concurrency=1)
    mid_recompute = 0
    try:
        assert settle(says(log, "ready."), timeout=60), tail(log)
        # One recompute left alone says how long one takes here: the kills land within it.
        process_dirty_buckets.delay()
        assert settle(lambda: not DirtyBucket.objects.exists(), timeout=120), tail(log)
        first = RecomputeRun.objects.order_by("-id").first()
        assert first is not None
        assert first.finished_at is not None
        duration = (first.finished_at - first.started_at).total_seconds()
        for round_ in range(10):
            # Something new each round, so a lost recompute would show.
            with mock.patch("apps.metrics.services.recompute_schedule"):
                seed_history(teams[round_ % 4], count=3, prefix=f"round{round_}")
                for team in teams:
                    buckets_mark_dirty(team_id=team.id, weeks=weeks_spanning(year_ago(), None))
            # The worker idle first (the last run's pre-warming of windows done), so that the
            # transaction seen open next is this recompute's.
            assert settle(lambda: not recompute_running(), timeout=60), tail(log)
            # The shortest whole recompute seen so far bounds the moment to kill at.
            last = RecomputeRun.objects.order_by("-id").first()
            whole = last is not None and last.buckets >= first.buckets
            if whole and last is not None and last.finished_at is not None:
                duration = min(duration, (last.finished_at - last.started_at).total_seconds())
            runs = RecomputeRun.objects.count()
            process_dirty_buckets.delay()
            # Kill once the worker's recompute transaction is open, at a random moment of it.
            # A message lost to an earlier kill may be delivered again late and do this
            # round's work first (then nothing is left for ours, which ends at once): the
            # round's buckets all processed counts as started too, and the kill that follows
            # lands outside a recompute (not counted in `mid_recompute`).
            started = settle(
                lambda: recompute_running() or not DirtyBucket.objects.exists(),
                timeout=30,
                interval=0.02,
            )
            assert started, tail(log)
            time.sleep(rng.uniform(0.0, 0.7 * duration))
            if round_ == 9:
                # The last time, the whole worker, as a crashed machine would: its message
                # stays unacknowledged until the visibility timeout.
                kill(process)
            else:
                children = pool_children(process.pid)
                assert children, tail(log)
                for child in children:
                    os.kill(child, signal.SIGKILL)
            if DirtyBucket.objects.exists() and RecomputeRun.objects.count() == runs:
                mid_recompute += 1
            if round_ == 9:
                break
            # The pool starts a new process and the lost message is delivered again to it
            # (acks_late + reject_on_worker_lost): it finishes the work.
            settle(lambda: not DirtyBucket.objects.exists(), timeout=60)
        assert "WorkerLostError" in tail(log, 10**6), tail(log)
    finally:
        kill(process)
    assert mid_recompute >= 5, f"only {mid_recompute} of 10 kills landed in a recompute"

    # Restarted, the worker runs the sweep (beat's task, sent here by hand): it processes
    # whatever is dirty, whichever messages were lost.
    restarted = tmp_path / "worker-restarted.log"
    process = start_worker(env, restarted)
    try:
        assert settle(says(restarted, "ready."), timeout=60), tail(restarted)
        process_dirty_buckets.delay()
        assert settle(lambda: not DirtyBucket.objects.exists(), timeout=90), tail(restarted)
    finally:
        stop(process)
    assert rollup_differences() == []
    print(
        f"\nrecompute ({duration:.2f} s) killed 10 times ({mid_recompute} mid-recompute), "
        "the last time the whole worker: rollups exact after a restart"
    )


def year_ago() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=300)


def test_two_workers_and_two_beats_at_once(tmp_path: Path) -> None:
    teams = [TeamFactory() for _ in range(3)]
    bulk_history(teams, per_team=800, tag="base")
    purge_broker()
    env = app_env(
        settings.REDIS_URL, EXECDASH_SWEEP_SECONDS="1", EXECDASH_RECOMPUTE_DELAY_SECONDS="0.2"
    )
    with processes() as started:
        logs = {name: tmp_path / f"{name}.log" for name in ("w1", "w2", "b1", "b2")}
        started.append(start_worker(env, logs["w1"], pool="prefork", concurrency=2))
        started.append(start_worker(env, logs["w2"], pool="prefork", concurrency=2))
        started.append(beat(env, logs["b1"], tmp_path / "b1-schedule"))
        started.append(beat(env, logs["b2"], tmp_path / "b2-schedule"))
        assert settle(lambda: all("ready." in tail(logs[w]) for w in ("w1", "w2")), timeout=60)
        written = 0
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            # The writes schedule recomputes through the broker, as the web process does.
            seed_history(teams[written % 3], count=2, prefix=f"pair{written}")
            written += 1
        clean = settle(lambda: not DirtyBucket.objects.exists(), timeout=60)
        assert clean, "\n".join(tail(log) for log in logs.values())
        # Both beats sent sweeps, both workers ran recomputes.
        for name in ("b1", "b2"):
            assert "Sending due task sweep-dirty-buckets" in tail(logs[name], 50000), tail(
                logs[name]
            )
        for name in ("w1", "w2"):
            assert "process_dirty_buckets" in tail(logs[name], 200000), tail(logs[name])
    duplicates = (
        WeeklyRollup.objects.values("scope", "week_start").annotate(n=Count("id")).filter(n__gt=1)
    )
    assert not duplicates.exists()
    assert Incident.objects.filter(title__contains=" incident ").count() == written * 2
    assert rollup_differences() == []
    print(
        f"\ntwo workers, two beats: {written * 4} writes, "
        f"{RecomputeRun.objects.count()} recomputes, rollups exact"
    )
