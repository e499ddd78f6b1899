"""A manager imports a CSV file with one bad row: the preview names it, the import runs with
a progress bar that reaches done, and the refused row downloads as CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from apps.imports import services
from apps.imports.models import ImportJob
from apps.releases.models import Release
from apps.teams.models import Membership
from tests.browser.conftest import ARTIFACTS, assert_clean, screenshot
from tests.factories import MembershipFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = 3000  # two batches, so the bar stops half way once


def write_file(path: Path) -> None:
    now = timezone.now()
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "service", "version", "deployed_at", "status"])
        for i in range(ROWS):
            status = "shipped" if i == 2 else "succeeded"  # the bad row: file row 4
            deployed = (now - dt.timedelta(hours=1, minutes=i)).isoformat()
            writer.writerow([f"deploy-{i}", "checkout", f"1.{i}", deployed, status])


def test_manager_imports_a_csv_with_one_bad_row(
    page, live_server, login, monkeypatch, settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    team = TeamFactory(name="Payments", slug="payments")
    manager = MembershipFactory(team=team, role=Membership.Role.MANAGER).user
    # No broker here: the check runs in the upload's request; the import is left queued
    # and run below by the test, as a worker would, so the bar can be seen moving.
    real_schedule = services._schedule
    monkeypatch.setattr(
        services,
        "_schedule",
        lambda stage, job_id: real_schedule(stage, job_id) if stage == "check" else None,
    )
    upload = tmp_path / "deploys.csv"
    write_file(upload)
    login(page, live_server, manager)

    page.goto(f"{live_server.url}/teams/payments/imports/")
    page.get_by_label("CSV file").set_input_files(str(upload))
    page.get_by_label("The file holds").select_option("releases")
    page.get_by_role("button", name="Upload and preview").click()

    page.get_by_role("heading", name="Preview: the first 10 rows").wait_for()
    preview = page.locator("#preview")
    assert "Must be one of succeeded, failed, rolled_back." in preview.inner_text()
    status = page.locator("#import-status")
    assert "2,999 will be created" in " ".join(status.inner_text().split())
    assert "1 will be refused" in " ".join(status.inner_text().split())
    screenshot(page, "csv-import-preview")

    page.get_by_role("button", name="Import 2,999 rows").click()
    page.get_by_role("heading", name="Waiting for the worker").wait_for()
    job = ImportJob.objects.get(team=team)
    seen: list[str] = []

    def after_batch(rows: int) -> None:
        if seen:
            return
        # The page polls every second: it shows the stored progress of the first batch.
        page.get_by_text("2,000 of 3,000 rows imported (66 %)").wait_for()
        seen.append(page.locator("#import-progress").get_attribute("value") or "")
        screenshot(page, "csv-import-progress")

    services.import_run(
        job=ImportJob.objects.select_related("team").get(pk=job.pk), progress=after_batch
    )
    assert seen == ["66"]
    page.get_by_role("heading", name="Done").wait_for()
    assert page.locator("#import-progress").get_attribute("value") == "100"
    assert "2,999 created" in " ".join(page.locator("#import-status").inner_text().split())
    assert Release.objects.filter(team=team).count() == 2999
    screenshot(page, "csv-import-done")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the refused rows (CSV)").click()
    download = download_info.value
    saved = ARTIFACTS / "csv-import-refused-rows.csv"
    download.save_as(str(saved))
    rows: list[Any] = list(csv.reader(io.StringIO(saved.read_text())))
    assert rows[0] == [
        "row",
        "column",
        "reason",
        "external_id",
        "service",
        "version",
        "deployed_at",
        "status",
    ]
    assert rows[1][:3] == ["4", "status", "Must be one of succeeded, failed, rolled_back."]
    assert rows[1][3] == "deploy-2"
    assert len(rows) == 2
    assert_clean(page)
