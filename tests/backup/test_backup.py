"""Backup and restore: `manage.py backup` on SQLite, and the PostgreSQL round trip
(dump → empty database → restore) after which the metrics API answers exactly what it
answered before and the worker carries on with new writes."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.api.services import api_token_create
from apps.incidents.services import incident_create
from apps.metrics.rollups import rollups_recompute_all
from apps.releases.services import release_create
from tests.factories import TeamFactory
from tests.integration.conftest import ROOT, Worker, process_env, test_database_url


def test_sqlite_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    """The embedded default, as `make run` has it: a SQLite file, backed up by the command
    in another process while nothing else runs."""
    env = {k: v for k, v in process_env().items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["EXECDASH_SQLITE_PATH"] = str(tmp_path / "execdash.sqlite3")
    manage = [sys.executable, "manage.py"]
    for args in (
        ["migrate", "--noinput", "-v0"],
        [
            "shell",
            "-c",
            "from apps.teams.models import Team; "
            "Team.objects.create(slug='payments', name='Payments')",
        ],
        ["backup", f"--output={tmp_path / 'copy.sqlite3'}"],
    ):
        done = subprocess.run(
            manage + args,
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-3000:]
    assert "Backup written to" in done.stdout
    with sqlite3.connect(tmp_path / "copy.sqlite3") as copy:
        rows = copy.execute("SELECT slug, name FROM teams_team").fetchall()
    assert rows == [("payments", "Payments")]


def test_backup_refuses_to_overwrite(db: None, tmp_path: Path) -> None:
    output = tmp_path / "exists"
    output.write_text("keep me")
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", output=str(output))
    assert output.read_text() == "keep me"


# The round trip: run in the PostgreSQL pass with a real worker on Redis.
METRICS_SCRIPT = """
import json, sys
import django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
answer = Client().get(
    "/api/v1/metrics", {"team": "payments", "start": sys.argv[2], "end": sys.argv[3]},
    headers={"Authorization": "Bearer " + sys.argv[1]},
)
print(json.dumps({"status": answer.status_code, "body": answer.json()}))
"""

WRITE_AND_WAIT_SCRIPT = """
import datetime as dt, json, time
import django
django.setup()
from django.utils import timezone
from apps.core.timezones import local_midnight, week_start_of
from apps.incidents.models import Incident
from apps.incidents.services import incident_create
from apps.metrics.models import WeeklyRollup
from apps.teams.models import Team
team = Team.objects.get(slug="payments")
started = timezone.now() - dt.timedelta(minutes=40)
incident_create(team=team, title="After the restore", started_at=started,
                resolved_at=started + dt.timedelta(minutes=30))
week = week_start_of(started)
expected = Incident.objects.filter(
    team=team, started_at__gte=local_midnight(week),
    started_at__lt=local_midnight(week + dt.timedelta(days=7)),
).count()
deadline = time.monotonic() + 45
row = None
while time.monotonic() < deadline:
    row = WeeklyRollup.objects.filter(scope=team.id, week_start=week).first()
    if row is not None and row.incidents == expected:
        break
    time.sleep(0.2)
print(json.dumps({"expected": expected, "rollup": row.incidents if row else None}))
"""


def run_django(script: str, *args: str, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_postgresql_dump_restore_round_trip(tmp_path: Path) -> None:
    team = TeamFactory(slug="payments", name="Payments")
    now = timezone.now()
    release = release_create(
        team=team,
        service="checkout",
        version="1.0.0",
        deployed_at=now - dt.timedelta(hours=5),
        first_commit_at=now - dt.timedelta(days=1),
    )
    for minutes in (20, 95):
        started = now - dt.timedelta(hours=3)
        incident_create(
            team=team,
            title=f"Checkout errors ({minutes} min)",
            started_at=started,
            resolved_at=started + dt.timedelta(minutes=minutes),
            caused_by=release,
        )
    rollups_recompute_all()
    _, token = api_token_create(name="backup test", team=team)
    start = (now - dt.timedelta(days=30)).date().isoformat()
    end = (now + dt.timedelta(days=1)).date().isoformat()
    before = run_django(METRICS_SCRIPT, token, start, end, env=process_env())
    assert before["status"] == 200
    assert before["body"]["time_to_restore_seconds"]["n"] == 2

    dump = tmp_path / "execdash.dump"
    call_command("backup", output=str(dump))
    assert dump.stat().st_size > 0

    restored = f"execdash_restore_{uuid.uuid4().hex[:8]}"
    admin_url = test_database_url().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{restored}"')
    worker = None
    try:
        restored_url = test_database_url().rsplit("/", 1)[0] + f"/{restored}"
        subprocess.run(
            ["pg_restore", "--no-owner", f"--dbname={restored_url}", str(dump)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        env = process_env(DATABASE_URL=restored_url)
        # Nothing cached may answer for the database: the restored rows must.
        cache.clear()
        after = run_django(METRICS_SCRIPT, token, start, end, env=env)
        assert after == before

        worker = Worker(tmp_path / "worker.log", env=env)
        worker.start()
        carried_on = run_django(WRITE_AND_WAIT_SCRIPT, env=env)
        assert carried_on["rollup"] == carried_on["expected"] >= 1, worker.output()
    finally:
        if worker is not None:
            worker.stop()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{restored}" WITH (FORCE)')
