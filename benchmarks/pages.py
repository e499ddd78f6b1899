"""Pages benchmark: `make bench` (or `.venv/bin/python benchmarks/pages.py`).

Needs DATABASE_URL=postgres://… (any database on the server). It serves the dashboard from
`execdash_bench`, the 200 teams x 3 years, 1,000,000 incidents + 1,000,000 releases database
of `benchmarks/metrics.py` (loaded by it with COPY if missing or incomplete; reused
otherwise), with gunicorn on loopback, production settings (DEBUG off, compressed manifest
static files served by whitenoise, Redis cache when Redis answers) and prints, in one run:

1. requests per second and p50/p95 latency at 8 concurrent clients, a fixed number of
   requests each, of a trivial login-required view (`/me/`), the overview (as a manager of
   two teams, and as an admin who sees all 200), a team page, the htmx fragments that the
   date-range control swaps (overview and team page), the team page's lazily loaded
   sections ("Flow" and "Knowledge sharing"), the outcomes page (manager and admin), an
   outcome's page, the focus page, a focus period's page and the form proposing a focus,
   with each page's throughput as a share of the trivial view's. Targets: p95 <= 150 ms for
   every page and fragment (issue 8's budget); overview >= 25 %, date-range fragments
   >= 40 %. (The team numbers fragment is the one a team page polls while a recompute is
   pending; measured here when nothing is pending, like every other page.)
2. the bytes transferred by the first load of the overview, the outcomes page and the
   focus page (the HTML and every static file it references, asked for with
   `Accept-Encoding: gzip, br`): target <= 500 KB; and the size of each fragment: target
   <= 50 KB.

Before serving, the child process (`child_prepare`) makes sure of what the pages read, each
step reused when already done and timed when not: the rollups (recomputed when a scope lacks
them or a bucket is dirty); the users; 4 to 6 focus periods per bench team over the last
year and a half, of every kind, with trade-offs, success signals and their history events
(one running and aligned, one team in four past its revisit date, one in three with a next
period waiting for sign-off or sent back), and 2 outcomes per team measured weekly for a
year, laddering up to 5 organization outcomes (written again only when a team lacks a
period covering today or the measurements are over a week old); then the worker's stored
answers: every period's evaluation (`focus_evaluations_refresh`, for the teams with a
missing or stale one) and the outcomes' progress and "busy, not moving" flags
(`outcome_answers_refresh`).

The load comes from ApacheBench (`ab -n <requests> -c 8`, a small C client, so it takes
little of the CPU the server needs; a Python thread pool if ab is not installed). gunicorn
runs 2 sync workers, as the Dockerfile and compose file run it (`--worker-class gthread`
and `--threads` try the threaded worker, with keep-alive). Everything listens on 127.0.0.1
only, is bounded, and gunicorn is stopped in a `finally`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "execdash_bench"
ROWS = 1_000_000
MANAGER = "bench-manager"
ADMIN = "bench-admin"
MANAGER_TEAMS = ("bench-000", "bench-001")
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
ACCEPT_ENCODING = "gzip, deflate, br"
TARGETS = {
    "overview_share": 0.25,
    "fragment_share": 0.40,
    "p95_ms": 150.0,
    "first_load_kb": 500.0,
    "fragment_kb": 50.0,
}
KB = 1000  # the targets are in decimal kilobytes

SETTINGS_MODULE = "execdash_bench_pages_settings"
SETTINGS_TEXT = """\
# Written by benchmarks/pages.py: the project's settings with a throwaway STATIC_ROOT.
from execdash.settings import *  # noqa: F403

