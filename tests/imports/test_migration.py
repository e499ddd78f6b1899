"""Jobs left running before heartbeats existed are judged from their start, so the ones a
crashed worker left at "Importing 0 %" end as failed with a re-run offered."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from apps.imports.models import ImportJob
from apps.imports.services import import_jobs_fail_stale

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("imports", "0001_initial")]
AFTER = [("imports", "0002_import_heartbeat")]


def test_jobs_stuck_before_heartbeats_are_judged_from_their_start() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    team = old.get_model("teams", "Team").objects.create(name="Payments", slug="payments")
    jobs = old.get_model("imports", "ImportJob").objects
    fields = {"team": team, "kind": "releases", "time_zone": "UTC", "file_path": "imports/x.csv"}
    stuck = jobs.create(
        **fields, state="importing", started_at=timezone.now() - dt.timedelta(hours=2)
    )
    running = jobs.create(**fields, state="importing", started_at=timezone.now())
    done = jobs.create(**fields, state="done")
    try:
        MigrationExecutor(connection).migrate(AFTER)
        call_command("migrate", verbosity=0)
        assert import_jobs_fail_stale() == 1
        stuck_now = ImportJob.objects.get(pk=stuck.pk)
        assert (stuck_now.state, stuck_now.rerun_stage) == (ImportJob.State.FAILED, "import")
        assert stuck_now.error.startswith("The import stopped responding")
        assert ImportJob.objects.get(pk=running.pk).state == ImportJob.State.IMPORTING
        assert ImportJob.objects.get(pk=done.pk).heartbeat_at is None
    finally:
        call_command("migrate", verbosity=0)
