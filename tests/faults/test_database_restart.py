"""Database restart during traffic: while PostgreSQL is down the pages answer a 503 page
and the API a JSON 503 (never a stack trace, never a 500), quickly; when it is back the
same gunicorn serves again by itself (CONN_HEALTH_CHECKS), nothing restarted.

PostgreSQL here is a cluster of the test's own (initdb into a temporary directory, on a free
port, removed afterwards); tasks run in-process (no Redis), so only the database fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from tests.faults.stack import (
    ROOT,
    Client,
    PostgresCluster,
    Web,
    app_env,
    postgres_bin,
    processes,
    settle,
    tail,
)
from tests.faults.traffic import incident_payload

pytestmark = [pytest.mark.services]

SETUP = """
from apps.api.services import api_token_create
from apps.teams.models import Membership, Team
from django.contrib.auth import get_user_model
team = Team.objects.create(name="Restart", slug="restart")
user = get_user_model().objects.create_user("restart-manager", password="restart-password-1234")
Membership.objects.create(user=user, team=team, role=Membership.Role.MANAGER)
print("TOKEN=" + api_token_create(name="restart", team=team)[1])
"""


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.fixture
def cluster():  # type: ignore[no-untyped-def]
    if postgres_bin() is None:
        pytest.fail("initdb is missing (/usr/lib/postgresql/*/bin): apt-get install postgresql")
    # Not under pytest's tmp_path: the postgres user must be able to reach the directory.
    pg = PostgresCluster(Path(tempfile.mkdtemp(prefix="execdash-pg-")))
    pg.init()
    pg.start()
    try:
        yield pg
    finally:
        pg.remove()


def test_the_app_fails_cleanly_while_the_database_is_down_and_recovers(
    cluster: PostgresCluster, tmp_path: Path
) -> None:
    cluster.create_database("execdash")
    env = app_env("", database_url=cluster.url("execdash"))
    env.pop("REDIS_URL")
    manage(env, "migrate", "--noinput")
    token = manage(env, "shell", "-c", SETUP).split("TOKEN=")[1].strip()

    statuses: list[tuple[str, int, float, str]] = []
    with processes() as started:
        web = Web(env, tmp_path / "web.log")
        started.append(web)
        person = Client(web.port)
        person.login("restart-manager", "restart-password-1234")
        api = Client(web.port)
        assert person.get("/").status == 200
        assert api.post_json("/api/v1/incidents", incident_payload("before"), token).status == 201

        # An API client keeps posting through the restart.
        stopped = threading.Event()

        def poster() -> None:
            client = Client(web.port)
            while not stopped.is_set():
                answer = client.post_json("/api/v1/incidents", incident_payload("during"), token)
                statuses.append(
                    ("POST /api/v1/incidents", answer.status, answer.seconds, answer.body)
                )
                time.sleep(0.05)

        thread = threading.Thread(target=poster, daemon=True)
        thread.start()
        try:
            time.sleep(0.5)
            cluster.stop("immediate")
            down: dict[str, tuple[int, float, str, str]] = {}
            for label, answer in (
                ("page", person.get("/")),
                ("team page", person.get("/teams/restart/")),
                ("fragment", person.fragment("/?range=13w")),
                ("api read", api.get_json("/api/v1/incidents", token)),
                ("api post", api.post_json("/api/v1/incidents", incident_payload("down"), token)),
                ("ready", api.get("/health/ready")),
                ("live", api.get("/health/live")),
            ):
                down[label] = (
                    answer.status,
                    answer.seconds,
                    answer.headers.get("content-type", ""),
                    answer.body,
                )
            cluster.start()
            back_at = time.monotonic()
            recovered = settle(lambda: person.get("/").status == 200, timeout=30, interval=0.2)
            recovered_in = time.monotonic() - back_at
            time.sleep(1.0)
        finally:
            stopped.set()
            thread.join(timeout=30)
        assert recovered, tail(tmp_path / "web.log")
        api_after = api.post_json("/api/v1/incidents", incident_payload("after"), token)
        assert api_after.status == 201, api_after.body
        log = tail(tmp_path / "web.log", 200000)

    for label in ("page", "team page", "fragment"):
        status, seconds, kind, body = down[label]
        assert status == 503, (label, status, body[:500])
        assert "text/html" in kind
        assert "briefly unavailable" in body
        assert seconds <= 2.0, (label, seconds)
    for label in ("api read", "api post"):
        status, seconds, kind, body = down[label]
        assert status == 503, (label, status, body[:500])
        assert kind.startswith("application/json")
        assert "temporarily unavailable" in json.loads(body)["detail"]
        assert seconds <= 2.0, (label, seconds)
    assert down["ready"][0] == 503
    assert '"database": {"status": "down"' in down["ready"][3]
    assert down["live"][0] == 200
    # Through the restart the API client saw only successes and clean 503s.
    assert statuses
    assert {status for _l, status, _s, _b in statuses} <= {201, 503}, statuses
    assert all("Traceback" not in body for _l, _s, _t, body in statuses)
    assert "Traceback" not in "".join(b for _s, _t, _k, b in down.values())
    assert max(seconds for _l, _s, seconds, _b in statuses) <= 2.0
    print(
        f"\ndatabase down: {sum(1 for s in statuses if s[1] == 503)} clean 503s, slowest "
        f"{max(s[2] for s in statuses):.2f} s; serving again {recovered_in:.1f} s after "
        f"PostgreSQL came back"
    )
    assert log  # the web log is kept for a failing run's message