STATIC_ROOT = {static_root!r}
"""

# --- the parent: no Django, only orchestration ----------------------------------------


def database_url(base: str, name: str) -> str:
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def redis_answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 1):
            return True
    except OSError:
        return False


def ensure_data(base: str) -> None:
    """Reuse execdash_bench when it holds the history; else have benchmarks/metrics.py load
    it (waiting first for a load that another run may have in progress)."""
    import psycopg

    admin = database_url(base, "postgres")
    deadline = time.monotonic() + 1800
    while True:
        with psycopg.connect(admin, autocommit=True) as conn:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname IN (%s, %s)",
                [DATABASE, f"{DATABASE}_small"],
            ).fetchone()
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
            ).fetchone()
        if not (busy and busy[0]):
            break
        if time.monotonic() > deadline:
            sys.exit(f"{DATABASE} has stayed in use by another run for 30 minutes; giving up")
        # The metrics benchmark loads and recomputes this database: measuring pages at the
        # same time would disturb both.
        print(f"{DATABASE} is in use by another run (benchmarks/metrics.py?); waiting", flush=True)
        time.sleep(15)
    if exists:
        try:
            with psycopg.connect(database_url(base, DATABASE)) as conn:
                teams, incidents, releases = conn.execute(
                    "SELECT (SELECT count(*) FROM teams_team WHERE slug LIKE 'bench-%%'),"
                    " (SELECT count(*) FROM incidents_incident),"
                    " (SELECT count(*) FROM releases_release)"
                ).fetchone() or (0, 0, 0)
        except psycopg.Error:
            teams = incidents = releases = 0
        if teams >= 200 and incidents >= ROWS and releases >= ROWS:
            print(
                f"data {DATABASE}: {teams} teams, {incidents:,} incidents, "
                f"{releases:,} releases (reused)",
                flush=True,
            )
            return
    load_data()


def load_data() -> None:
    """Create and load execdash_bench through benchmarks/metrics.py."""
    spec = importlib.util.spec_from_file_location("bench_metrics", ROOT / "benchmarks/metrics.py")
    if spec is None or spec.loader is None:
        sys.exit("benchmarks/metrics.py is missing: it creates the data this benchmark reads")
    bench_metrics = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_metrics)
    bench_metrics.ensure_database(DATABASE, False)
    loaded = bench_metrics.child("load", DATABASE, "--rows", str(ROWS))
    print(
        f"data {DATABASE}: {loaded['teams']} teams, {loaded['incidents']:,} incidents, "
        f"{loaded['releases']:,} releases"
        + (f" (loaded in {loaded['seconds']:.0f} s)" if loaded["loaded"] else " (reused)"),
        flush=True,
    )


def run_child(mode: str, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@dataclass
class Page:
    key: str
    label: str
    path: str
    user: str
    headers: dict[str, str] = field(default_factory=dict)
    # "baseline", "overview", "page", "fragment" (swapped by the date-range control) or
    # "section" (a fragment a page loads lazily: no throughput share target)
    kind: str = "page"
    # What its body must hold besides a whole page (or the fragment's target element).
    expect: tuple[bytes, ...] = ()

    @property
    def fragment(self) -> bool:
        return self.kind in ("fragment", "section")


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    max_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


class Server:
    """gunicorn on 127.0.0.1:<free port>, stopped (and its workers with it) by stop()."""

    def __init__(self, *, env: dict[str, str], args: argparse.Namespace, log: Path) -> None:
        self.port = free_port()
        self.log = log
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "execdash.wsgi:application",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--error-logfile",
            str(log),
        ]
        if args.worker_class == "gthread":
            command += ["--threads", str(args.threads)]
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                status, _headers, _body = fetch(self.port, "/health/")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /health/ in time")

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # the arbiter stops its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def check(ok: bool, problem: object) -> None:
    if not ok:
        raise RuntimeError(f"benchmark precondition failed: {problem!r}")


def fetch(
    port: int,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.msg, response.read()
    finally:
        conn.close()


def cookies_of(headers: http.client.HTTPMessage) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for line in headers.get_all("Set-Cookie") or []:
        jar.load(line)
    return {name: morsel.value for name, morsel in jar.items()}


def log_in(port: int, username: str, password: str) -> str:
    """POST the login form like a browser; answers the Cookie header of the session."""
    status, headers, body = fetch(port, "/accounts/login/")
    check(status == 200, f"login page answered {status}")
    csrf = cookies_of(headers)["csrftoken"]
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if match is None:
        raise RuntimeError("no CSRF token in the login form")
    status, headers, _body = fetch(
        port,
        "/accounts/login/",
        method="POST",
        headers={
            "Cookie": f"csrftoken={csrf}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://127.0.0.1:{port}/accounts/login/",
        },
        body=urlencode(
            {
                "csrfmiddlewaretoken": match.group(1).decode(),
                "username": username,
                "password": password,
            }
        ),
    )
    session = cookies_of(headers).get("sessionid")
    check(status == 302 and bool(session), f"logging in {username} failed ({status})")
    return f"sessionid={session}; csrftoken={csrf}"


STATIC_REF = re.compile(r'(?:href|src)="(/static/[^"]+)"')
CSS_URL = re.compile(r"url\(\s*['\"]?(?!data:)([^'\")]+)['\"]?\s*\)")


def transferred(headers: http.client.HTTPMessage, body: bytes, status: int) -> int:
    """Bytes on the wire for one response: status line, headers and the (compressed) body."""
    return len(f"HTTP/1.1 {status} OK\r\n") + len(headers.as_bytes()) + len(body)


def first_load(port: int, path: str, cookie: str) -> dict[str, Any]:
    """The page and every static file it references (and the files those CSS reference)."""
    headers = {"Cookie": cookie, "Accept-Encoding": ACCEPT_ENCODING}
    status, msg, body = fetch(port, path, headers=headers)
    check(status == 200, f"{path} answered {status}")
    html = body
    if msg.get("Content-Encoding") == "gzip":
        import gzip

        html = gzip.decompress(body)
    files = [
        {
            "path": path,
            "bytes": transferred(msg, body, status),
            "encoding": msg.get("Content-Encoding", "identity"),
        }
    ]
    queue = list(dict.fromkeys(STATIC_REF.findall(html.decode())))
    seen: set[str] = set()
    while queue:
        ref = queue.pop(0)
        if ref in seen:
            continue
        seen.add(ref)
        status, msg, body = fetch(port, ref, headers={"Accept-Encoding": ACCEPT_ENCODING})
        check(status == 200, f"{ref} answered {status}")
        files.append(
            {
                "path": ref,
                "bytes": transferred(msg, body, status),
                "encoding": msg.get("Content-Encoding", "identity"),
            }
        )
        if ref.endswith(".css"):
            text = body
            if msg.get("Content-Encoding") == "gzip":
                import gzip

                text = gzip.decompress(body)
            base = ref.rsplit("/", 1)[0]
            for url in CSS_URL.findall(text.decode("utf-8", "replace")):
                queue.append(url if url.startswith("/") else f"{base}/{url}")
    return {"files": files, "total": sum(f["bytes"] for f in files)}


def fragment_size(port: int, page: Page, cookie: str) -> tuple[int, int]:
    """(bytes transferred with compression, bytes of HTML) of one fragment."""
    headers = {"Cookie": cookie, **page.headers}
    status, msg, raw = fetch(port, page.path, headers={**headers, "Accept-Encoding": "identity"})
    check(status == 200, f"{page.path} answered {status}")
    status, msg, body = fetch(port, page.path, headers={**headers, "Accept-Encoding": "gzip, br"})
    check(status == 200, f"{page.path} answered {status}")
    return transferred(msg, body, status), len(raw)


def run_ab(
    port: int, page: Page, cookie: str, *, requests: int, clients: int, keep_alive: bool
) -> Result:
    """`ab -n requests -c clients`: a fixed number of requests from a small C client."""
    with tempfile.NamedTemporaryFile("r", suffix=".csv") as percentiles:
        command = ["ab", "-q", "-l", "-n", str(requests), "-c", str(clients), "-s", "60"]
        command += ["-e", percentiles.name]
        if keep_alive:
            command.append("-k")
        for name, value in {
            "Cookie": cookie,
            "Accept-Encoding": ACCEPT_ENCODING,
            **page.headers,
        }.items():
            command += ["-H", f"{name}: {value}"]
        command.append(f"http://127.0.0.1:{port}{page.path}")
        out = subprocess.run(
            command, check=True, stdout=subprocess.PIPE, text=True, timeout=600
        ).stdout
        cuts = dict(
            (int(row[0]), float(row[1]))
            for row in (line.split(",") for line in percentiles.read().splitlines()[1:])
        )

    def field_of(name: str, default: str | None = None) -> str:
        match = re.search(rf"^{re.escape(name)}:\s+(\S+)", out, re.MULTILINE)
        if match is None:
            if default is None:
                raise RuntimeError(f"ab printed no {name!r}:\n{out}")
            return default
        return match.group(1)

    return Result(
        requests=int(field_of("Complete requests")),
        seconds=float(field_of("Time taken for tests")),
        p50_ms=cuts[50],
        p95_ms=cuts[95],
        max_ms=cuts[100],
        errors=int(field_of("Failed requests")) + int(field_of("Non-2xx responses", "0")),
    )


def run_threads(port: int, page: Page, cookie: str, *, requests: int, clients: int) -> Result:
    """The same load from Python threads, one keep-alive connection each (reopened whenever
    the server closes it, as sync workers do after every response)."""
    headers = {"Cookie": cookie, "Accept-Encoding": ACCEPT_ENCODING, **page.headers}
    lock = threading.Lock()
    tickets = iter(range(requests))
    latencies: list[float] = []
    errors = [0]

    def client() -> None:
        conn: http.client.HTTPConnection | None = None
        while True:
            with lock:
                if next(tickets, None) is None:
                    break
            began = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", page.path, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                ok = False
                if conn is not None:
                    conn.close()
                conn = None
            elapsed = time.perf_counter() - began
            with lock:
                latencies.append(elapsed)
                if not ok:
                    errors[0] += 1
        if conn is not None:
            conn.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=20)
    return Result(
        requests=len(latencies),
        seconds=seconds,
        p50_ms=statistics.median(latencies) * 1000,
        p95_ms=cuts[-1] * 1000,
        max_ms=max(latencies) * 1000,
        errors=errors[0],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400, help="measured requests per page")
    parser.add_argument("--warmup", type=int, default=40, help="unmeasured requests per page")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    parser.add_argument("--load", choices=["auto", "ab", "python"], default="auto")
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    # `make bench` hands BENCH_ARGS to every benchmark: options of another one are ignored.
    args, ignored = parser.parse_known_args()
    if ignored and not args.child:
        print(f"(ignoring options meant for another benchmark: {' '.join(ignored)})")
    if args.child:
        child(args.child)
        return
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        sys.exit("benchmarks/pages.py needs DATABASE_URL=postgres://… (PostgreSQL)")
    use_ab = args.load == "ab" or (args.load == "auto" and shutil.which("ab") is not None)
    if args.load == "ab" and not shutil.which("ab"):
        sys.exit("--load ab: ab is not installed (apt-get install -y apache2-utils)")
    # A SIGTERM (a timeout, Ctrl-C in make) still runs the `finally` that stops gunicorn.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))

    ensure_data(base)
    workdir = Path(tempfile.mkdtemp(prefix="execdash-bench-pages-"))
    server: Server | None = None
    try:
        (workdir / f"{SETTINGS_MODULE}.py").write_text(
            SETTINGS_TEXT.format(static_root=str(workdir / "static"))
        )
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url(base, DATABASE),
            DEBUG="false",
            SECRET_KEY=os.environ.get("SECRET_KEY", "benchmark-only-secret-key-0123456789"),
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_COOKIES="false",
            LOG_LEVEL="WARNING",
            EXECDASH_TIME_ZONE="UTC",  # as benchmarks/metrics.py computed the rollups
            DJANGO_SETTINGS_MODULE=SETTINGS_MODULE,
            PYTHONPATH=os.pathsep.join([str(workdir), str(ROOT)]),
        )
        env.pop("EXECDASH_TESTING", None)
        redis = args.redis if args.redis and redis_answers(args.redis) else ""
        if redis:
            import redis as redis_client

            # The benchmark's own Redis database: emptied, so cold requests are cold.
            redis_client.Redis.from_url(redis).flushdb()
            env["REDIS_URL"] = redis
        else:
            env.pop("REDIS_URL", None)
        prepared = run_child("prepare", env)
        for line in prepared["notes"]:
            print(line, flush=True)

        server = Server(env=env, args=args, log=workdir / "gunicorn.log")
        server.wait_ready()
        port = server.port
        cookies = {
            MANAGER: log_in(port, MANAGER, prepared["password"]),
            ADMIN: log_in(port, ADMIN, prepared["password"]),
        }
        team = MANAGER_TEAMS[0]
        fragment = {"HX-Request": "true", "HX-Target": "content", "HX-Current-URL": "/"}
        section = {**fragment, "HX-Current-URL": f"/teams/{team}/"}
        outcome, period = prepared["outcome"], prepared["period"]
        content = (b'id="content"',)
        pages = [
            Page("me", "trivial view /me/", "/me/", MANAGER, kind="baseline"),
            Page(
                "overview",
                "overview, manager of 2 teams",
                "/",
                MANAGER,
                kind="overview",
                expect=content,
            ),
            Page(
                "overview_admin",
                "overview, admin: 200 teams",
                "/",
                ADMIN,
                kind="overview",
                expect=content,
            ),
            Page("team", "team page", f"/teams/{team}/", MANAGER, expect=content),
            Page(
                "overview_fragment",
                "overview fragment (htmx, #content)",
                "/?range=26w",
                MANAGER,
                headers=fragment,
                kind="fragment",
            ),
            Page(
                "numbers_fragment",
                "team numbers fragment (htmx polling)",
                f"/teams/{team}/?range=26w",
                MANAGER,
                headers={**fragment, "HX-Target": "team-numbers"},
                kind="fragment",
            ),
            Page(
                "team_fragment",
                "team page fragment (htmx, #content)",
                f"/teams/{team}/?range=26w",
                MANAGER,
                headers=fragment,
                kind="fragment",
            ),
            Page(
                "flow_fragment",
                "team Flow section (htmx, lazy)",
                f"/teams/{team}/?range=26w",
                MANAGER,
                headers={**section, "HX-Target": "team-flow"},
                kind="section",
                expect=(b'id="kingman-title"', b"data-plotly="),
            ),
            Page(
                "knowledge_fragment",
                "team Knowledge sharing section (lazy)",
                f"/teams/{team}/?range=26w",
                MANAGER,
                headers={**section, "HX-Target": "team-knowledge"},
                kind="section",
                expect=(b"Team bus factor", b'class="bus-factors"'),
            ),
            Page(
                "outcomes",
                "outcomes, manager of 2 teams",
                "/outcomes/",
                MANAGER,
                expect=(b"data-outcome=", f'id="team-{team}"'.encode(), b"data-plotly="),
            ),
            Page(
                "outcomes_admin",
                "outcomes, admin: 200 teams",
                "/outcomes/",
                ADMIN,
                expect=(b"data-outcome=", b'id="show-all-teams"', b"data-plotly="),
            ),
            Page(
                "outcome",
                "an outcome's page",
                f"/outcomes/{outcome}/",
                MANAGER,
                expect=(b'id="standing-title"', b'id="chart-title"', b'id="measurements"'),
            ),
            Page(
                "focus",
                "focus page",
                f"/teams/{team}/focus/",
                MANAGER,
                expect=(b'id="content"', b'id="current-title"', b'class="past-periods"'),
            ),
            Page(
                "focus_period",
                "a focus period's page",
                f"/teams/{team}/focus/{period}/",
                MANAGER,
                expect=(b'id="content"', b'id="history-title"'),
            ),
            Page(
                "focus_propose",
                "propose a focus (form)",
                f"/teams/{team}/focus/propose/",
                MANAGER,
                expect=(b'id="focus-form"',),
            ),
        ]

        # Each page once, checked, and timed cold: the first request after the server
        # started (window answers may be computed and charts built here).
        cold: dict[str, float] = {}
        for page in pages:
            began = time.perf_counter()
            status, _msg, body = fetch(
                port, page.path, headers={"Cookie": cookies[page.user], **page.headers}
            )
            cold[page.key] = time.perf_counter() - began
            check(status == 200, f"{page.path} as {page.user} answered {status}")
            if page.key == "me":
                check(body == page.user.encode(), body[:200])
            elif page.fragment:
                target = page.headers["HX-Target"].encode()
                check(b'id="' + target + b'"' in body and b"<html" not in body, body[:300])
            else:
                check(b"<html" in body, body[:300])
            for marker in page.expect:
                check(marker in body, f"{page.path} as {page.user}: no {marker!r} in the body")

        load = f"ab {ab_version()}" if use_ab else "a Python thread pool (ab not installed)"
        print(
            f"\nLoad: {args.clients} concurrent clients, {args.requests} requests per page after "
            f"{args.warmup} warm-up requests, from {load}; gunicorn {args.workers} "
            f"{args.worker_class} workers"
            + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
            + f"; cache: {'Redis ' + redis if redis else 'local memory (no Redis)'}.",
            flush=True,
        )

        def measure(page: Page) -> Result:
            cookie = cookies[page.user]
            if use_ab:
                keep_alive = args.worker_class == "gthread"
                for requests in (max(args.warmup, args.clients), args.requests):
                    result = run_ab(
                        port,
                        page,
                        cookie,
                        requests=requests,
                        clients=args.clients,
                        keep_alive=keep_alive,
                    )
                return result
            run_threads(port, page, cookie, requests=args.warmup, clients=args.clients)
            return run_threads(port, page, cookie, requests=args.requests, clients=args.clients)

        load_before = os.getloadavg()[0]
        results = {page.key: measure(page) for page in pages}
        again = measure(pages[0])  # the baseline once more, to see drift over the run
        load_after = os.getloadavg()[0]

        loads = {
            "overview": first_load(port, "/", cookies[MANAGER]),
            "overview_admin": first_load(port, "/", cookies[ADMIN]),
            "team": first_load(port, f"/teams/{team}/", cookies[MANAGER]),
            "outcomes": first_load(port, "/outcomes/", cookies[MANAGER]),
            "outcomes_admin": first_load(port, "/outcomes/", cookies[ADMIN]),
            "focus": first_load(port, f"/teams/{team}/focus/", cookies[MANAGER]),
        }
        sizes = {
            page.key: fragment_size(port, page, cookies[page.user])
            for page in pages
            if page.fragment
        }
    except BaseException:
        log = workdir / "gunicorn.log"
        if log.exists():
            print(f"--- the end of gunicorn's log:\n{log.read_text()[-4000:]}", file=sys.stderr)
        raise
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    report(pages, results, again, cold, loads, sizes)
    print(
        f"(1-minute load average {load_before:.1f} before the measurements, "
        f"{load_after:.1f} after; this machine has {os.cpu_count()} CPUs)"
    )


def ab_version() -> str:
    out = subprocess.run(["ab", "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    match = re.search(r"Version (\S+)", out.stdout)
    return match.group(1) if match else "?"


def verdict(ok: bool) -> str:
    return "meets" if ok else "MISSES"


def report(
    pages: list[Page],
    results: dict[str, Result],
    again: Result,
    cold: dict[str, float],
    loads: dict[str, dict[str, Any]],
    sizes: dict[str, tuple[int, int]],
) -> None:
    base = results["me"]
    baseline_rps = (base.rps + again.rps) / 2
    print(
        f"\n1. Throughput and latency (share of the trivial view's {baseline_rps:.0f} req/s, "
        f"the mean of its runs at the start, {base.rps:.0f}, and the end, {again.rps:.0f})"
    )
    print(
        f"   {'':38} {'req/s':>7} {'p50':>9} {'p95':>9} {'share':>6}  cold first request, targets"
    )
    failures = 0
    for page in pages:
        result = results[page.key]
        share = result.rps / baseline_rps
        p95_ok = result.p95_ms <= TARGETS["p95_ms"]
        notes = [f"p95 <= {TARGETS['p95_ms']:.0f} ms: {verdict(p95_ok)}"]
        ok = p95_ok
        if page.kind in ("overview", "fragment"):
            wanted = TARGETS["overview_share" if page.kind == "overview" else "fragment_share"]
            share_ok = share >= wanted
            ok = ok and share_ok
            notes.insert(0, f">= {wanted:.0%}: {verdict(share_ok)}")
        if result.errors:
            notes.append(f"{result.errors} ERRORS")
            ok = False
        failures += not ok
        shown = "  base" if page.kind == "baseline" else f"{share:6.0%}"
        print(
            f"   {page.label:38} {result.rps:7.1f} {result.p50_ms:6.1f} ms {result.p95_ms:6.1f} ms "
            f"{shown}  {cold[page.key] * 1000:.0f} ms; {'; '.join(notes)}"
        )
    print("2. Bytes transferred (Accept-Encoding: gzip, br; headers included)")
    for key, label in (
        ("overview", "overview, first load, manager"),
        ("overview_admin", "overview, first load, admin"),
        ("team", "team page, first load (not a target)"),
        ("outcomes", "outcomes, first load, manager"),
        ("outcomes_admin", "outcomes, first load, admin"),
        ("focus", "focus page, first load"),
    ):
        load = loads[key]
        line = f"   {label:38} {load['total'] / KB:7.1f} KB in {len(load['files'])} responses"
        if key != "team":
            ok = load["total"] <= TARGETS["first_load_kb"] * KB
            failures += not ok
            line += f" (target <= {TARGETS['first_load_kb']:.0f} KB: {verdict(ok)})"
        print(line)
        for item in load["files"]:
            print(f"       {item['bytes'] / KB:8.1f} KB  {item['encoding']:8} {item['path']}")
    for page in pages:
        if page.key not in sizes:
            continue
        wire, html = sizes[page.key]
        ok = wire <= TARGETS["fragment_kb"] * KB
        failures += not ok
        print(
            f"   {page.label:38} {wire / KB:7.1f} KB transferred, {html / KB:.1f} KB of HTML "
            f"(target <= {TARGETS['fragment_kb']:.0f} KB: {verdict(ok)})"
        )
    print(
        "\nAll page targets met."
        if not failures
        else f"\n{failures} figure(s) miss a target (see BENCHMARKS.md)."
    )


# --- the child: Django set up against execdash_bench ------------------------------------


def child(mode: str) -> None:
    import django

    django.setup()
    result = {"prepare": child_prepare}[mode]()
    print(json.dumps(result))


def child_prepare() -> dict[str, Any]:
    """Rollups computed, static files collected, a manager of two teams and an admin, the
    teams' focus periods and outcomes, and the stored answers the pages read."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.db.models import Max

    from apps.incidents.models import Incident
    from apps.metrics.models import DirtyBucket, WeeklyRollup
    from apps.teams.models import Membership, Team

    notes = []
    executor = MigrationExecutor(connection)
    unapplied = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if unapplied:
        call_command("migrate", verbosity=0)
        notes.append(f"{len(unapplied)} migration(s) applied")
    scopes = WeeklyRollup.objects.values("scope").distinct().count()
    written = Incident.objects.aggregate(last=Max("created_at"))["last"]
    computed = WeeklyRollup.objects.aggregate(last=Max("computed_at"))["last"]
    complete = (
        scopes >= Team.objects.count() + 1  # every team and the organization
        and written is not None
        and computed is not None
        and computed >= written
        and not DirtyBucket.objects.exists()
        and not unapplied
    )
    if not complete:
        began = time.perf_counter()
        call_command("recompute_metrics", stdout=open(os.devnull, "w"))  # noqa: SIM115
        notes.append(f"rollups recomputed ({time.perf_counter() - began:.0f} s)")
    else:
        notes.append(f"rollups reused: {WeeklyRollup.objects.count():,} weekly rows, none dirty")
    newest = Incident.objects.aggregate(newest=Max("started_at"))["newest"]
    if newest is not None:
        notes.append(f"newest incident: {newest:%Y-%m-%d %H:%M} UTC")
    call_command("collectstatic", interactive=False, verbosity=0)

    password = secrets.token_urlsafe(16)
    user_model = get_user_model()
    manager, _ = user_model.objects.get_or_create(username=MANAGER)
    manager.is_staff = manager.is_superuser = False
    manager.set_password(password)
    manager.save()
    admin, _ = user_model.objects.get_or_create(username=ADMIN)
    admin.is_staff = admin.is_superuser = True
    admin.set_password(password)
    admin.save()
    teams = list(Team.objects.filter(slug__in=MANAGER_TEAMS))
    check(len(teams) == len(MANAGER_TEAMS), "the benchmark teams are missing")
    Membership.objects.filter(user=manager).exclude(team__in=teams).delete()
    for team in teams:
        Membership.objects.update_or_create(
            user=manager, team=team, defaults={"role": Membership.Role.MANAGER}
        )

    notes += focus_and_outcomes_ensure(manager=manager, admin=admin)
    notes += stored_answers_refresh()
    team = Team.objects.get(slug=MANAGER_TEAMS[0])
    current = team.focus_periods.filter(ends_on__isnull=True).first() or (
        team.focus_periods.order_by("-starts_on").first()
    )
    outcome = team.outcomes.order_by("pk").first()
    if current is None or outcome is None:
        raise RuntimeError(f"{team.slug} has no focus period or no outcome")
    return {
        "password": password,
        "notes": notes,
        "period": current.pk,
        "outcome": outcome.pk,
    }


