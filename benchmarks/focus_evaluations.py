"""Focus evaluations benchmark: `.venv/bin/python benchmarks/focus_evaluations.py`.

Needs DATABASE_URL=postgres://… (any database on the server: the benchmark creates and uses
its own, `execdash_cards_bench` unless `--db` names another): 200 teams with three years of
history (about 1 release a day and an incident every 5 days each: ~220,000 releases and
~44,000 incidents) and 10 focus periods each (2,000 periods: 4- to 10-week periods of every
kind with their trade-offs, the last one running). Loaded once; `--fresh` reloads.

Prints, as BENCHMARKS.md ("Focus evaluations") records them:

1. the worker's refresh of every period of every team (`focus_evaluations_refresh()`, what
   the nightly recheck runs), and how long of it is spent reading window samples;
2. one team's periods: all evaluated afresh (`focus_evaluations_refresh(team_ids=[team])`,
   what a focus write runs after commit), and after a write of an incident (the worker's
   refresh after recomputing the incident's week: only periods whose windows hold that week
   are evaluated again), p50 / p95 / max over 25 teams;
3. reading one team's stored evaluations as the team page does (`focus_evaluations_of`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEAMS = 200
PERIODS = 10
YEARS = 3
SEED = 20261130
BUDGET_ALL_S = 60.0
BUDGET_TEAM_MS = 200.0


def _setup(db: str, fresh: bool) -> None:
    import psycopg

    base = os.environ["DATABASE_URL"]
    parsed = urlparse(base)
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{db}"')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{db}"')
    os.environ["DATABASE_URL"] = urlunparse(parsed._replace(path=f"/{db}"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execdash.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only-secret-key-0123456789")
    os.environ["DEBUG"] = "false"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _load() -> None:
    from django.db import transaction
    from django.utils import timezone

    from apps.focus.models import FocusPeriod
    from apps.focus.services import focus_kinds_ensure_builtin
    from apps.focus.tradeoffs import metrics_named_in
    from apps.incidents.models import Incident
    from apps.metrics.rollups import rollups_recompute_all
    from apps.releases.models import Release
    from apps.teams.models import Team

    if Team.objects.filter(slug__startswith="bench-").count() >= TEAMS:
        return
    started = time.monotonic()
    rng = random.Random(SEED)
    kinds = focus_kinds_ensure_builtin()
    kind_cycle = ["stability", "throughput", "knowledge_sharing"]
    tradeoffs = {"stability": "throughput", "throughput": "stability", "knowledge_sharing": ""}
    now = timezone.now()
    today = timezone.localdate()
    first = now - dt.timedelta(days=365 * YEARS)
    with transaction.atomic():
        teams = Team.objects.bulk_create(
            Team(name=f"Bench {i:03d}", slug=f"bench-{i:03d}") for i in range(TEAMS)
        )
        for team in teams:
            releases, incidents = [], []
            at = first
            n = 0
            while at < now:
                at += dt.timedelta(hours=rng.expovariate(1 / 24))
                n += 1
                releases.append(
                    Release(
                        team=team,
                        service=f"svc-{rng.randrange(4)}",
                        version=f"1.{n}",
                        deployed_at=at,
                        first_commit_at=at - dt.timedelta(hours=rng.lognormvariate(3, 1)),
                        status="failed" if rng.random() < 0.1 else "succeeded",
                        deployed_by=f"dev{rng.randrange(5)}",
                    )
                )
            at = first
            while at < now - dt.timedelta(days=1):
                at += dt.timedelta(hours=rng.expovariate(1 / 120))
                incidents.append(
                    Incident(
                        team=team,
                        title="Outage",
                        severity="SEV3",
                        service=f"svc-{rng.randrange(4)}",
                        started_at=at,
                        resolved_at=at + dt.timedelta(hours=rng.lognormvariate(1, 1)),
                        resolved_by=f"dev{rng.randrange(5)}",
                    )
                )
            Release.objects.bulk_create(releases, batch_size=2000)
            Incident.objects.bulk_create(incidents, batch_size=2000)
            periods = []
            end = today
            for p in range(PERIODS):
                weeks = rng.randrange(4, 11)
                start = end - dt.timedelta(weeks=weeks)
                kind = kind_cycle[(team.pk + p) % 3]
                periods.append(
                    FocusPeriod(
                        team=team,
                        kind=kinds[kind],
                        starts_on=start,
                        ends_on=None if p == 0 else end - dt.timedelta(days=1),
                        rationale="Benchmark focus.",
                        tradeoff=tradeoffs[kind],
                        tradeoff_metrics=metrics_named_in(tradeoffs[kind]),
                        status="aligned" if p == 0 else "closed",
                    )
                )
                end = start - dt.timedelta(weeks=rng.randrange(0, 4))
            FocusPeriod.objects.bulk_create(periods)
    print(f"loaded in {time.monotonic() - started:.0f} s", flush=True)
    rollups_recompute_all(trigger="benchmark")


def _measure() -> None:
    from django.db import connection
    from django.utils import timezone

    from apps.focus import evaluation
    from apps.focus.evaluations import focus_evaluations_of, focus_evaluations_refresh
    from apps.focus.models import FocusEvaluation, FocusPeriod
    from apps.incidents.services import incident_create
    from apps.metrics import services as metrics_services
    from apps.metrics.rollups import rollups_process_dirty
    from apps.teams.models import Team

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    spent = {"samples": 0.0, "calls": 0}
    original = evaluation.window_samples

    def timed(**kwargs):  # type: ignore[no-untyped-def]
        t = time.perf_counter()
        try:
            return original(**kwargs)
        finally:
            spent["samples"] += time.perf_counter() - t
            spent["calls"] += 1

    evaluation.window_samples = timed  # type: ignore[assignment]
    FocusEvaluation.objects.all().delete()
    t = time.perf_counter()
    written = focus_evaluations_refresh()
    every = time.perf_counter() - t
    evaluation.window_samples = original
    periods = FocusPeriod.objects.count()
    print(
        f"every period: {written} of {periods} periods in {every:.1f} s "
        f"(budget {BUDGET_ALL_S:.0f} s); window samples {spent['samples']:.1f} s "
        f"in {spent['calls']} reads",
        flush=True,
    )
    team_ids = list(Team.objects.filter(slug__startswith="bench-").values_list("id", flat=True))
    # The worker's steps are timed one by one below, not run in-process on commit.
    metrics_services.recompute_schedule = lambda: None
    whole, after_write, rollup = [], [], []
    for team_id in team_ids[:25]:
        t = time.perf_counter()
        focus_evaluations_refresh(team_ids=[team_id])
        whole.append((time.perf_counter() - t) * 1000)
        # A write: an incident today, the worker's recompute of its week, then the refresh
        # of the team's periods that the worker runs after it.
        started = timezone.now() - dt.timedelta(hours=2)
        incident_create(
            team=Team.objects.get(pk=team_id),
            title="Benchmark outage",
            severity="SEV3",
            started_at=started,
            resolved_at=started + dt.timedelta(hours=1),
        )
        weeks: dict[int, list[dt.date]] = {}
        t = time.perf_counter()
        rollups_process_dirty(trigger="benchmark", recomputed_weeks=weeks)
        rollup.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        focus_evaluations_refresh(team_ids=list(weeks), weeks=weeks)
        after_write.append((time.perf_counter() - t) * 1000)
    for label, times in (
        ("one team, every period evaluated", whole),
        ("one team after a write (the worker's refresh)", after_write),
        ("  (the rollup recompute before it, for scale)", rollup),
    ):
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(
            f"{label}: p50 {statistics.median(times):.0f} ms, p95 {p95:.0f} ms, "
            f"max {times[-1]:.0f} ms (budget {BUDGET_TEAM_MS:.0f} ms)",
            flush=True,
        )
    reads = []
    for team_id in team_ids[:25]:
        t = time.perf_counter()
        loaded = list(
            FocusPeriod.objects.filter(team_id=team_id).select_related("kind", "evaluation")
        )
        focus_evaluations_of(loaded)
        reads.append((time.perf_counter() - t) * 1000)
    print(f"one team's stored evaluations read: p50 {statistics.median(reads):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="execdash_cards_bench")
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("DATABASE_URL=postgres://… is needed (the benchmark creates its own database)")
    _setup(args.db, args.fresh)
    _load()
    _measure()


if __name__ == "__main__":
    main()
