"""Burst benchmark: `.venv/bin/python benchmarks/burst.py` (DATABASE_URL=postgres://… and a
Redis: REDIS_URL, default redis://127.0.0.1:6379/12).

20 concurrent clients post 1,000 incidents and 1,000 releases (interleaved, each with its own
external id) through the API to gunicorn (2 sync workers, as the Dockerfile runs it) with a
real Celery worker (prefork, concurrency 2, as docker-compose runs it), in a fresh database
`execdash_burst` on that server (dropped and created each run). It prints:

- the answers by status (target: no 5xx), the posts per second and p50/p95/max latency;
- whether every row is stored exactly once (one row per external id, 1,000 of each);
- the time from the last post's answer to fresh numbers: no dirty bucket left and the team's
  weekly rollups counting every posted incident and release;
- whether the rollups then equal a from-scratch recompute.

Everything listens on 127.0.0.1 and is stopped in a `finally`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE = "execdash_burst"


def fresh_database(base: str) -> str:
    import psycopg

    server, _name = base.rsplit("/", 1)
    with psycopg.connect(server + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')
    return f"{server}/{DATABASE}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--releases", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("benchmarks/burst.py needs DATABASE_URL=postgres://… (PostgreSQL)")
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/12"
    os.environ.update(
        DATABASE_URL=fresh_database(base),
        REDIS_URL=redis_url,
        DJANGO_SETTINGS_MODULE="execdash.settings",
        DEBUG="false",
        SECRET_KEY="burst-benchmark-" + "k" * 40,
        EXECDASH_TESTING="true",
        RATE_LIMIT_API="off",  # one token posting a burst is the point here
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count, Sum

    from apps.api.services import api_token_create
    from apps.incidents.models import Incident
    from apps.metrics.models import DirtyBucket, RecomputeRun, WeeklyRollup
    from apps.releases.models import Release
    from apps.teams.models import Team
    from execdash.celery import app
    from tests.faults.burst import burst
    from tests.faults.stack import Web, app_env, processes, rollup_differences, settle, worker

    call_command("migrate", verbosity=0)
    team = Team.objects.create(name="Burst", slug="burst")
    _token, raw = api_token_create(name="burst benchmark", team=team)
    app.control.purge()
    from django.core.cache import cache

    cache.clear()
    env = app_env(redis_url)
    env["LOG_LEVEL"] = "WARNING"
    with tempfile.TemporaryDirectory(prefix="execdash-burst-") as tmp, processes() as started:
        logs = Path(tmp)
        web = Web(env, logs / "web.log", workers=args.web_workers)
        started.append(web)
        started.append(
            worker(env, logs / "worker.log", pool="prefork", concurrency=args.worker_concurrency)
        )
        time.sleep(3)  # the worker connects while gunicorn warms up
        result = burst(
            web.port,
            raw,
            incidents=args.incidents,
            releases=args.releases,
            clients=args.clients,
            tag="burst",
        )

        def fresh() -> bool:
            if DirtyBucket.objects.exists():
                return False
            sums = WeeklyRollup.objects.filter(scope=team.id).aggregate(
                incidents=Sum("incidents"), releases=Sum("deployments")
            )
            return sums == {"incidents": args.incidents, "releases": args.releases}

        fresh_ok = settle(fresh, timeout=300, interval=0.1)
        fresh_after = time.monotonic() - result.finished
    posts = args.incidents + args.releases
    latency = result.latency()
    print(f"burst: {posts} posts from {args.clients} clients, gunicorn {args.web_workers} workers")
    print(
        f"  answers by status: {result.statuses()}  (5xx or dropped: {len(result.server_errors())})"
    )
    print(
        f"  {result.seconds:.1f} s, {posts / result.seconds:.0f} posts/s; latency p50 "
        f"{latency['p50'] * 1000:.0f} ms, p95 {latency['p95'] * 1000:.0f} ms, "
        f"max {latency['max'] * 1000:.0f} ms"
    )
    once = True
    for model, expected in ((Incident, args.incidents), (Release, args.releases)):
        rows = model.objects.filter(team=team)
        dupes = rows.values("external_id").annotate(n=Count("id")).filter(n__gt=1).count()
        once = once and rows.count() == expected and dupes == 0
        print(f"  {model.__name__}: {rows.count()} stored of {expected} posted, {dupes} duplicated")
    state = "fresh" if fresh_ok else "NOT fresh (gave up)"
    print(
        f"  numbers {state} {fresh_after:.1f} s after the last post "
        f"({RecomputeRun.objects.count()} recomputes by the worker)"
    )
    wrong = rollup_differences()
    print(f"  rollups vs a from-scratch recompute: {'equal' if not wrong else wrong[:5]}")
    ok = not result.server_errors() and once and fresh_ok and not wrong
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