# What the focus and outcome pages show, made up for the 200 bench teams (reproducibly).
FOCUS_SEED = 20260412
ORG_OUTCOMES = (
    # name, unit, direction, baseline, target
    ("Customer NPS", "", "up", 31.0, 45.0),
    ("Checkout conversion", "%", "up", 2.4, 3.2),
    ("Weekly active teams", "", "up", 1800.0, 2600.0),
    ("Support tickets per 1,000 users", "", "down", 14.0, 8.0),
    ("Crash-free sessions", "%", "up", 97.1, 99.5),
)
TEAM_OUTCOMES = (
    ("Search click-through", "%", "up", 18.0, 26.0),
    ("Time to first value", "min", "down", 42.0, 20.0),
    ("Onboarding completion", "%", "up", 55.0, 75.0),
    ("Failed payments", "%", "down", 3.5, 1.5),
    ("Report exports per week", "", "up", 900.0, 1400.0),
    ("Page load p75", "ms", "down", 2400.0, 1500.0),
)
SIGNALS = {
    "stability": [{"metric": "time_to_restore", "comparator": "<", "target": 4.0}],
    "throughput": [{"metric": "deployment_frequency", "comparator": ">=", "target": 35.0}],
    "knowledge_sharing": [{"metric": "bus_factor", "comparator": ">=", "target": 3.0}],
}
TRADEOFFS = {
    "stability": (
        ["deployment_frequency", "lead_time"],
        "Fewer, safer releases while the alerting and rollbacks are fixed.",
    ),
    "throughput": (
        ["change_failure_rate"],
        "A few more failed deployments while the pipeline gets faster.",
    ),
    "knowledge_sharing": (["lead_time"], "Pairing slows changes down for a while."),
}


