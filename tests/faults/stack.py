"""Real processes for the fault tests, and a small HTTP client.

A Redis and a PostgreSQL cluster of the test's own (on free ports, in temporary directories,
removed afterwards: the machine's shared services are never stopped), gunicorn with
production settings, Celery workers and beats. Every process runs in its own session and
is stopped with everything it started.
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from glob import glob
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from tests.integration.conftest import ROOT, process_env, stop, wait_until

SECRET = "fault-tests-" + "k" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill(process: subprocess.Popen[Any]) -> None:
    """SIGKILL a process and everything in its session: no shutdown of any kind."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def tail(log: Path, chars: int = 4000) -> str:
    return log.read_text(errors="replace")[-chars:] if log.exists() else "(no log)"


# --- Redis -------------------------------------------------------------------------------


class RedisServer:
    """A redis-server of the test's own, without persistence (a restart loses the queue,
    the worst case for the broker)."""

    def __init__(self, directory: Path, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = spawn(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            env=dict(os.environ),
            log=self.directory / "redis.log",
        )
        if not wait_until(self.answers, timeout=15):
            raise AssertionError(
                f"redis-server did not start:\n{tail(self.directory / 'redis.log')}"
            )

    def answers(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process is not None:
            kill(self.process)
            self.process = None

    stop = kill


# --- PostgreSQL ----------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PostgresCluster:
    """initdb into a temporary directory, run as the `postgres` user when we are root."""

    def __init__(self, directory: Path) -> None:
        bindir = postgres_bin()
        if bindir is None:
            raise AssertionError("no initdb under /usr/lib/postgresql/*/bin")
        self.bin = bindir
        self.directory = directory
        self.data = directory / "data"
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam("postgres")
            os.chown(directory, entry.pw_uid, entry.pw_gid)

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, check=check, timeout=120, cwd="/tmp"
        )

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.directory / "pg.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


# --- execdash processes --------------------------------------------------------------------


def app_env(redis_url: str, *, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """Production settings (DEBUG off) against the test database and the given Redis."""
    env = process_env()
    env.pop("SECRET_KEY_FILE", None)
    env.update(
        REDIS_URL=redis_url,
        DEBUG="false",
        SECRET_KEY=SECRET,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_COOKIES="false",
        # Static files from the finders: no collectstatic manifest needed.
        EXECDASH_TESTING="true",
        LOG_LEVEL="WARNING",
        # These tests send bursts from one address and one token on purpose.
        RATE_LIMIT_API="off",
        RATE_LIMIT_LOGIN="off",
        RATE_LIMIT_WEBHOOKS="off",
        **extra,
    )
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


class Web:
    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 2) -> None:
        self.port = free_port()
        self.base = f"127.0.0.1:{self.port}"
        self.log = log
        self.process = spawn(
            [
                sys.executable, "-m", "gunicorn", "execdash.wsgi:application",
                "--bind", self.base, "--workers", str(workers), "--timeout", "60",
                "--graceful-timeout", "5", "--error-logfile", "-",
            ],
            env=env,
            log=log,
        )  # fmt: skip
        if not wait_until(self._live, timeout=60, interval=0.2):
            raise AssertionError(f"gunicorn did not answer /health/live:\n{tail(log)}")

    def _live(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"gunicorn exited:\n{tail(self.log)}")
        return Client(self.port).get("/health/live").status == 200

    def stop(self) -> None:
        stop(self.process, timeout=10)


def worker(env: dict[str, str], log: Path, *, pool: str = "solo", concurrency: int = 1) -> Any:
    name = f"fault-{uuid.uuid4().hex[:8]}@localhost"
    return spawn(
        [
            sys.executable, "-m", "celery", "-A", "execdash", "worker", "-P", pool,
            "-c", str(concurrency), "-n", name, "--loglevel=INFO",
            "--without-gossip", "--without-mingle",
        ],
        env=env,
        log=log,
    )  # fmt: skip


def beat(env: dict[str, str], log: Path, schedule: Path) -> Any:
    return spawn(
        [
            sys.executable, "-m", "celery", "-A", "execdash", "beat", "--loglevel=INFO",
            "--schedule", str(schedule),
        ],
        env=env,
        log=log,
    )  # fmt: skip


@contextmanager
def processes() -> Iterator[list[Any]]:
    """Collects processes (or objects with stop()) and stops them all on the way out."""
    started: list[Any] = []
    try:
        yield started
    finally:
        for item in reversed(started):
            with suppress(Exception):  # stop the others whatever happens
                item.stop() if hasattr(item, "stop") else stop(item, timeout=10)


# --- HTTP ----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: str
    seconds: float
    headers: dict[str, str]


class Client:
    """A browser's worth of HTTP: cookies, the CSRF token, no redirect following."""

    def __init__(self, port: int, timeout: float = 30) -> None:
        self.port = port
        self.timeout = timeout
        self.cookies: dict[str, str] = {}

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        except OSError as exc:
            return Answer(0, f"{type(exc).__name__}: {exc}", time.monotonic() - started, {})
        finally:
            conn.close()
        seconds = time.monotonic() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return Answer(
            response.status,
            data.decode(errors="replace"),
            seconds,
            {k.lower(): v for k, v in response.getheaders()},
        )

    def get(self, path: str, **headers: str) -> Answer:
        return self.request("GET", path, headers=headers)

    def fragment(self, path: str) -> Answer:
        return self.request("GET", path, headers={"HX-Request": "true"})

    def post_form(self, path: str, data: dict[str, str], referer: str | None = None) -> Answer:
        token = self.cookies.get("csrftoken", "")
        body = urlencode({"csrfmiddlewaretoken": token, **data}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": f"http://127.0.0.1:{self.port}{referer or path}",
            "Origin": f"http://127.0.0.1:{self.port}",
        }
        return self.request("POST", path, body=body, headers=headers)

    def login(self, username: str, password: str) -> list[Answer]:
        page = self.get("/accounts/login/")
        posted = self.post_form("/accounts/login/", {"username": username, "password": password})
        return [page, posted]

    def post_json(self, path: str, payload: dict[str, Any], token: str) -> Answer:
        return self.request(
            "POST",
            path,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        )

    def get_json(self, path: str, token: str) -> Answer:
        return self.request("GET", path, headers={"Authorization": f"Bearer {token}"})


def first_link(html: str, pattern: str) -> str | None:
    found = re.search(pattern, html)
    return found.group(0) if found else None


# --- rollups --------------------------------------------------------------------------------


ROLLUP_IGNORED = {"id", "computed_at"}


def rollup_rows() -> dict[tuple[int, Any], dict[str, Any]]:
    from apps.metrics.models import WeeklyRollup

    fields = [
        f.attname for f in WeeklyRollup._meta.concrete_fields if f.attname not in ROLLUP_IGNORED
    ]
    return {(row["scope"], row["week_start"]): row for row in WeeklyRollup.objects.values(*fields)}


def rollup_differences() -> list[str]:
    """What the stored rollups get wrong: a from-scratch recompute is run and compared."""
    from apps.metrics.rollups import rollups_recompute_all

    stored = rollup_rows()
    rollups_recompute_all(trigger="check")
    fresh = rollup_rows()
    wrong = []
    for key in sorted(set(stored) | set(fresh), key=str):
        a, b = stored.get(key), fresh.get(key)
        if a is None or b is None:
            wrong.append(f"{key}: stored {a is not None}, recomputed {b is not None}")
            continue
        for name, value in b.items():
            other = a[name]
            if isinstance(value, float) and isinstance(other, float):
                if abs(value - other) > 1e-6 * max(1.0, abs(value)):
                    wrong.append(f"{key}.{name}: stored {other}, recomputed {value}")
            elif value != other:
                wrong.append(f"{key}.{name}: stored {other!r}, recomputed {value!r}")
    return wrong


def settle(check: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    return wait_until(check, timeout=timeout, interval=interval)
