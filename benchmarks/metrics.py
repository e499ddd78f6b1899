"""Metrics engine benchmark: `make bench` (or `.venv/bin/python benchmarks/metrics.py`).

Needs DATABASE_URL=postgres://… (any database on the server: the benchmark creates and uses
its own, `execdash_bench` with 200 teams x 3 years, 1,000,000 incidents and 1,000,000
releases, and `execdash_bench_small` with 10,000 rows: the same teams at the same weekly
rate, over the last 5.5 days). Data is loaded with COPY once; later runs reuse it. Prints
the four figures of issue 3:

1. full recompute time, and its ratio to a bare sequential scan of both tables;
2. incremental recompute after one new incident, with 2,000,000 and with 10,000 rows of
   history;
3. `GET /api/v1/metrics` p50/p95 over 200 requests: one team and 90 days, the whole
   organization and a year;
4. the worker's peak memory (ru_maxrss of the process that ran the full recompute).

Every measurement runs in a fresh child process with the project's settings (DEBUG off, so
Django keeps no query log). The tables the worker rewrites are vacuumed before the full and
the incremental recompute, as autovacuum would (CI's PostgreSQL runs without it). `--fresh`
drops and reloads the data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TEAMS = 200
YEARS = 3
BIG = ("execdash_bench", 1_000_000)
SMALL = ("execdash_bench_small", 5_000)
REQUESTS = 200
INCREMENTAL_RUNS = 25
SEED = 20260105
TARGETS = {
    "full_ratio": 10.0,
    "incremental_ms": 20.0,
    "incremental_ratio": 1.5,
    "api_team_p50_ms": 25.0,
    "worker_mb": 300.0,
}


# --- the parent: no Django, only orchestration ----------------------------------------


def database_url(base: str, name: str) -> str:
    parsed = urlparse(base)
    return urlunparse(parsed._replace(path=f"/{name}"))


def child(mode: str, db: str, *extra: str) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(os.environ["DATABASE_URL"], db),
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-only-secret-key-0123456789"),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        EXECDASH_TIME_ZONE="UTC",
    )
    env.pop("REDIS_URL", None)
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, "--db", db, *extra],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def ensure_database(name: str, fresh: bool) -> None:
    import psycopg

    admin = database_url(os.environ["DATABASE_URL"], "postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fresh", action="store_true", help="drop and reload the data")
    parser.add_argument("--child")
    parser.add_argument("--db")
    parser.add_argument("--rows", type=int)
    parser.add_argument(
        "--compare-compiled",
        action="store_true",
        help="only compare the metric queries compiled once (EXECDASH_COMPILED_QUERIES) "
        "with compiled on every call, on the loaded 2,000,000-row data",
    )
    args = parser.parse_args()
    if args.child:
        run_child(args.child, args)
        return
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("benchmarks/metrics.py needs DATABASE_URL=postgres://… (PostgreSQL)")
    if args.compare_compiled:
        ensure_database(BIG[0], False)
        child("load", BIG[0], "--rows", str(BIG[1]))
        for label, result in child("compiled", BIG[0]).items():
            print(
                f"{label}: p50 {ms(result['on'])} compiled once, "
                f"{ms(result['off'])} compiled on every call"
            )
        return

    for name, rows in (BIG, SMALL):
        ensure_database(name, args.fresh)
        loaded = child("load", name, "--rows", str(rows))
        print(
            f"data {name}: {loaded['teams']} teams, {loaded['incidents']:,} incidents, "
            f"{loaded['releases']:,} releases"
            + (f" (loaded in {loaded['seconds']:.0f} s)" if loaded["loaded"] else " (reused)"),
            flush=True,
        )

    full = child("full", BIG[0])
    small_full = child("full", SMALL[0])
    inc_big = child("incremental", BIG[0])
    inc_small = child("incremental", SMALL[0])
    api = child("api", BIG[0])

    ratio = full["recompute_s"] / full["scan_s"]
    inc_ratio = inc_big["p50_s"] / inc_small["p50_s"]
    print()
    print("1. Full recompute (200 teams, 2,000,000 rows, every team and org week)")
    print(f"   bare sequential scan, sum() over incidents + releases: {ms(full['scan_s'])}")
    print(
        f"   full recompute: {full['recompute_s']:.2f} s = {ratio:.1f}x the scan "
        f"(target <= {TARGETS['full_ratio']:.0f}x: {verdict(ratio <= TARGETS['full_ratio'])}); "
        f"{full['rows']:,} weekly rows"
    )
    print(f"   (10,000-row history: {small_full['recompute_s']:.2f} s)")
    print("2. Incremental recompute after one new incident (rollups_process_dirty)")
    for label, inc in (("2,000,000 rows", inc_big), ("10,000 rows", inc_small)):
        print(
            f"   {label:>14} of history: p50 {ms(inc['p50_s'])}, p95 {ms(inc['p95_s'])} "
            f"over {inc['runs']} runs (target <= {TARGETS['incremental_ms']:.0f} ms: "
            f"{verdict(inc['p50_s'] * 1000 <= TARGETS['incremental_ms'])})"
        )
        print(
            f"   {'':>14}   of which the team's week {ms(inc['team_p50_s'])}, "
            f"the organization's week {ms(inc['org_p50_s'])} (p50, each alone)"
        )
    print(
        f"   ratio {inc_ratio:.2f} (target <= {TARGETS['incremental_ratio']}: "
        f"{verdict(inc_ratio <= TARGETS['incremental_ratio'])}); preset windows pre-warmed "
        f"afterwards by the worker: {inc_big['prewarm_s']:.2f} s (not on the request path)"
    )
    print(f"3. GET /api/v1/metrics, {REQUESTS} requests each ({api['how']})")
    for key, label in (("team", "one team, 90 days"), ("org", "organization, 365 days")):
        result = api[key]
        line = (
            f"   {label:>22}: p50 {ms(result['p50_s'])}, p95 {ms(result['p95_s'])}; "
            f"first (cold) request {ms(result['cold_s'])}"
        )
        if key == "team":
            ok = result["p50_s"] * 1000 <= TARGETS["api_team_p50_ms"]
            line += f" (target p50 <= {TARGETS['api_team_p50_ms']:.0f} ms: {verdict(ok)})"
        print(line)
    mb = full["maxrss_mb"]
    print("4. Worker peak memory during the full recompute (ru_maxrss of its process)")
    print(
        f"   {mb:.0f} MB (target <= {TARGETS['worker_mb']:.0f} MB: "
        f"{verdict(mb <= TARGETS['worker_mb'])})"
    )


# --- the children: Django set up against one benchmark database ------------------------


def run_child(mode: str, args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "execdash.settings")
    import django

    django.setup()
    result = {
        "load": lambda: child_load(args.rows),
        "full": child_full,
        "incremental": child_incremental,
        "api": child_api,
        "compiled": child_compiled,
    }[mode]()
    print(json.dumps(result))


def child_load(rows_per_table: int) -> dict[str, Any]:
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Max, Min

    from apps.incidents.models import Incident
    from apps.releases.models import Release
    from apps.teams.models import Team

    call_command("migrate", verbosity=0)
    counts = (Team.objects.count(), Incident.objects.count(), Release.objects.count())
    bounds = Release.objects.aggregate(first=Min("deployed_at"), last=Max("deployed_at"))
    span = (bounds["last"] - bounds["first"]).total_seconds() / 86_400 if bounds["first"] else 0.0
    loaded = False
    began = time.perf_counter()
    if counts != (TEAMS, rows_per_table, rows_per_table) or not (
        0.9 * span_days(rows_per_table) <= span <= span_days(rows_per_table)
    ):
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE incidents_incident, releases_release, teams_team, "
                "metrics_weeklyrollup, metrics_dirtybucket, metrics_windowsnapshot, "
                "metrics_scopeversion, metrics_recomputerun RESTART IDENTITY CASCADE"
            )
        load(rows_per_table)
        loaded = True
        counts = (Team.objects.count(), Incident.objects.count(), Release.objects.count())
    return {
        "teams": counts[0],
        "incidents": counts[1],
        "releases": counts[2],
        "loaded": loaded,
        "seconds": time.perf_counter() - began,
    }


def span_days(rows_per_table: int) -> float:
    """How many days the history covers: 3 years for the big one; the small one keeps the
    same rate of releases and incidents per team and week (so a week holds as many rows in
    both) and is simply shorter."""
    return 365 * YEARS * rows_per_table / BIG[1]


def load(rows_per_table: int) -> None:
    """200 teams of releases and incidents up to now, written with COPY."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.teams.models import Team

    rng = np.random.default_rng(SEED)
    now = timezone.now().replace(microsecond=0)
    first = now - dt.timedelta(days=span_days(rows_per_table))
    span_us = int((now - dt.timedelta(hours=1) - first).total_seconds() * 1_000_000)
    per_team = rows_per_table // TEAMS
    Team.objects.bulk_create(
        [Team(slug=f"bench-{t:03d}", name=f"Bench team {t:03d}") for t in range(TEAMS)]
    )
    team_ids = list(Team.objects.order_by("slug").values_list("id", flat=True))

    def stamp(us: int) -> str:
        return (first + dt.timedelta(microseconds=int(us))).isoformat()

    stamp_now = now.isoformat()
    statuses = np.array(["succeeded", "failed", "rolled_back"])
    severities = np.array(["SEV1", "SEV2", "SEV3", "SEV4"])
    weights = np.array([8, 6, 4, 3, 2, 1, 1, 1], dtype=float)
    weights /= weights.sum()
    n = per_team * TEAMS
    team = np.repeat(np.arange(TEAMS), per_team)
    deployed = np.empty(n, dtype=np.int64)
    started = np.empty(n, dtype=np.int64)
    fixes = np.full(n, -1, dtype=np.int64)  # index of the incident a release fixes
    caused = np.full(n, -1, dtype=np.int64)  # index of the release an incident names
    for t in range(TEAMS):
        lo, hi = t * per_team, (t + 1) * per_team
        deployed[lo:hi] = np.sort(rng.integers(0, span_us, per_team))
        started[lo:hi] = np.sort(rng.integers(0, span_us, per_team))
        # Rework: 5 % of releases fix the team's latest incident started before them.
        fix_at = np.searchsorted(started[lo:hi], deployed[lo:hi], side="right") - 1
        pick = (rng.random(per_team) < 0.05) & (fix_at >= 0)
        fixes[lo:hi][pick] = lo + fix_at[pick]
        # 30 % of incidents are caused by the team's latest release deployed before them.
        cause_at = np.searchsorted(deployed[lo:hi], started[lo:hi], side="right") - 1
        pick = (rng.random(per_team) < 0.3) & (cause_at >= 0)
        caused[lo:hi][pick] = lo + cause_at[pick]
    # Lead time: log-normal around a day, a few of 0 (dropped by the metric).
    lead = (np.exp(rng.normal(np.log(86_400), 1.2, n)) * 1e6).astype(np.int64)
    lead[rng.random(n) < 0.01] = 0
    has_commit = rng.random(n) < 0.9
    status = statuses[rng.choice(3, n, p=[0.86, 0.09, 0.05])]
    changes = rng.poisson(5, n)
    deployer = rng.choice(8, n, p=weights)
    rel_service = rng.integers(0, 4, n)
    # Incidents: resolved after a log-normal time (median 2 h); some recent ones still open.
    duration = (np.exp(rng.normal(np.log(7_200), 1.3, n)) * 1e6).astype(np.int64)
    still_open = (started > span_us - 30 * 86_400 * 10**6) & (rng.random(n) < 0.1)
    resolver = rng.choice(8, n, p=weights)
    inc_service = rng.integers(0, 5, n)  # 4: no service given
    severity = severities[rng.choice(4, n, p=[0.05, 0.15, 0.5, 0.3])]
    # Rows reach the tables in time order, as they do in production (a week's rows sit
    # together on disk); ids follow that order.
    rel_order = np.argsort(deployed, kind="stable")
    inc_order = np.argsort(started, kind="stable")
    rel_id = np.empty(n, dtype=np.int64)
    rel_id[rel_order] = np.arange(1, n + 1)
    inc_id = np.empty(n, dtype=np.int64)
    inc_id[inc_order] = np.arange(1, n + 1)
    rel_cols = (
        "id, team_id, service, version, deployed_at, status, first_commit_at, change_count, "
        "deployed_by, fixes_incident_id, source, created_at, updated_at"
    )
    inc_cols = (
        "id, team_id, title, severity, service, started_at, detected_at, resolved_at, "
        "cause, caused_by_id, summary, resolved_by, source, created_at, updated_at"
    )
    chunk = 50_000
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg cursor: COPY
        for lo in range(0, n, chunk):
            buf = io.StringIO()
            for k in rel_order[lo : lo + chunk]:
                t = team[k]
                commit = stamp(deployed[k] - lead[k]) if has_commit[k] else r"\N"
                fix = str(inc_id[fixes[k]]) if fixes[k] >= 0 else r"\N"
                buf.write(
                    f"{rel_id[k]}\t{team_ids[t]}\tservice-{t}-{rel_service[k]}\t{k}\t"
                    f"{stamp(deployed[k])}\t{status[k]}\t{commit}\t{changes[k]}\t"
                    f"person-{t}-{deployer[k]}\t{fix}\tapi\t{stamp_now}\t{stamp_now}\n"
                )
            with raw.copy(f"COPY releases_release ({rel_cols}) FROM STDIN") as copy:
                copy.write(buf.getvalue())
        for lo in range(0, n, chunk):
            buf = io.StringIO()
            for k in inc_order[lo : lo + chunk]:
                t = team[k]
                resolved = r"\N" if still_open[k] else stamp(started[k] + duration[k])
                cause_id = str(rel_id[caused[k]]) if caused[k] >= 0 else r"\N"
                cause = "release" if caused[k] >= 0 else ("unknown" if k % 3 else "not_deploy")
                service = f"service-{t}-{inc_service[k]}" if inc_service[k] < 4 else ""
                who = "" if still_open[k] else f"person-{t}-{resolver[k]}"
                buf.write(
                    f"{inc_id[k]}\t{team_ids[t]}\tIncident {k}\t{severity[k]}\t{service}\t"
                    f"{stamp(started[k])}\t{stamp(started[k] + 60_000_000)}\t{resolved}\t"
                    f"{cause}\t{cause_id}\t\t{who}\tapi\t{stamp_now}\t{stamp_now}\n"
                )
            with raw.copy(f"COPY incidents_incident ({inc_cols}) FROM STDIN") as copy:
                copy.write(buf.getvalue())
        for table in ("releases_release", "incidents_incident"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    connection.close()
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE releases_release")
        conn.execute("VACUUM ANALYZE incidents_incident")


def scan_seconds() -> float:
    from django.db import connection

    timings = []
    with connection.cursor() as cursor:
        for _ in range(5):
            began = time.perf_counter()
            cursor.execute("SELECT sum(id) FROM incidents_incident")
            cursor.fetchone()
            cursor.execute("SELECT sum(id) FROM releases_release")
            cursor.fetchone()
            timings.append(time.perf_counter() - began)
    return statistics.median(timings[1:])


def vacuum_rollups() -> None:
    """What autovacuum does between runs: clean up the old versions of the rows the worker
    rewrites. A server run with autovacuum off (as CI's is) never does, and every run of
    this benchmark would leave 31,557 more dead rollup rows behind for the next one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE metrics_weeklyrollup, metrics_dirtybucket, metrics_scopeversion"
        )


def child_full() -> dict[str, Any]:
    from apps.metrics.models import WeeklyRollup
    from apps.metrics.rollups import rollups_recompute_all

    vacuum_rollups()
    scan = scan_seconds()
    began = time.perf_counter()
    rollups_recompute_all(trigger="benchmark")
    elapsed = time.perf_counter() - began
    return {
        "scan_s": scan,
        "recompute_s": elapsed,
        "rows": WeeklyRollup.objects.count(),
        "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def child_incremental() -> dict[str, Any]:
    from unittest import mock

    from django.utils import timezone

    from apps.core.timezones import week_start_of
    from apps.incidents.models import Incident
    from apps.incidents.services import incident_create
    from apps.metrics.models import DirtyBucket
    from apps.metrics.rollups import (
        rollups_process_dirty,
        rollups_recompute,
        rollups_recompute_org,
    )
    from apps.metrics.services import windows_prewarm
    from apps.teams.models import Team

    teams = list(Team.objects.order_by("slug")[: INCREMENTAL_RUNS + 2])
    rollups_process_dirty(trigger="benchmark")  # nothing left behind by an earlier run
    vacuum_rollups()  # the full recompute just rewrote every rollup row
    timings = []
    for i, team in enumerate(teams):
        started = timezone.now() - dt.timedelta(hours=3, minutes=i)
        # The task would run on commit in-process (no broker); time the worker's part alone.
        with mock.patch("apps.metrics.services.recompute_schedule"):
            incident_create(
                team=team,
                title="Benchmark incident",
                started_at=started,
                resolved_at=started + dt.timedelta(minutes=40),
                resolved_by="bench",
                service=f"service-{i}-0",
            )
        assert DirtyBucket.objects.exists()
        began = time.perf_counter()
        rollups_process_dirty(trigger="benchmark")
        timings.append(time.perf_counter() - began)
    timings = timings[2:]  # the first runs warm the connection and caches
    # Where the time goes: the team's week alone, and the organization's week alone.
    week = week_start_of(timezone.now())
    team_only, org_only = [], []
    for team in teams[2:]:
        began = time.perf_counter()
        rollups_recompute(team_id=team.id, weeks=[week], include_org=False)
        team_only.append(time.perf_counter() - began)
        began = time.perf_counter()
        rollups_recompute_org(weeks=[week])
        org_only.append(time.perf_counter() - began)
    began = time.perf_counter()
    windows_prewarm(team_ids=[teams[-1].id])
    prewarm = time.perf_counter() - began
    # Leave the history as it was loaded (the next full recompute rewrites the weeks).
    Incident.objects.filter(title="Benchmark incident").delete()
    return {
        "runs": len(timings),
        "p50_s": statistics.median(timings),
        "p95_s": statistics.quantiles(timings, n=20)[-1],
        "team_p50_s": statistics.median(team_only),
        "org_p50_s": statistics.median(org_only),
        "prewarm_s": prewarm,
    }


def child_compiled() -> dict[str, Any]:
    """The team week of the incremental recompute (its SQL built alone, then run) and a
    team's 90-day window, with the compiled metric queries on and off, alternating call by
    call so that both see the same machine."""
    from unittest import mock

    from django.test.utils import override_settings
    from django.utils import timezone

    from apps.core.timezones import week_start_of
    from apps.metrics import compute, rollups, selectors
    from apps.teams.models import Team

    team = Team.objects.order_by("slug").first()
    assert team is not None
    week = week_start_of(timezone.now())
    today = timezone.localdate()

    def sql_only() -> None:
        with mock.patch.object(compute, "_fetch", return_value=[]):
            rollups._team_weeks(team.id, [week])

    def window() -> None:
        start = today - dt.timedelta(days=90)
        selectors._compute_windows(team_ids=[team.id], start=start, end=today)

    out: dict[str, Any] = {}
    for label, run, calls in (
        ("team week, SQL built only (database stubbed)", sql_only, 200),
        ("team week", lambda: rollups._team_weeks(team.id, [week]), 120),
        ("a team's 90-day window, computed", window, 60),
    ):
        times: dict[bool, list[float]] = {True: [], False: []}
        for i in range(calls + 2):
            for on in (True, False) if i % 2 else (False, True):
                with override_settings(EXECDASH_COMPILED_QUERIES=on):
                    began = time.perf_counter()
                    run()
                    if i >= 2:  # the first two rounds warm up
                        times[on].append(time.perf_counter() - began)
        out[label] = {
            "on": statistics.median(times[True]),
            "off": statistics.median(times[False]),
        }
    return out


def child_api() -> dict[str, Any]:
    from django.test import Client
    from django.utils import timezone

    from apps.api.services import api_token_create
    from apps.teams.models import Team

    team = Team.objects.order_by("slug").first()
    assert team is not None
    today = timezone.localdate()
    windows = {
        "team": (team, today - dt.timedelta(days=90), today),
        "org": (None, today - dt.timedelta(days=365), today),
    }
    client = Client()
    _token, secret = api_token_create(name="benchmark", team=None)
    headers = {"Authorization": f"Bearer {secret}"}

    def request(team_: Team | None, start: dt.date, end: dt.date) -> None:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        if team_ is not None:
            params["team"] = team_.slug
        response = client.get("/api/v1/metrics", params, headers=headers)
        assert response.status_code == 200, response.content[:300]

    out: dict[str, Any] = {
        "how": "Django test client through the whole middleware stack, admin token"
    }
    for key, (team_, start, end) in windows.items():
        began = time.perf_counter()
        request(team_, start, end)
        cold = time.perf_counter() - began
        timings = []
        for _ in range(REQUESTS):
            began = time.perf_counter()
            request(team_, start, end)
            timings.append(time.perf_counter() - began)
        out[key] = {
            "cold_s": cold,
            "p50_s": statistics.median(timings),
            "p95_s": statistics.quantiles(timings, n=20)[-1],
        }
    _token.delete()
    return out


if __name__ == "__main__":
    main()