def focus_and_outcomes_ensure(*, manager: Any, admin: Any) -> list[str]:
    """Every bench team's focus periods (4 to 6 over the last year and a half, every kind,
    with their history: one running and aligned, some past their revisit date, some next
    ones waiting for sign-off or sent back) and two outcomes measured weekly for a year,
    laddering up to five organization outcomes. Reused when every team still has a period
    covering today and measurements of the last week; otherwise written again."""
    from django.db import transaction
    from django.db.models import Max, Q
    from django.utils import timezone

    from apps.focus.models import FocusPeriod
    from apps.outcomes.models import Outcome, OutcomeMeasurement
    from apps.teams.models import Team

    today = timezone.localdate()
    bench = Team.objects.filter(slug__startswith="bench-")
    team_count = bench.count()
    covered = (
        FocusPeriod.objects.filter(team__in=bench, starts_on__lte=today)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
        .values("team")
        .distinct()
        .count()
    )
    org_names = [name for name, *_rest in ORG_OUTCOMES]
    outcomes = Outcome.objects.filter(Q(team__in=bench) | Q(team=None, name__in=org_names))
    measured = OutcomeMeasurement.objects.filter(outcome__in=outcomes).aggregate(
        last=Max("measured_on")
    )["last"]
    periods = FocusPeriod.objects.filter(team__in=bench)
    if (
        covered == team_count
        and outcomes.count() == 2 * team_count + len(ORG_OUTCOMES)
        and measured is not None
        and measured >= today - dt.timedelta(days=7)
    ):
        return [
            f"focus periods and outcomes reused: {periods.count():,} periods, "
            f"{outcomes.count()} outcomes"
        ]
    began = time.perf_counter()
    with transaction.atomic():
        periods.delete()  # their history and evaluations with them
        outcomes.delete()
        written, events = focus_write(list(bench.order_by("slug")), manager, admin, today)
    notes = [
        f"focus periods written: {written:,} periods, {events:,} history events "
        f"({time.perf_counter() - began:.1f} s)"
    ]
    began = time.perf_counter()
    with transaction.atomic():
        outcome_count, measurements = outcomes_write(list(bench.order_by("slug")), today)
    notes.append(
        f"outcomes written: {outcome_count} outcomes, {measurements:,} weekly measurements "
        f"({time.perf_counter() - began:.1f} s)"
    )
    return notes


