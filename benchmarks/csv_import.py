"""CSV import benchmark: `.venv/bin/python benchmarks/csv_import.py [--rows 100000]`.

Budget (issue 9): a 100,000-row CSV import on PostgreSQL with a real worker runs at
≥ 2,000 rows/s end to end (upload to "done", rollups fresh), and the worker's peak memory
stays ≤ 300 MB (the file is streamed, never loaded whole).

What it does:
1. (Re)creates the database `execdash_csv_bench` on the PostgreSQL server of DATABASE_URL
   (default postgres://postgres@127.0.0.1:5432) and migrates it.
2. Writes a releases file under var/bench/: one team, 4 services, deployments spread over
   two years, 90 % with a first commit; 3 % of rows flagged (first commit after the
   deployment), 1 % refused (an unknown status). Half the rows carry an external_id, half
   are keyed by their columns.
3. Starts `celery worker -P solo` on Redis db 10 (REDIS_URL, default
   redis://127.0.0.1:6379/10) against that database.
4. Times the service path the page uses: storing the upload (`job_create`), the worker's
   check of every row, `job_start`, the worker's import, and then the wait until no dirty
   bucket of the team is left (the worker's recompute). Rows/s = rows / that total.
5. Reads the worker's peak resident memory (VmHWM of the solo worker, which runs the tasks).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB = "execdash_csv_bench"
TARGET_ROWS_PER_S = 2000.0
TARGET_WORKER_MB = 300.0
SEED = 20260309


def database_url(base: str, name: str) -> str:
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))


def write_file(path: Path, rows: int) -> None:
    """The releases file, written a row at a time."""
    rng = random.Random(SEED)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=1)
    span = dt.timedelta(days=730).total_seconds()
    services = ["checkout", "search-api", "payments", "auth"]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "external_id",
                "service",
                "version",
                "deployed_at",
                "status",
                "first_commit_at",
                "change_count",
                "deployed_by",
            ]
        )
        for i in range(rows):
            deployed = now - dt.timedelta(seconds=span * (1 - i / rows))
            first_commit = ""
            if rng.random() < 0.9:
                lead = dt.timedelta(hours=rng.lognormvariate(3, 1))
                first_commit = (deployed - lead).isoformat()
            roll = rng.random()
            status = "failed" if roll < 0.1 else "succeeded"
            if roll > 0.97:
                first_commit = (deployed + dt.timedelta(minutes=5)).isoformat()  # flagged
            if roll > 0.99:
                status = "shipped"  # refused
            writer.writerow(
                [
                    f"deploy-{i}" if i % 2 == 0 else "",
                    services[i % 4],
                    f"{i // 4}.{i % 4}",
                    deployed.isoformat(),
                    status,
                    first_commit,
                    rng.randint(1, 20),
                    f"dev{rng.randint(1, 12)}",
                ]
            )


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    args, _ = parser.parse_known_args()  # `make bench` passes every benchmark BENCH_ARGS

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/10")
    parsed = urlparse(base)
    psql = [
        "psql",
        "-h",
        parsed.hostname or "127.0.0.1",
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
        "-d",
        "postgres",
        "-q",
        "-c",
    ]
    subprocess.run([*psql, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)"], check=True)
    subprocess.run([*psql, f"CREATE DATABASE {DB}"], check=True)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(base, DB),
        REDIS_URL=redis_url,
        DEBUG="false",
        SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-only-secret-key-0123456789"),
        ALLOWED_HOSTS="testserver,127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        EXECDASH_TIME_ZONE="UTC",
        DJANGO_SETTINGS_MODULE="execdash.settings",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    file = ROOT / "var" / "bench" / f"releases-{args.rows}.csv"
    started = time.perf_counter()
    write_file(file, args.rows)
    print(
        f"wrote {args.rows:,} rows ({file.stat().st_size / 1e6:.1f} MB) in "
        f"{time.perf_counter() - started:.1f} s"
    )

    os.environ.update(env)
    import django

    django.setup()
    from django.db import connection

    from apps.imports.models import ImportJob
    from apps.imports.services import job_create, job_start
    from apps.metrics.models import DirtyBucket
    from apps.teams.models import Team
    from execdash.celery import app

    team = Team.objects.create(name="Bench", slug="bench")
    app.control.purge()
    log = ROOT / "var" / "bench" / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "execdash",
                "worker",
                "-P",
                "solo",
                "-n",
                f"csv-bench-{os.getpid()}@localhost",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while not app.control.ping(destination=[f"csv-bench-{os.getpid()}@localhost"], timeout=0.5):
            if worker.poll() is not None:
                raise SystemExit(f"the worker exited:\n{log.read_text()[-3000:]}")
        baseline_mb = peak_rss_mb(worker.pid)
        cpu_before = cpu_seconds(worker.pid)
        load_before = os.getloadavg()[0]

        backend_cpu: dict[int, float] = {}

        def sample_backends() -> None:
            """CPU time of the database's other backends (the worker's connections), read
            while they live: Django closes a task's connection when the task ends."""
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [DB],
                )
                for (pid,) in cursor.fetchall():
                    # OSError: the server runs elsewhere, or the backend just ended.
                    with contextlib.suppress(OSError):
                        backend_cpu[pid] = cpu_seconds(pid)

        def wait_for(state: str, job_id: int) -> ImportJob:
            while True:
                job = ImportJob.objects.get(pk=job_id)
                if job.state in (state, ImportJob.State.FAILED):
                    return job
                sample_backends()
                time.sleep(0.1)

        t0 = time.perf_counter()
        with file.open("rb") as handle:
            job = job_create(
                team=team,
                kind="releases",
                mode="every_row",
                time_zone="UTC",
                file_name=file.name,
                chunks=iter(lambda: handle.read(1 << 20), b""),
            )
        t_uploaded = time.perf_counter()
        job = wait_for(ImportJob.State.CHECKED, job.pk)
        t_checked = time.perf_counter()
        job = job_start(job=job)
        job = wait_for(ImportJob.State.DONE, job.pk)
        t_done = time.perf_counter()
        while DirtyBucket.objects.filter(team=team).exists():
            sample_backends()
            time.sleep(0.1)
        t_fresh = time.perf_counter()
        peak_mb = peak_rss_mb(worker.pid)
        worker_cpu = cpu_seconds(worker.pid) - cpu_before
        load_after = os.getloadavg()[0]
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)

    total = t_fresh - t0
    rate = job.total_rows / total
    print(
        f"job: {job.state}; {job.total_rows:,} rows: {job.created_count:,} created, "
        f"{job.updated_count:,} updated, {job.flagged_count:,} flagged, "
        f"{job.refused_count:,} refused"
    )
    print(f"upload stored      {t_uploaded - t0:7.2f} s")
    print(f"checked (dry run)  {t_checked - t_uploaded:7.2f} s")
    print(f"imported           {t_done - t_checked:7.2f} s")
    print(f"rollups fresh      {t_fresh - t_done:7.2f} s")
    print(
        f"end to end         {total:7.2f} s  = {rate:,.0f} rows/s "
        f"(budget ≥ {TARGET_ROWS_PER_S:,.0f}: {'met' if rate >= TARGET_ROWS_PER_S else 'MISSED'})"
    )
    print(
        f"worker CPU time    {worker_cpu:7.2f} s  = {job.total_rows / worker_cpu:,.0f} rows per "
        "CPU second of the worker"
    )
    database_cpu = sum(backend_cpu.values())
    serial = worker_cpu + database_cpu
    print(
        f"database CPU time  {database_cpu:7.2f} s  (the worker's PostgreSQL backends; with the "
        f"worker's: {serial:.2f} s = {job.total_rows / serial:,.0f} rows per CPU second)"
    )
    print(
        f"machine load       {load_before:.1f} before, {load_after:.1f} after "
        f"({os.cpu_count()} CPUs)"
    )
    print(
        f"worker peak RSS    {peak_mb:7.1f} MB (at start {baseline_mb:.1f} MB; budget ≤ "
        f"{TARGET_WORKER_MB:.0f}: {'met' if peak_mb <= TARGET_WORKER_MB else 'MISSED'})"
    )


if __name__ == "__main__":
    main()
