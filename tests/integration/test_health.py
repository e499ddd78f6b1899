"""/health/ready against a real worker and a real beat (PostgreSQL, Redis, `celery worker`
and `celery beat` subprocesses): the worker's heartbeat comes from the worker itself, so a
worker without beat is up, and beat is reported by name."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client

from execdash.celery import BEAT_HEARTBEAT_KEY, HEARTBEAT_KEY
from tests.faults.stack import beat, tail
from tests.integration.conftest import Worker, process_env, stop, wait_until

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]

EVERY = "1"  # the processes' heartbeat interval, in seconds


def ready(client: Client) -> tuple[int, dict]:
    response = client.get("/health/ready")
    return response.status_code, response.json()


def test_a_worker_without_beat_is_up_and_beat_is_reported_down(tmp_path: Path) -> None:
    worker = Worker(tmp_path / "worker.log", env=process_env(EXECDASH_HEARTBEAT_SECONDS=EVERY))
    beat_process = None
    try:
        worker.start()  # clears the cache first: no heartbeat of an earlier test is left
        # Forget the one written when it became ready: the next ones come from its timer,
        # with no beat running to send it a task.
        cache.delete(HEARTBEAT_KEY)
        assert wait_until(lambda: cache.get(HEARTBEAT_KEY), timeout=10), worker.output()
        cache.delete(HEARTBEAT_KEY)
        assert wait_until(lambda: cache.get(HEARTBEAT_KEY), timeout=10), worker.output()

        client = Client()
        status, body = ready(client)
        assert status == 200, body
        assert body["checks"]["worker"]["status"] == "ok"
        assert body["checks"]["beat"] == {"status": "down", "detail": "no beat heartbeat"}
        assert body["summary"]["beat"] == "down: no beat heartbeat"

        # Beat started: its scheduler writes its own heartbeat.
        env = process_env(EXECDASH_HEARTBEAT_SECONDS=EVERY)
        beat_process = beat(env, tmp_path / "beat.log", tmp_path / "beat-schedule")
        assert wait_until(lambda: cache.get(BEAT_HEARTBEAT_KEY), timeout=30), tail(
            tmp_path / "beat.log"
        )
        status, body = ready(client)
        assert status == 200, body
        assert body["summary"]["beat"] == "ok"
        assert body["summary"]["worker"] == "ok"

        # The worker stopped: its heartbeat is no longer written (and ages out).
        worker.stop()
        cache.delete(HEARTBEAT_KEY)
        time.sleep(3 * float(EVERY))
        status, body = ready(client)
        assert status == 503, body
        assert body["summary"]["worker"] == "down: no worker heartbeat"
        assert body["summary"]["beat"] == "ok"  # beat runs on without a worker
    finally:
        worker.stop()
        if beat_process is not None:
            stop(beat_process)
