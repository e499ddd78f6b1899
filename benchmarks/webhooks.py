"""Webhooks benchmark: `.venv/bin/python benchmarks/webhooks.py` (issue 9's budget).

Needs DATABASE_URL=postgres://… (any database on the server: it names the server) and Redis.
It (re)creates the database `execdash_webhooks_bench`, migrates it, creates 4 teams with a
GitHub and a PagerDuty webhook each, starts gunicorn on 127.0.0.1 (production settings,
DEBUG off, 2 sync workers, one per core of this machine: `--workers N`) and a real Celery
worker on REDIS_URL (default redis://127.0.0.1:6379/7), then:

1. 20 concurrent clients send 2,000 signed deliveries: 900 GitHub `deployment_status`
   events (820 deployments with one final status, 40 with a `failure` then a later
   `success`), 900 PagerDuty v3 events (450 incidents, `incident.triggered` and
   `incident.resolved`), and 200 redeliveries (10 %) of events picked among those, each
   sent at a random moment after its first delivery, so some race it;
2. waits until the worker has processed every dirty bucket;
3. checks: no 5xx (every answer 200 or 201), every event accepted exactly once (one
   accepted delivery per event id), 860 releases and 450 incidents, all resolved, the
   deployments with two statuses ending succeeded, and the weekly rollups the worker wrote
   equal to a from-scratch recompute (`rollups_recompute_all`) of the same rows;
4. prints p50 / p95 / p99 / max latency seen by the clients (target p99 <= 200 ms) and the
   CPU time gunicorn, PostgreSQL, the worker and the clients used while sending (per
   delivery: the figure to compare between runs on a machine whose speed varies).

Everything listens on 127.0.0.1 only, the load is bounded (2,000 requests), and gunicorn and
the worker are stopped in a `finally`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "execdash_webhooks_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/7"
TEAMS = 4
P99_TARGET_MS = 200.0


def database_url(base: str, name: str) -> str:
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def recreate_database(base: str) -> None:
    import psycopg

    with psycopg.connect(database_url(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DATABASE}"')


def checkpoint(base: str) -> None:
    import psycopg

    with psycopg.connect(database_url(base, "postgres"), autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def child(mode: str, env: dict[str, str], *extra: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, *extra],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the deliveries ------------------------------------------------------------------------


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def github_body(
    *, deployment_id: int, status_id: int, state: str, at: dt.datetime, repo: str
) -> dict[str, Any]:
    sha = hashlib.sha1(str(deployment_id).encode(), usedforsecurity=False).hexdigest()
    return {
        "action": "created",
        "deployment_status": {
            "id": status_id,
            "state": state,
            "environment": "production",
            "created_at": _iso(at),
            "updated_at": _iso(at),
            "description": "",
        },
        "deployment": {
            "id": deployment_id,
            "sha": sha,
            "ref": "main",
            "task": "deploy",
            "environment": "production",
            "created_at": _iso(at - dt.timedelta(minutes=3)),
            "payload": {
                "first_commit_at": _iso(at - dt.timedelta(hours=random.randint(1, 72))),
                "change_count": random.randint(1, 12),
            },
        },
        "repository": {"id": 1, "name": repo, "full_name": f"acme/{repo}"},
        "sender": {"login": random.choice(["mia", "ola", "sam", "deploy-bot[bot]"])},
    }


def pagerduty_body(
    *, event_type: str, incident_id: str, created: dt.datetime, occurred: dt.datetime
) -> dict[str, Any]:
    return {
        "event": {
            "id": str(uuid.uuid4()),
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": _iso(occurred),
            "agent": {"id": "PUSR001", "summary": "On-call", "type": "user_reference"},
            "client": {"name": "Monitoring"},
            "data": {
                "id": incident_id,
                "type": "incident",
                "number": 1,
                "status": "resolved" if event_type == "incident.resolved" else "triggered",
                "title": f"Alert {incident_id}",
                "created_at": _iso(created),
                "service": {"id": "PSVC", "summary": "checkout", "type": "service_reference"},
                "urgency": random.choice(["high", "low"]),
            },
        }
    }


def build(hooks: list[dict[str, Any]], now: dt.datetime) -> tuple[list[dict[str, Any]], dict]:
    """2,000 deliveries (1,800 events + 200 redeliveries) and what must come of them."""
    github = [h for h in hooks if h["kind"] == "github"]
    pagerduty = [h for h in hooks if h["kind"] == "pagerduty"]
    events: list[dict[str, Any]] = []
    expected_status: dict[str, str] = {}
    status_id = 1
    for n in range(860):
        hook = github[n % len(github)]
        deployment_id = 10_000 + n
        at = now - dt.timedelta(minutes=random.randint(30, 8 * 7 * 24 * 60))
        states = (
            ["failure", "success"] if n < 40 else [random.choice(["success"] * 6 + ["failure"])]
        )
        for i, state in enumerate(states):
            body = github_body(
                deployment_id=deployment_id,
                status_id=status_id,
                state=state,
                at=at + dt.timedelta(minutes=10 * i),
                repo=random.choice(["checkout", "ledger", "search"]),
            )
            status_id += 1
            events.append({"hook": hook, "body": body, "guid": str(uuid.uuid4())})
        expected_status[f"{hook['team']}:{deployment_id}"] = (
            "succeeded" if states[-1] == "success" else "failed"
        )
    for n in range(450):
        hook = pagerduty[n % len(pagerduty)]
        created = now - dt.timedelta(minutes=random.randint(300, 8 * 7 * 24 * 60))
        resolved = created + dt.timedelta(minutes=random.randint(5, 240))
        incident_id = f"Q{n:06d}"
        for event_type, occurred in (
            ("incident.triggered", created),
            ("incident.resolved", resolved),
        ):
            body = pagerduty_body(
                event_type=event_type, incident_id=incident_id, created=created, occurred=occurred
            )
            events.append({"hook": hook, "body": body, "guid": ""})
    random.shuffle(events)
    deliveries = [dict(e, redelivery=False) for e in events]
    for original in random.sample(events, 200):
        start = deliveries.index(next(d for d in deliveries if d["body"] is original["body"]))
        deliveries.insert(
            random.randint(start + 1, len(deliveries)), dict(original, redelivery=True)
        )
    expected = {
        "events": len(events),
        "releases": 860,
        "incidents": 450,
        "release_status": expected_status,
    }
    return deliveries, expected


def signed(delivery: dict[str, Any]) -> tuple[str, bytes, dict[str, str]]:
    hook = delivery["hook"]
    body = json.dumps(delivery["body"]).encode()
    digest = hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "User-Agent": "execdash-bench"}
    if hook["kind"] == "github":
        headers.update(
            {
                "X-GitHub-Event": "deployment_status",
                "X-GitHub-Delivery": delivery["guid"],
                "X-Hub-Signature-256": f"sha256={digest}",
            }
        )
    else:
        headers["X-PagerDuty-Signature"] = f"v1={'0' * 64},v1={digest}"
    return hook["path"], body, headers


def send(port: int, deliveries: list[dict[str, Any]], clients: int) -> list[tuple[int, float]]:
    prepared = [signed(d) for d in deliveries]
    results: list[tuple[int, float]] = [(0, 0.0)] * len(prepared)
    lock = threading.Lock()
    cursor = iter(range(len(prepared)))

    def client() -> None:
        while True:
            with lock:
                index = next(cursor, None)
            if index is None:
                return
            path, body, headers = prepared[index]
            started = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("POST", path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except OSError:
                status = 599
            finally:
                conn.close()
            results[index] = (status, (time.perf_counter() - started) * 1000)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        for _ in range(clients):
            pool.submit(client)
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Process:
    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = log.open("w")
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.handle.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat); 0 once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu_seconds(leader: int) -> float:
    """CPU time of a process and its children (gunicorn's arbiter and workers; celery's)."""
    pids = [leader]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == leader:
                pids.append(int(entry.name))
    return sum(cpu_seconds(pid) for pid in pids)


def database_cpu_seconds(base: str) -> float:
    """CPU time of the benchmark database's backends (gunicorn's and the worker's
    persistent connections), read while they are still connected."""
    found = subprocess.run(
        [
            "psql",
            database_url(base, "postgres"),
            "-Atc",
            f"SELECT pid FROM pg_stat_activity WHERE datname = '{DATABASE}'",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return sum(cpu_seconds(int(pid)) for pid in found.stdout.split())


def wait_ready(port: int, server: Process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {server.log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health/")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /health/ in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL=postgres://… (it names the PostgreSQL server to use).")
    random.seed(args.seed)
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url(base, DATABASE),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS),
        DEBUG="false",
        SECRET_KEY="webhooks-benchmark-" + uuid.uuid4().hex,
        ALLOWED_HOSTS="127.0.0.1",
        EXECDASH_TESTING="true",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="execdash.settings",
        RATE_LIMIT_WEBHOOKS="off",  # 2,000 deliveries to a few webhooks is the point here
    )
    load_before = os.getloadavg()[0]
    recreate_database(base)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
    )
    setup = child("setup", env)
    # The setup's writes (a new database, its migrations) are flushed before the clock
    # starts: a checkpoint of them in the middle of the run would be the setup's cost.
    checkpoint(base)
    now = dt.datetime.fromisoformat(setup["now"])
    deliveries, expected = build(setup["hooks"], now)
    logs = Path(tempfile.mkdtemp(prefix="execdash-webhooks-bench-"))
    port = free_port()
    worker = Process(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "execdash",
            "worker",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
            "--without-mingle",
            "--without-gossip",
        ],
        env,
        logs / "worker.log",
    )
    server = Process(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "execdash.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            *(["--threads", str(args.threads)] if args.worker_class == "gthread" else []),
        ],
        env,
        logs / "gunicorn.log",
    )
    try:
        wait_ready(port, server)
        cpu_before = (
            group_cpu_seconds(server.process.pid),
            database_cpu_seconds(base),
            group_cpu_seconds(worker.process.pid),
            resource.getrusage(resource.RUSAGE_SELF),
        )
        started = time.perf_counter()
        results = send(port, deliveries, args.clients)
        seconds = time.perf_counter() - started
        clients_used = resource.getrusage(resource.RUSAGE_SELF)
        cpu = {
            "gunicorn": group_cpu_seconds(server.process.pid) - cpu_before[0],
            "PostgreSQL": database_cpu_seconds(base) - cpu_before[1],
            "worker": group_cpu_seconds(worker.process.pid) - cpu_before[2],
            "clients": (clients_used.ru_utime + clients_used.ru_stime)
            - (cpu_before[3].ru_utime + cpu_before[3].ru_stime),
        }
        drained = child("drain", env)
    finally:
        server.stop()
        worker.stop()
    expected_path = logs / "expected.json"
    expected_path.write_text(json.dumps(expected))
    verified = child("verify", env, str(expected_path))

    statuses = [status for status, _ in results]
    latencies = [ms for _, ms in results]
    five_xx = sum(1 for s in statuses if s >= 500)
    other = sorted({s for s in statuses if s not in (200, 201)})
    p99 = percentile(latencies, 0.99)
    print(f"deliveries: {len(results)} ({sum(d['redelivery'] for d in deliveries)} redeliveries)")
    print(
        f"clients: {args.clients}, gunicorn: {args.workers} {args.worker_class} workers"
        + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
        + ", "
        f"sent in {seconds:.1f} s ({len(results) / seconds:.0f} deliveries/s)"
    )
    print(
        f"answers: 201 x {statuses.count(201)}, 200 x {statuses.count(200)}, "
        f"5xx x {five_xx}, other {other or 'none'}"
    )
    print(
        f"latency ms: p50 {percentile(latencies, 0.5):.1f}, p95 {percentile(latencies, 0.95):.1f},"
        f" p99 {p99:.1f}, max {max(latencies):.1f}, mean {statistics.fmean(latencies):.1f}"
        f" (target p99 <= {P99_TARGET_MS:.0f}: {'met' if p99 <= P99_TARGET_MS else 'MISSED'})"
    )
    print(
        f"machine load average (1 min): {load_before:.1f} before, {os.getloadavg()[0]:.1f} "
        f"after, on {os.cpu_count()} cores"
    )
    print(
        "CPU while sending: "
        + ", ".join(f"{name} {used:.1f} s" for name, used in cpu.items())
        + f" = {sum(cpu.values()) / len(results) * 1000:.1f} ms a delivery"
        + f" (of {seconds * (os.cpu_count() or 1):.1f} s of the machine's CPUs)"
    )
    print(f"worker drained the dirty buckets {drained['seconds']:.1f} s after the last answer")
    for line in verified["lines"]:
        print(line)
    ok = five_xx == 0 and not other and verified["ok"] and drained["ok"]
    print("RESULT:", "all checks passed" if ok else "FAILED", f"(logs in {logs})")
    return 0 if ok and p99 <= P99_TARGET_MS else 1


# --- the child: Django ---------------------------------------------------------------------


def child_main(mode: str, extra: list[str]) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.cache import cache
    from django.utils import timezone

    from apps.metrics.models import DirtyBucket, WeeklyRollup
    from apps.metrics.services import SCHEDULE_KEY
    from apps.teams.models import Team
    from apps.webhooks.models import WebhookDelivery
    from apps.webhooks.services import webhook_create

    if mode == "setup":
        cache.delete(SCHEDULE_KEY)  # a flag left behind by an earlier run would delay ours
        hooks = []
        for n in range(TEAMS):
            team = Team.objects.create(slug=f"hooks-{n}", name=f"Hooks {n}")
            for kind in ("github", "pagerduty"):
                webhook, secret = webhook_create(team=team, kind=kind)
                hooks.append(
                    {"kind": kind, "path": webhook.receiver_path, "secret": secret, "team": team.pk}
                )
        return {"hooks": hooks, "now": timezone.now().isoformat()}

    if mode == "drain":
        started = time.monotonic()
        while time.monotonic() - started < 300:
            if not DirtyBucket.objects.exists():
                time.sleep(2)  # a write committed at the very end schedules one more run
                if not DirtyBucket.objects.exists():
                    return {"ok": True, "seconds": time.monotonic() - started}
            time.sleep(0.5)
        return {"ok": False, "seconds": time.monotonic() - started}

    from apps.incidents.models import Incident
    from apps.metrics.rollups import rollups_recompute_all
    from apps.releases.models import Release

    expected = json.loads(Path(extra[0]).read_text())
    lines: list[str] = []
    ok = True

    def check(good: bool, text: str) -> None:
        nonlocal ok
        ok = ok and good
        lines.append(f"{'ok ' if good else 'BAD'} {text}")

    releases = Release.objects.count()
    incidents = Incident.objects.count()
    check(
        releases == expected["releases"], f"releases: {releases} (expected {expected['releases']})"
    )
    check(
        incidents == expected["incidents"],
        f"incidents: {incidents} (expected {expected['incidents']})",
    )
    open_ = Incident.objects.filter(resolved_at__isnull=True).count()
    check(open_ == 0, f"incidents left open: {open_}")
    actual = {
        f"{team}:{external}": status
        for team, external, status in Release.objects.values_list(
            "team_id", "external_id", "status"
        )
    }
    wrong = sum(
        1 for key, status in expected["release_status"].items() if actual.get(key) != status
    )
    check(wrong == 0, f"releases whose status is not the latest status's: {wrong}")
    # Every event applied exactly once: one accepted delivery per event id, except an
    # older status of a deployment arriving after the later one (ignored, by design).
    outcomes: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for webhook_id, event_id, outcome, reason in WebhookDelivery.objects.values_list(
        "webhook_id", "event_id", "outcome", "reason"
    ):
        outcomes.setdefault((webhook_id, event_id), []).append((outcome, reason))
    twice = sum(1 for rows in outcomes.values() if [o for o, _ in rows].count("accepted") > 1)
    older = sum(
        1
        for rows in outcomes.values()
        if all(o == "ignored" and r.startswith("An older status") for o, r in rows)
    )
    accepted = sum(1 for rows in outcomes.values() if any(o == "accepted" for o, _ in rows))
    check(
        len(outcomes) == expected["events"]
        and accepted + older == expected["events"]
        and not twice,
        f"events: {len(outcomes)} of {expected['events']}, accepted once: {accepted}, "
        f"older statuses ignored: {older}, accepted twice: {twice}",
    )
    check(
        WebhookDelivery.objects.count() == expected["events"] + 200,
        f"deliveries logged: {WebhookDelivery.objects.count()}",
    )
    fields = [
        f.name for f in WeeklyRollup._meta.concrete_fields if f.name not in ("id", "computed_at")
    ]

    def snapshot() -> dict[tuple[int, str], tuple]:
        scope, week = fields.index("scope"), fields.index("week_start")
        return {
            (row[scope], str(row[week])): tuple(row)
            for row in WeeklyRollup.objects.order_by("scope", "week_start").values_list(*fields)
        }

    by_worker = snapshot()
    rollups_recompute_all()
    from_scratch = snapshot()
    differing = sum(
        1
        for key in by_worker.keys() | from_scratch.keys()
        if by_worker.get(key) != from_scratch.get(key)
    )
    check(
        differing == 0 and len(by_worker) > 0,
        f"weekly rollups written by the worker: {len(by_worker)}, differing from a "
        f"from-scratch recompute: {differing}",
    )
    return {"ok": ok, "lines": lines}


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        print(json.dumps(child_main(sys.argv[2], sys.argv[3:])))
        sys.exit(0)
    sys.exit(main())