Step = tuple[
    str, dt.datetime, Any, str, dict[str, Any]
]  # a FocusEvent: kind, at, actor, note, changes


def focus_write(teams: list[Any], manager: Any, admin: Any, today: dt.date) -> tuple[int, int]:
    """The periods of `teams` and their FocusEvent history, in bulk (no services: no
    evaluation is refreshed on commit, stored_answers_refresh does it once)."""
    import random

    from django.utils import timezone

    from apps.focus.models import FocusEvent, FocusKind, FocusPeriod
    from apps.focus.services import focus_kinds_ensure_builtin

    focus_kinds_ensure_builtin()
    kinds = list(FocusKind.objects.order_by("slug"))
    status = FocusPeriod.Status
    event = FocusEvent.Kind
    now = timezone.now()
    periods: list[FocusPeriod] = []
    plans: list[list[Step]] = []

    def moment(day: dt.date, hour: int) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)

    def add(period: FocusPeriod, steps: list[Step], *, proposed_revisit: dt.date | None) -> None:
        proposal = {
            "kind": period.kind.slug,
            "starts_on": period.starts_on.isoformat(),
            "ends_on": period.ends_on.isoformat() if period.ends_on else None,
            "rationale": period.rationale,
            "success_signals": period.success_signals,
            "tradeoff_metrics": period.tradeoff_metrics,
            "tradeoff": period.tradeoff,
            "revisit_on": proposed_revisit.isoformat() if proposed_revisit else None,
        }
        first: Step = (
            event.PROPOSED,
            period.proposed_at or now,
            manager,
            "",
            {k: [None, v] for k, v in proposal.items()},
        )
        periods.append(period)
        plans.append([first, *steps])

    def period_of(
        team: Any, kind: FocusKind, starts_on: dt.date, ends_on: dt.date | None
    ) -> FocusPeriod:
        metrics, why = TRADEOFFS.get(kind.slug, ([], ""))
        return FocusPeriod(
            team=team,
            kind=kind,
            starts_on=starts_on,
            ends_on=ends_on,
            rationale=f"{kind.name}: what {team.name} needs most this quarter.",
            success_signals=SIGNALS.get(kind.slug, []),
            tradeoff_metrics=metrics,
            tradeoff=why,
            revisit_on=starts_on + dt.timedelta(weeks=4),
            proposed_by=manager,
            proposed_at=moment(starts_on - dt.timedelta(days=7), 9),
        )

    for index, team in enumerate(teams):
        rng = random.Random(FOCUS_SEED + index)
        upcoming = index % 3 == 0  # a next period proposed (every sixth one sent back)
        # The running period, aligned; one team in four is past its revisit date.
        start = today - dt.timedelta(weeks=rng.randrange(3, 9))
        end = today + dt.timedelta(weeks=rng.randrange(2, 7)) if upcoming else None
        current = period_of(team, kinds[index % len(kinds)], start, end)
        current.status = status.ALIGNED
        current.aligned_by = admin
        current.aligned_at = moment(start - dt.timedelta(days=5), 14)
        current.revisit_on = (
            today - dt.timedelta(days=rng.randrange(1, 15))
            if index % 4 == 0
            else today + dt.timedelta(days=rng.randrange(1, 29))
        )
        add(
            current,
            [
                (
                    event.ALIGNED,
                    current.aligned_at,
                    admin,
                    "Agreed.",
                    {"status": ["proposed", "aligned"]},
                )
            ],
            proposed_revisit=current.revisit_on,
        )
        if upcoming and end is not None:
            starts = end + dt.timedelta(days=1 + 7 * rng.randrange(0, 3))
            nxt = period_of(
                team, kinds[(index + 1) % len(kinds)], starts, starts + dt.timedelta(weeks=8)
            )
            nxt.proposed_at = now - dt.timedelta(days=rng.randrange(1, 10), hours=3)
            steps: list[Step] = []
            if index % 6 == 3:
                nxt.status = status.SENT_BACK
                sent = nxt.proposed_at + dt.timedelta(hours=20)
                note = "Which success signal tells us it worked? Add a target."
                steps.append(
                    (event.SENT_BACK, sent, admin, note, {"status": ["proposed", "sent_back"]})
                )
            else:
                nxt.status = status.PROPOSED
            add(nxt, steps, proposed_revisit=nxt.revisit_on)
        # Closed periods before it, back to about a year and a half ago.
        end = start - dt.timedelta(days=1 + 7 * rng.randrange(0, 3))
        # 4 to 6 periods in all: the running one, the next one (if any) and the past ones.
        for number in range(rng.randrange(4, 7) - 1 - upcoming):
            weeks = rng.randrange(4, 13)
            starts = end - dt.timedelta(weeks=weeks) + dt.timedelta(days=1)
            past = period_of(team, kinds[(index + 2 + number) % len(kinds)], starts, end)
            past.status = status.CLOSED
            past.aligned_by = admin
            past.aligned_at = moment(starts - dt.timedelta(days=4), 11)
            steps = [
                (event.ALIGNED, past.aligned_at, admin, "", {"status": ["proposed", "aligned"]})
            ]
            revisit = past.revisit_on
            if revisit is not None and revisit < end:
                later = revisit + dt.timedelta(weeks=4)
                steps.append(
                    (
                        event.REVISITED_KEEP,
                        moment(revisit, 10),
                        manager,
                        "Still the right focus.",
                        {"revisit_on": [revisit.isoformat(), later.isoformat()]},
                    )
                )
                past.revisit_on = later
            steps.append(
                (
                    event.CLOSED,
                    moment(end, 16),
                    manager,
                    "Done: on to the next focus.",
                    {"status": ["aligned", "closed"]},
                )
            )
            add(past, steps, proposed_revisit=revisit)
            end = starts - dt.timedelta(days=1 + 7 * rng.randrange(0, 4))
    FocusPeriod.objects.bulk_create(periods, batch_size=1000)
    rows = [
        FocusEvent(period=period, kind=kind, at=at, actor=actor, note=note, changes=changes)
        for period, plan in zip(periods, plans, strict=True)
        for kind, at, actor, note, changes in plan
    ]
    FocusEvent.objects.bulk_create(rows, batch_size=2000)
    return len(periods), len(rows)


