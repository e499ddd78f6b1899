"""`make serve-prod` (scripts/run_stack.sh): gunicorn, worker and beat, without Docker."""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, process_env, stop, wait_until

pytestmark = [
    pytest.mark.services,
    pytest.mark.django_db(transaction=True),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""


def test_the_production_topology_runs_here(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "stack.log"
    env = process_env(
        PORT=str(port),
        SECRET_KEY="stack-test-" + "k" * 40,
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        BEAT_SCHEDULE=str(tmp_path / "beat-schedule"),
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="1",
    )
    env.pop("SECRET_KEY_FILE", None)
    with log.open("wb") as out:
        stack = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "run_stack.sh")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        healthy = wait_until(lambda: get(f"{base}/health/")[0] == 200, timeout=90, interval=0.5)
        assert healthy, log.read_text(errors="replace")[-5000:]
        status, body = get(f"{base}/health/")
        assert '"postgresql"' in body
        status, body = get(f"{base}/accounts/login/")
        assert status == 200
        # Static files are served by WhiteNoise from the collected, hashed copies.
        assert ".css" in body
        # All three processes came up.
        started = wait_until(
            lambda: all(
                word in log.read_text(errors="replace")
                for word in ("Listening at", "ready.", "beat: Starting")
            ),
            timeout=30,
        )
        assert started, log.read_text(errors="replace")[-5000:]
        assert stack.poll() is None
    finally:
        stop(stack, timeout=20)
    assert stack.returncode is not None
