"""A CSV import through the pages with a real worker on PostgreSQL and Redis: upload, the
worker checks the file, "Import", the worker imports it, and the rollups follow."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from apps.core.timezones import local_midnight, week_start_of
from apps.imports.models import ImportJob
from apps.metrics.models import DirtyBucket, WeeklyRollup
from apps.releases.models import Release
from apps.teams.models import Membership
from tests.factories import MembershipFactory
from tests.imports.helpers import csv_bytes
from tests.integration.conftest import Worker, process_env, wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_a_manager_imports_a_file_and_the_rollups_follow(client, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    worker = Worker(tmp_path / "worker.log", env=process_env(EXECDASH_MEDIA_ROOT=str(media)))
    worker.start()
    try:
        manager = MembershipFactory(role=Membership.Role.MANAGER)
        team = manager.team
        client.force_login(manager.user)
        now = timezone.now()
        rows = [
            [
                f"d{i}",
                "api",
                f"1.{i}",
                (now - dt.timedelta(days=i % 20, hours=1)).isoformat(),
                "failed" if i % 10 == 0 else "succeeded",
                "",
                1,
            ]
            for i in range(300)
        ]
        rows.append(["bad", "api", "x", "not a time", "succeeded", "", 1])
        header = [
            "external_id",
            "service",
            "version",
            "deployed_at",
            "status",
            "first_commit_at",
            "change_count",
        ]
        response = client.post(
            reverse("imports:list", args=[team.slug]),
            {
                "file": SimpleUploadedFile("deploys.csv", csv_bytes(header, rows)),
                "kind": "releases",
                "mode": "every_row",
                "time_zone": "UTC",
            },
        )
        assert response.status_code == 302
        job = ImportJob.objects.get(team=team)

        def state_is(state: str):  # type: ignore[no-untyped-def]
            return lambda: ImportJob.objects.filter(pk=job.pk, state=state).exists()

        assert wait_until(state_is(ImportJob.State.CHECKED), 30), worker.output()
        job.refresh_from_db()
        assert (job.will_create, job.will_refuse) == (300, 1)
        started_at = timezone.now()
        response = client.post(reverse("imports:start", args=[team.slug, job.pk]))
        assert response.status_code == 302
        assert wait_until(state_is(ImportJob.State.DONE), 30), worker.output()
        job.refresh_from_db()
        assert (job.created_count, job.refused_count) == (300, 1)
        assert Release.objects.filter(team=team).count() == 300

        def fresh() -> bool:
            return not DirtyBucket.objects.filter(team=team).exists()

        assert wait_until(fresh, 30), worker.output()
        week = week_start_of(now - dt.timedelta(hours=1))
        rollup = WeeklyRollup.objects.get(scope=team.id, week_start=week)
        assert rollup.computed_at >= started_at
        expected = Release.objects.filter(team=team, deployed_at__gte=local_midnight(week)).count()
        assert rollup.deployments == expected
        # The page shows the result, and the polled fragment tells htmx to stop.
        fragment = client.get(job.get_absolute_url(), headers={"HX-Request": "true"})
        assert fragment.status_code == 286
        assert "300</strong> created" in fragment.content.decode()
    finally:
        worker.stop()