def outcomes_write(teams: list[Any], today: dt.date) -> tuple[int, int]:
    """Five organization outcomes and two per team (laddering up to them), each measured
    every week for a year: most move toward their target, some teams' stall lately."""
    import random

    from apps.outcomes.models import Outcome, OutcomeMeasurement

    rng = random.Random(FOCUS_SEED)
    target_date = today + dt.timedelta(weeks=26)
    org = Outcome.objects.bulk_create(
        Outcome(
            team=None,
            name=name,
            unit=unit,
            direction=direction,
            baseline=baseline,
            target=target,
            target_date=target_date,
        )
        for name, unit, direction, baseline, target in ORG_OUTCOMES
    )
    mine = []
    for index, team in enumerate(teams):
        for slot in range(2):
            name, unit, direction, baseline, target = TEAM_OUTCOMES[
                (2 * index + slot) % len(TEAM_OUTCOMES)
            ]
            mine.append(
                Outcome(
                    team=team,
                    name=name,
                    unit=unit,
                    direction=direction,
                    baseline=baseline,
                    target=target,
                    target_date=target_date if slot == 0 else None,
                    parent=org[(2 * index + slot) % len(org)],
                )
            )
    mine = Outcome.objects.bulk_create(mine, batch_size=1000)
    # One team in five (bench-000 among them): both outcomes stall over the last 6 weeks.
    stalled = {o.pk for number, o in enumerate(mine) if (number // 2) % 5 == 0}
    weeks = 52
    rows = []
    for outcome in [*org, *mine]:
        pace = rng.uniform(0.4, 1.1)  # how much of the way it gets in a year
        for week in range(weeks + 1):
            progress = pace * week / weeks
            if outcome.pk in stalled and week > weeks - 6:
                progress = pace * (weeks - 6) / weeks - 0.02 * (week - weeks + 6)
            noise = rng.gauss(0, 0.015)
            value = outcome.baseline + (progress + noise) * (outcome.target - outcome.baseline)
            rows.append(
                OutcomeMeasurement(
                    outcome=outcome,
                    measured_on=today - dt.timedelta(weeks=weeks - week),
                    value=round(value, 2),
                )
            )
    OutcomeMeasurement.objects.bulk_create(rows, batch_size=5000)
    return len(org) + len(mine), len(rows)


def stored_answers_refresh() -> list[str]:
    """The answers the worker stores and the pages read: each focus period's evaluation
    (`focus_evaluations_refresh`, for the teams with a missing or stale one: a running
    period's holds for the day it was computed on) and the outcomes' progress and the teams'
    "busy, not moving" flags (`outcome_answers_refresh`, a few grouped queries)."""
    from django.utils import timezone

    from apps.focus.evaluations import focus_evaluations_refresh, period_signature
    from apps.focus.models import FocusPeriod
    from apps.metrics.selectors import scope_versions
    from apps.outcomes.answers import outcome_answers_refresh
    from apps.outcomes.models import TeamOutcomeFlag

    notes = []
    today = timezone.localdate()
    periods = list(
        FocusPeriod.objects.filter(team__slug__startswith="bench-").select_related(
            "kind", "evaluation"
        )
    )
    versions = scope_versions(sorted({p.team_id for p in periods}))
    stale: set[int] = set()
    for period in periods:
        row = getattr(period, "evaluation", None)
        holds = (
            row is not None
            and row.version == versions.get(period.team_id, "")
            and row.signature == period_signature(period)
            and (
                row.evaluated_on == today
                or (period.ends_on is not None and period.ends_on < row.evaluated_on)
            )
        )
        if not holds:
            stale.add(period.team_id)
    if stale:
        began = time.perf_counter()
        written = focus_evaluations_refresh(team_ids=sorted(stale))
        notes.append(
            f"focus evaluations stored: {written:,} periods of {len(stale)} teams "
            f"({time.perf_counter() - began:.1f} s)"
        )
    else:
        notes.append(f"focus evaluations reused: {len(periods):,} periods, all current")
    began = time.perf_counter()
    flagged = outcome_answers_refresh()
    notes.append(
        f"outcome answers stored: progress of every outcome, {TeamOutcomeFlag.objects.count()} "
        f"team flags, {flagged} busy-not-moving ({time.perf_counter() - began:.1f} s)"
    )
    return notes


if __name__ == "__main__":
    main()
