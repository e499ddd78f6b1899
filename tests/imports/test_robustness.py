"""A file or a worker that cannot finish never leaves an import "importing": an unreadable
file is refused at the upload with its line, an unexpected error ends the job as failed with
a message, a worker that stopped responding is noticed by the page and by beat, and running
the job again imports each row once."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from functools import partial
from typing import Any

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.imports import rows as rows_module
from apps.imports import services, tasks
from apps.imports.models import ImportJob
from apps.imports.rows import FileProblem, TextCheck
from apps.imports.services import import_check, import_run, job_create, job_start
from apps.releases.models import Release
from apps.teams.models import Membership
from execdash.celery import app
from tests.core.personas import HTMX, Personas, client_for
from tests.factories import MembershipFactory
from tests.imports.helpers import csv_bytes
from tests.imports.test_rows import RELEASE_HEADER, ago

pytestmark = pytest.mark.django_db


def good_rows(count: int = 6) -> list[list[object]]:
    return [
        [f"d{i}", "checkout", f"1.{i}", ago(days=1, hours=i), "succeeded", "", 1]
        for i in range(count)
    ]


def upload(client: Client, data: bytes, mode: str = "every_row") -> Any:
    return client.post(
        reverse("imports:list", args=["payments"]),
        {
            "file": SimpleUploadedFile("deploys.csv", data, content_type="text/csv"),
            "kind": "releases",
            "mode": mode,
            "time_zone": "UTC",
        },
    )


def create(team: Any, data: bytes, mode: str = "every_row") -> ImportJob:
    return job_create(
        team=team,
        kind="releases",
        mode=mode,
        time_zone="UTC",
        file_name="deploys.csv",
        chunks=[data],
        check=False,
    )


def queued(team: Any, data: bytes, mode: str = "every_row") -> ImportJob:
    """A checked job, queued for its import (no worker yet)."""
    job = import_check(job=create(team, data, mode))
    assert job.state == ImportJob.State.CHECKED, job.error
    return job_start(job=job, schedule=False)


def media_files(settings: Any) -> list[Any]:
    folder = settings.MEDIA_ROOT / "imports"
    return list(folder.iterdir()) if folder.exists() else []


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two rows a batch, so a file of six rows is three batches."""
    monkeypatch.setattr(services, "batches", partial(rows_module.batches, size=2))


class WorkerKilled(BaseException):
    """What the job sees of a worker killed mid-import: nothing; it just stops."""


# --- files that cannot be read are refused at the upload ---------------------------------


def test_a_nul_byte_is_refused_at_the_upload_with_its_line(people: Personas, settings) -> None:  # type: ignore[no-untyped-def]
    data = csv_bytes(RELEASE_HEADER, good_rows(3)).replace(b",1.1,", b",1\x00.1,")
    with pytest.raises(ValidationError) as caught:
        create(people.team, data)
    (message,) = caught.value.message_dict["file"]
    assert message.startswith("Line 3 of the file holds a NUL byte")
    assert not ImportJob.objects.exists()
    assert media_files(settings) == []  # nothing kept of it

    response = upload(client_for(people.manager), data)
    assert response.status_code == 200
    assert "Line 3 of the file holds a NUL byte" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_file_not_in_utf8_is_refused_at_the_upload_with_its_line(people: Personas) -> None:
    # Far past the first buffer the header is read from: only the upload's scan sees it.
    rows = good_rows(400)
    rows[300][1] = "caf\u00e9"
    data = csv_bytes(RELEASE_HEADER, rows)
    latin1 = data.decode().encode("latin-1")
    assert len(latin1.split(b"\xe9")[0]) > 16 * 1024
    with pytest.raises(ValidationError) as caught:
        create(people.team, latin1)
    assert caught.value.message_dict["file"] == [
        "Line 302 of the file is not UTF-8 text (byte 0xE9). Save the file as CSV UTF-8."
    ]
    response = upload(client_for(people.manager), latin1)
    assert "Line 302 of the file is not UTF-8 text" in response.content.decode()
    assert not ImportJob.objects.exists()
    # The same file in UTF-8 (with a BOM, as Excel saves it) is taken.
    job = create(people.team, b"\xef\xbb\xbf" + data)
    assert import_check(job=job).will_create == 400


