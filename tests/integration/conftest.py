"""A real Celery worker on Redis, against the test database, for the integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The URL of the database pytest-django created (test_<name>), for other processes."""
    db = connection.settings_dict
    user = quote(db.get("USER") or "")
    password = f":{quote(db['PASSWORD'])}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{db['NAME']}"


def process_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=test_database_url(),
        REDIS_URL=settings.REDIS_URL,
        DJANGO_SETTINGS_MODULE="execdash.settings",
        EXECDASH_RECOMPUTE_DELAY_SECONDS="0.2",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def stop(process: subprocess.Popen[Any], timeout: float = 15) -> None:
    """Stop a process started in its own session, and everything it started."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


def wait_until(check: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Worker:
    def __init__(self, log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.env = env
        self.name = f"execdash-test-{uuid.uuid4().hex[:8]}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        from execdash.celery import app

        # Messages left by earlier tests (no worker was running then) would be consumed
        # first; and a debounce flag left behind would swallow the next schedule.
        app.control.purge()
        cache.clear()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
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
                    self.name,
                    "--loglevel=INFO",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=ROOT,
                env=self.env or process_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the worker exited:\n{self.output()}")
            return bool(app.control.ping(destination=[self.name], timeout=0.5))

        if not wait_until(ready, timeout, interval=0.2):
            raise AssertionError(f"the worker did not answer a ping:\n{self.output()}")

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:] if self.log.exists() else ""


@pytest.fixture
def worker_factory(transactional_db: None, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    """Make (not start) a worker; every worker made is stopped after the test, before the
    test database is flushed."""
    made: list[Worker] = []

    def make() -> Worker:
        worker = Worker(tmp_path / f"worker-{len(made)}.log")
        made.append(worker)
        return worker

    try:
        yield make
    finally:
        for worker in made:
            worker.stop()


@pytest.fixture
def worker(worker_factory: Callable[[], Worker]) -> Worker:
    w = worker_factory()
    w.start()
    return w