def test_the_scan_reads_chunk_by_chunk() -> None:
    """A character split between two chunks is fine; lines count across chunks; a file that
    ends inside a character, or is UTF-16, is refused in words."""
    check = TextCheck()
    for chunk in [b"a,b\nc", "\u00e9".encode()[:1], "\u00e9".encode()[1:] + b"\n", b"x\n"]:
        check.feed(chunk)
    check.feed(b"", final=True)
    assert check.line == 4

    check = TextCheck()
    check.feed(b"a\nb\n")
    with pytest.raises(FileProblem, match=r"^Line 4 of the file holds a NUL byte"):
        check.feed(b"c\nd\x00\n")

    check = TextCheck()
    check.feed(b"a\n\xe2\x82")
    with pytest.raises(FileProblem, match=r"^Line 2 of the file is not UTF-8 text \(byte 0xE2\)"):
        check.feed(b"", final=True)

    # The earlier of two faults is the one named.
    with pytest.raises(FileProblem, match=r"^Line 1 .* not UTF-8"):
        TextCheck().feed(b"\xff\n\x00")
    with pytest.raises(FileProblem, match="UTF-16"):
        TextCheck().feed("a,b\n".encode("utf-16"))


# --- an unexpected error ends the job as failed ------------------------------------------


def test_an_unexpected_error_in_the_import_fails_the_job_and_a_rerun_imports_each_row_once(
    people: Personas,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    inline_worker,
    small_batches,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = client_for(people.manager)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, csv_bytes(RELEASE_HEADER, good_rows(6)))
    job = ImportJob.objects.get()
    assert job.state == ImportJob.State.CHECKED

    real_write = rows_module.write_batch
    calls: list[int] = []

    def write_then_break(**kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk on fire")
        return real_write(**kwargs)

    monkeypatch.setattr(services, "write_batch", write_then_break)
    with (
        caplog.at_level(logging.ERROR, logger="apps.imports.services"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = client.post(reverse("imports:start", args=["payments", job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert job.rerun_stage == "import"
    # The traceback is in the log; the page says what happened in words.
    (record,) = [r for r in caplog.records if r.exc_info]
    assert "disk on fire" in str(record.exc_info[1])
    page = client.get(job.get_absolute_url()).content.decode()
    assert "The import stopped because of an unexpected error" in page
    assert "The 2 rows imported before it stopped are kept" in page
    assert "disk on fire" not in page
    assert f'action="{reverse("imports:rerun", args=["payments", job.pk])}"' in page
    assert "Run the import again" in page
    fragment = client.get(job.get_absolute_url(), headers=HTMX)
    assert fragment.status_code == 286  # polling stops
    # The first batch was written, the second rolled back in its transaction.
    assert Release.objects.filter(team=people.team).count() == 2

    monkeypatch.setattr(services, "write_batch", real_write)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:rerun", args=["payments", job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert (job.created_count, job.updated_count, job.attempt) == (4, 2, 1)
    assert Release.objects.filter(team=people.team).count() == 6
    assert "Run the import again" not in client.get(job.get_absolute_url()).content.decode()
    # Running a finished job again is refused in words.
    response = client.post(reverse("imports:rerun", args=["payments", job.pk]), follow=True)
    assert "This import cannot be run again." in response.content.decode()


def test_all_or_nothing_stopped_by_an_error_imports_nothing(
    people: Personas, small_batches, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = queued(people.team, csv_bytes(RELEASE_HEADER, good_rows(6)), "all_or_nothing")
    real_write = rows_module.write_batch
    calls: list[int] = []

    def write_then_break(**kwargs: Any) -> int:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("boom")
        return real_write(**kwargs)

    monkeypatch.setattr(services, "write_batch", write_then_break)
    job = import_run(job=job)
    assert job.state == ImportJob.State.FAILED
    assert job.error.endswith("Nothing was imported; you can run it again.")
    assert not Release.objects.exists()


def test_an_unexpected_error_in_the_check_fails_it_and_it_can_be_checked_again(
    people: Personas,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    inline_worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_check = rows_module.check_batch

    def broken(**kwargs: Any) -> Any:
        raise KeyError("surprise")

    monkeypatch.setattr(services, "check_batch", broken)
    client = client_for(people.manager)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, csv_bytes(RELEASE_HEADER, good_rows(3)))
    job = ImportJob.objects.get()
    assert (job.state, job.rerun_stage) == (ImportJob.State.FAILED, "check")
    page = client.get(job.get_absolute_url()).content.decode()
    assert "Checking the file stopped after 0 rows because of an unexpected error" in page
    assert "Check the file again" in page

    monkeypatch.setattr(services, "check_batch", real_check)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:rerun", args=["payments", job.pk]))
    job.refresh_from_db()
    assert (job.state, job.will_create) == (ImportJob.State.CHECKED, 3)
    assert not Release.objects.exists()


def test_a_file_at_fault_offers_no_rerun(people: Personas) -> None:
    job = create(people.team, csv_bytes(RELEASE_HEADER, good_rows(3)))
    # The file changed on disk after the upload: its check finds a column missing.
    with open(services.import_file_path(job), "wb") as out:
        out.write(b"external_id,service,version\nr1,api,1\n")
    job = import_check(job=job)
    assert job.state == ImportJob.State.FAILED
    assert job.rerun_stage == ""
    page = client_for(people.manager).get(job.get_absolute_url()).content.decode()
    assert "lacks the column deployed_at" in page
    assert "again</button>" not in page
    with pytest.raises(ValidationError, match="upload a corrected file"):
        services.job_rerun(job=job)


# --- a worker that stopped responding -------------------------------------------------------


def killed_after_first_batch(team: Any) -> ImportJob:
    """An import whose worker wrote one batch (two rows) of six and was killed."""
    job = queued(team, csv_bytes(RELEASE_HEADER, good_rows(6)))

    def die(rows: int) -> None:
        raise WorkerKilled

    with pytest.raises(WorkerKilled):
        import_run(job=job, progress=die)
    job.refresh_from_db()
    assert job.state == ImportJob.State.IMPORTING
    assert Release.objects.filter(team=team).count() == 2
    return job


def age_heartbeat(job: ImportJob, **ago: float) -> None:
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(**ago))


def test_a_stale_heartbeat_fails_the_job_on_its_page_and_the_rerun_imports_each_row_once(
    people: Personas,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    inline_worker,
    small_batches,
) -> None:
    job = killed_after_first_batch(people.team)
    client = client_for(people.manager)

    # Nine minutes without a sign of life: still importing (the default timeout is ten).
    age_heartbeat(job, minutes=9)
    fragment = client.get(job.get_absolute_url(), headers=HTMX)
    assert fragment.status_code == 200
    assert "2 of 6 rows imported" in fragment.content.decode()

    age_heartbeat(job, minutes=11)
    fragment = client.get(job.get_absolute_url(), headers=HTMX)
    assert fragment.status_code == 286
    assert "The import stopped responding: no progress for 10 minutes" in (
        fragment.content.decode()
    )
    job.refresh_from_db()
    assert (job.state, job.rerun_stage) == (ImportJob.State.FAILED, "import")
    page = client.get(job.get_absolute_url()).content.decode()
    assert "The 2 rows imported before it stopped are kept" in page
    assert "Run the import again" in page
    assert 'name="csrfmiddlewaretoken"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:rerun", args=["payments", job.pk]), headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert (job.created_count, job.updated_count) == (4, 2)
    assert sorted(Release.objects.values_list("external_id", flat=True)) == [
        f"d{i}" for i in range(6)
    ]


def test_beat_fails_stale_jobs_with_the_pages_rule(
    people: Personas, settings, small_batches
) -> None:  # type: ignore[no-untyped-def]
    schedule = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "apps.imports.tasks.fail_stale_imports" in schedule

    settings.EXECDASH_IMPORT_STALE_SECONDS = 120
    job = killed_after_first_batch(people.team)
    age_heartbeat(job, seconds=100)
    assert tasks.fail_stale_imports.run() == 0
    age_heartbeat(job, seconds=130)
    fresh = queued(people.team, csv_bytes(RELEASE_HEADER, good_rows(1)))  # waiting, not stale
    assert tasks.fail_stale_imports.run() == 1
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert job.error.startswith("The import stopped responding: no progress for 2 minutes")
    fresh.refresh_from_db()
    assert fresh.state == ImportJob.State.QUEUED
    assert tasks.fail_stale_imports.run() == 0  # once


def test_a_stage_no_worker_takes_fails_after_the_wait_limit(people: Personas) -> None:
    job = queued(people.team, csv_bytes(RELEASE_HEADER, good_rows(1)))
    late = timezone.now() - dt.timedelta(seconds=services.WAIT_LIMIT - 60)
    ImportJob.objects.filter(pk=job.pk).update(queued_at=late)
    assert services.import_jobs_fail_stale() == 0  # the workers may be busy with long imports
    ImportJob.objects.filter(pk=job.pk).update(queued_at=late - dt.timedelta(minutes=2))
    assert services.import_jobs_fail_stale() == 1
    job.refresh_from_db()
    assert job.error.startswith("No worker took this import within 4 hours")
    assert job.rerun_stage == "import"


def test_a_checking_worker_that_stopped_is_noticed(people: Personas) -> None:
    job = create(people.team, csv_bytes(RELEASE_HEADER, good_rows(6)))
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())  # a worker took it
    age_heartbeat(job, minutes=11)
    assert services.import_jobs_fail_stale(job=job) == 1
    job.refresh_from_db()
    assert job.error.startswith("Checking the file stopped responding")
    assert job.rerun_stage == "check"
    assert import_check(job=services.job_rerun(job=job, schedule=False)).will_create == 6


def test_all_or_nothing_reads_the_heartbeat_its_transaction_keeps_in_the_cache(
    people: Personas, small_batches
) -> None:
    job = queued(people.team, csv_bytes(RELEASE_HEADER, good_rows(6)), "all_or_nothing")
    seen: list[int] = []

    def after_batch(rows: int) -> None:
        # The job's row still has the heartbeat of the start, as other processes see it.
        age_heartbeat(job, minutes=11)
        seen.append(services.import_jobs_fail_stale(job=job))

    job = import_run(job=job, progress=after_batch)
    assert seen == [0, 0, 0]  # the cache's heartbeat is fresh
    assert job.state == ImportJob.State.DONE
    assert Release.objects.count() == 6


def test_a_worker_found_stale_meanwhile_stops_without_writing(
    people: Personas, small_batches, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker that was only slow, not dead: once its job is marked failed it writes no
    further batch (its last one rolls back), whatever the mode."""
    job = queued(people.team, csv_bytes(RELEASE_HEADER, good_rows(6)))

    def slow(rows: int) -> None:
        age_heartbeat(job, minutes=11)
        services.import_jobs_fail_stale()

    job = import_run(job=job, progress=slow)
    assert job.state == ImportJob.State.FAILED
    assert job.error.startswith("The import stopped responding")
    assert Release.objects.count() == 2
    assert "was superseded" in caplog.text


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_all_or_nothing_found_stale_meanwhile_rolls_everything_back(small_batches) -> None:
    """PostgreSQL: another process marks the job failed while its transaction is open (the
    worker does not lock the job's row); the next batch sees it and nothing commits."""
    from tests.factories import TeamFactory

    team = TeamFactory()
    job = queued(team, csv_bytes(RELEASE_HEADER, good_rows(6)), "all_or_nothing")

    def marked_failed_elsewhere(rows: int) -> None:
        def mark() -> None:
            try:
                ImportJob.objects.filter(pk=job.pk).update(
                    heartbeat_at=timezone.now() - dt.timedelta(minutes=11)
                )
                cache.delete(services.HEARTBEAT_KEY.format(job.pk, job.attempt))
                ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.FAILED)
            finally:
                connection.close()

        thread = threading.Thread(target=mark)
        thread.start()
        thread.join(10)
        assert not thread.is_alive()

    job = import_run(job=job, progress=marked_failed_elsewhere)
    assert job.state == ImportJob.State.FAILED
    assert not Release.objects.exists()


# --- who may run a job again ----------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["plain", "htmx"])
def test_only_the_teams_managers_and_admins_may_run_it_again(
    people: Personas,
    headers: dict,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
    inline_worker,
    small_batches,
) -> None:
    job = killed_after_first_batch(people.team)
    age_heartbeat(job, minutes=11)
    services.import_jobs_fail_stale()
    url = reverse("imports:rerun", args=["payments", job.pk])
    other_manager = MembershipFactory(team=people.other_team, role=Membership.Role.MANAGER).user

    assert Client().post(url, headers=headers).status_code == 302  # to the login page
    assert client_for(people.member).post(url, headers=headers).status_code == 403
    assert client_for(people.outsider).post(url, headers=headers).status_code == 404
    assert client_for(other_manager).post(url, headers=headers).status_code == 404
    elsewhere = reverse("imports:rerun", args=["search", job.pk])
    assert client_for(other_manager).post(elsewhere, headers=headers).status_code == 404
    assert client_for(people.manager).get(url, headers=headers).status_code == 405
    job.refresh_from_db()
    assert (job.state, job.attempt) == (ImportJob.State.FAILED, 0)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(people.admin).post(url, headers=headers)
    assert response.status_code in (200, 302)
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert Release.objects.count() == 6
