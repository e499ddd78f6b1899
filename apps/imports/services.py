"""Writes of CSV imports: storing the upload, checking the whole file (a dry run, for the
summary), and importing it. The checking and the import run in the worker (tasks.py); the
command runs them in-process with a progress bar.

Progress is written to the job's row after every batch, so any process (the page after a
reload, the command) reads it. "All or nothing" imports in one transaction, which other
connections cannot see into until it commits: its progress also goes to the cache.

A job never stays "importing" without a worker: any unexpected error ends it as failed (with
a message on the page and the traceback in the log), and a job whose worker stopped showing
signs of life (its heartbeat, written with the progress) is marked failed by the page that
reads it and by beat, with one rule (`import_jobs_fail_stale`). A failed job that running
again may fix offers that (`job_rerun`); the rows are upserted by their keys, so a re-run
after a partial import updates the rows already written and adds the rest.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.bounds import nul_escaped
from apps.imports.models import ImportJob, ImportProblem
from apps.imports.rows import (
    FileProblem,
    Row,
    TextCheck,
    batches,
    check_batch,
    read_header,
    read_rows,
    write_batch,
)
from apps.teams.models import Team

CHUNK = 1024 * 1024
# Flags (stored rows) kept per job for the result page; refused rows are all kept.
MAX_FLAGS_KEPT = 1000
PROGRESS_KEY = "execdash:import-progress:{}"
# All or nothing: the worker's heartbeat, per attempt (the job's row is inside the transaction).
HEARTBEAT_KEY = "execdash:import-heartbeat:{}:{}"
# The import tasks' hard time limit: past it the worker has killed the task, whatever the
# heartbeat says. A 100,000-row file takes about a minute; far larger files get this long.
TASK_HARD_LIMIT = 4 * 3600
# A stage no worker has taken is given up after this long: until then the workers may be
# busy with long imports ahead of it (each ends within TASK_HARD_LIMIT).
WAIT_LIMIT = TASK_HARD_LIMIT + 10 * 60
RUNNING = (ImportJob.State.CHECKING, ImportJob.State.QUEUED, ImportJob.State.IMPORTING)
FILE_GONE = "The uploaded file can no longer be read; upload it again."

log = logging.getLogger(__name__)

Progress = Callable[[int], None]


def _storage_path(job: ImportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file_path


def import_file_path(job: ImportJob) -> str:
    return str(_storage_path(job))


def _store(chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write the upload to MEDIA_ROOT/imports/, a chunk at a time; its relative path and size.
    Raises FileProblem (and keeps nothing) when it is not UTF-8 text or holds a NUL byte."""
    relative = f"imports/{uuid.uuid4().hex}.csv"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    text = TextCheck()
    try:
        with target.open("wb") as out:
            for chunk in chunks:
                text.feed(chunk)
                out.write(chunk)
                size += len(chunk)
            text.feed(b"", final=True)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return relative, size


def job_create(
    *,
    team: Team,
    kind: str,
    mode: str,
    time_zone: str,
    file_name: str,
    chunks: Iterable[bytes],
    user: Any = None,
    check: bool = True,
) -> ImportJob:
    """Store the file and read its header; raise ValidationError({"file": ...}) when it
    cannot be imported at all. With `check`, the worker then checks every row."""
    if kind not in ImportJob.Kind.values:
        raise ValidationError({"kind": ["Choose incidents or releases."]})
    if mode not in ImportJob.Mode.values:
        raise ValidationError({"mode": ["Choose a mode."]})
    try:
        ZoneInfo(time_zone)
    except (ValueError, KeyError):
        raise ValidationError({"time_zone": [f"“{time_zone}” is not a time zone."]}) from None
    try:
        relative, size = _store(chunks)
    except FileProblem as exc:
        raise ValidationError({"file": [str(exc)]}) from None
    try:
        _, notes = read_header(str(Path(settings.MEDIA_ROOT) / relative), kind)
    except FileProblem as exc:
        (Path(settings.MEDIA_ROOT) / relative).unlink(missing_ok=True)
        raise ValidationError({"file": [str(exc)]}) from None
    job = ImportJob.objects.create(
        team=team,
        kind=kind,
        mode=mode,
        time_zone=time_zone,
        file_path=relative,
        file_name=file_name[:200],
        file_size=size,
        created_by=user,
        notes=notes,
        queued_at=timezone.now() if check else None,
    )
    if check:
        transaction.on_commit(lambda: _schedule("check", job.pk))
    return job


def _schedule(stage: str, job_id: int) -> None:
    from apps.imports.tasks import check_import, run_import

    task = check_import if stage == "check" else run_import
    try:
        task.delay(job_id)
    except Exception as exc:  # broker unreachable: say so on the page, not a 500
        log.warning("import %s: the %s could not be queued: %r", job_id, stage, exc)
        ImportJob.objects.filter(pk=job_id, state__in=RUNNING).update(
            state=ImportJob.State.FAILED,
            error=f"The worker could not be reached ({exc.__class__.__name__}); try again.",
            rerun_stage=stage,
            finished_at=timezone.now(),
        )


def _problems(job: ImportJob, stage: str, rows: list[Row], flags_left: int) -> tuple[int, int]:
    """Store the batch's refused rows (all) and flagged rows (up to `flags_left`).

    A refused row is kept as it was read, for the refused rows' download, and a refusal may
    quote a cell: a U+0000 in them is kept written as \\u0000 (the database cannot hold
    the character itself, and the row was refused for it or for another reason)."""
    out: list[ImportProblem] = []
    flagged = 0
    for row in rows:
        raw = {nul_escaped(name): nul_escaped(cell) for name, cell in row.raw.items()}
        for column, message in row.refusals:
            out.append(
                ImportProblem(
                    job=job,
                    stage=stage,
                    row_number=row.number,
                    column=nul_escaped(column),
                    message=nul_escaped(message),
                    refused=True,
                    raw=raw,
                )
            )
        if not row.refused and row.warnings:
            flagged += 1
            if flagged <= flags_left:
                for flag in row.warnings:
                    out.append(
                        ImportProblem(
                            job=job,
                            stage=stage,
                            row_number=row.number,
                            column=flag.field,
                            message=flag.message,
                            refused=False,
                            raw={},
                        )
                    )
    ImportProblem.objects.bulk_create(out)
    return flagged, sum(1 for row in rows if row.refused)


class _Superseded(Exception):
    """The job is no longer this worker's: marked failed (its heartbeat was too old) or run
    again meanwhile. The worker stops without writing more."""


def _beat(job: ImportJob, expected: str, **fields: Any) -> None:
    """Store the progress and the heartbeat, if the job is still this worker's attempt (in
    the `expected` state); raise _Superseded otherwise."""
    updated = ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, state=expected).update(
        heartbeat_at=timezone.now(), **fields
    )
    if not updated:
        raise _Superseded


def _fail(job: ImportJob, message: str, *, rerun: str = "") -> ImportJob:
    """End this attempt as failed (unless it was superseded), with the page's message."""
    try:
        ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, state__in=RUNNING).update(
            state=ImportJob.State.FAILED,
            error=message,
            rerun_stage=rerun,
            finished_at=timezone.now(),
        )
        job.refresh_from_db()
    except DatabaseError:  # the database is gone too: the heartbeat's timeout ends the job
        log.exception("import %s: could not be marked failed", job.pk)
    return job


def _superseded(job: ImportJob) -> ImportJob:
    log.warning("import %s: attempt %s was superseded; its worker stops", job.pk, job.attempt)
    job.refresh_from_db()
    return job


def import_check(*, job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """The dry run: check every row, streamed, and count what the import will create,
    update, flag and refuse. Writes no record. A job another worker already checks (or
    that is no longer waiting for its check) is left alone."""
    path = import_file_path(job)
    taken = ImportJob.objects.filter(
        pk=job.pk, attempt=job.attempt, state=ImportJob.State.CHECKING, heartbeat_at=None
    ).update(heartbeat_at=timezone.now(), checked_rows=0, total_rows=0)
    if not taken:
        job.refresh_from_db()
        return job
    ImportProblem.objects.filter(job=job, stage="check").delete()
    zone = ZoneInfo(job.time_zone)
    seen: set[str] = set()
    counts = {"rows": 0, "create": 0, "update": 0, "flag": 0, "refuse": 0}
    try:
        header, _ = read_header(path, job.kind)
        for batch in batches(read_rows(path, header)):
            rows = check_batch(
                team=job.team, kind=job.kind, header=header, zone=zone, batch=batch, seen=seen
            )
            with transaction.atomic():  # a superseded worker's last problems roll back
                flagged, refused = _problems(job, "check", rows, MAX_FLAGS_KEPT - counts["flag"])
                counts["rows"] += len(rows)
                counts["flag"] += flagged
                counts["refuse"] += refused
                counts["create"] += sum(1 for r in rows if not r.refused and r.created)
                counts["update"] += sum(1 for r in rows if not r.refused and not r.created)
                _beat(job, ImportJob.State.CHECKING, checked_rows=counts["rows"])
            if progress:
                progress(len(rows))
        _beat(
            job,
            ImportJob.State.CHECKING,
            state=ImportJob.State.CHECKED,
            total_rows=counts["rows"],
            checked_rows=counts["rows"],
            will_create=counts["create"],
            will_update=counts["update"],
            will_flag=counts["flag"],
            will_refuse=counts["refuse"],
        )
    except _Superseded:
        return _superseded(job)
    except FileProblem as exc:
        return _fail(job, str(exc))
    except OSError:
        log.exception("import %s: the file could not be read", job.pk)
        return _fail(job, FILE_GONE)
    except Exception:
        log.exception("import %s: checking the file failed", job.pk)
        return _fail(
            job,
            f"Checking the file stopped after {counts['rows']:,} rows because of an "
            "unexpected error (the details are in the server's log). Nothing was imported; "
            "you can check it again.",
            rerun="check",
        )
    job.refresh_from_db()
    return job


def job_start(*, job: ImportJob, schedule: bool = True) -> ImportJob:
    """Queue the checked file for import. "All or nothing" with refused rows is refused
    here, before anything is written."""
    if job.state != ImportJob.State.CHECKED:
        raise ValidationError(
            f"This import is not waiting to start (it is {job.get_state_display().lower()})."
        )
    if job.mode == ImportJob.Mode.ALL_OR_NOTHING and job.will_refuse:
        raise ValidationError(
            f"All or nothing: {job.will_refuse} row{'s' if job.will_refuse != 1 else ''} "
            "would be refused, so nothing is imported. Fix them and upload the file again, "
            "or import every acceptable row."
        )
    updated = ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.CHECKED).update(
        state=ImportJob.State.QUEUED, queued_at=timezone.now(), heartbeat_at=None
    )
    if not updated:  # started by a second click in the meantime
        raise ValidationError("This import has already started.")
    if schedule:
        transaction.on_commit(lambda: _schedule("import", job.pk))
    job.refresh_from_db()
    return job


class _Refused(Exception):
    """All or nothing: a row was refused while writing, so the transaction rolls back."""


def _claim_for_import(job: ImportJob) -> bool:
    """Take the queued job for this worker (this attempt): False when another worker took
    it, or it is no longer queued."""
    now = timezone.now()
    return bool(
        ImportJob.objects.filter(
            pk=job.pk, attempt=job.attempt, state=ImportJob.State.QUEUED
        ).update(
            state=ImportJob.State.IMPORTING,
            started_at=now,
            heartbeat_at=now,
            processed_rows=0,
            created_count=0,
            updated_count=0,
            flagged_count=0,
            refused_count=0,
        )
    )


def _record_import_progress(
    job: ImportJob, counts: dict[str, int], *, all_or_nothing: bool
) -> None:
    """After a batch, inside its transaction: the job's progress and heartbeat, or
    _Superseded when the job is no longer this worker's."""
    importing = ImportJob.State.IMPORTING
    if all_or_nothing:
        # The job's row is not written inside the long transaction (other processes could
        # not see it, and on PostgreSQL it would stay locked): the progress and the
        # heartbeat go to the cache, and the job is re-read to see that it is still this
        # worker's (read committed sees a failure marked meanwhile).
        if not ImportJob.objects.filter(pk=job.pk, attempt=job.attempt, state=importing).exists():
            raise _Superseded
        cache.set(PROGRESS_KEY.format(job.pk), counts["rows"], timeout=3600)
        cache.set(HEARTBEAT_KEY.format(job.pk, job.attempt), time.time(), TASK_HARD_LIMIT)
    else:
        # In the batch's transaction: a superseded worker's last batch rolls back.
        _beat(
            job,
            importing,
            processed_rows=counts["rows"],
            created_count=counts["created"],
            updated_count=counts["updated"],
            flagged_count=counts["flagged"],
            refused_count=counts["refused"],
        )


def import_run(*, job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """Import the file: every acceptable row, or (all or nothing) every row or none. A job
    another worker already took (or that is no longer queued) is left alone."""
    path = import_file_path(job)
    if not _claim_for_import(job):
        job.refresh_from_db()
        return job
    ImportProblem.objects.filter(job=job, stage="import").delete()
    all_or_nothing = job.mode == ImportJob.Mode.ALL_OR_NOTHING
    zone = ZoneInfo(job.time_zone)
    seen: set[str] = set()
    counts = {"rows": 0, "created": 0, "updated": 0, "flagged": 0, "refused": 0}
    refused_rows: list[Row] = []
    importing = ImportJob.State.IMPORTING

    def one_batch(batch: list[Any], header: list[str]) -> None:
        rows = check_batch(
            team=job.team, kind=job.kind, header=header, zone=zone, batch=batch, seen=seen
        )
        refused = [row for row in rows if row.refused]
        if all_or_nothing and refused:
            refused_rows.extend(refused)
            raise _Refused
        with transaction.atomic():
            write_batch(team=job.team, kind=job.kind, rows=rows, user=job.created_by)
            flagged, _ = _problems(job, "import", rows, MAX_FLAGS_KEPT - counts["flagged"])
            counts["rows"] += len(rows)
            counts["flagged"] += flagged
            counts["refused"] += len(refused)
            counts["created"] += sum(1 for r in rows if not r.refused and r.created)
            counts["updated"] += sum(1 for r in rows if not r.refused and not r.created)
            _record_import_progress(job, counts, all_or_nothing=all_or_nothing)
        if progress:
            progress(len(rows))

    def finish(**fields: Any) -> None:
        _beat(
            job,
            importing,
            state=ImportJob.State.DONE,
            processed_rows=F("total_rows") if counts["rows"] < job.total_rows else counts["rows"],
            created_count=counts["created"],
            updated_count=counts["updated"],
            flagged_count=counts["flagged"],
            refused_count=counts["refused"],
            finished_at=timezone.now(),
            **fields,
        )

    try:
        try:
            header, _ = read_header(path, job.kind)
            if all_or_nothing:
                with transaction.atomic():
                    for batch in batches(read_rows(path, header)):
                        one_batch(batch, header)
                    finish()  # in the transaction: done and the rows commit together
            else:
                for batch in batches(read_rows(path, header)):
                    one_batch(batch, header)
                finish()
        except _Refused:
            _problems(job, "import", refused_rows, 0)
            counts = {
                "rows": counts["rows"],
                "created": 0,
                "updated": 0,
                "flagged": 0,
                "refused": len(refused_rows),
            }
            finish(error="All or nothing: a row was refused, so nothing was imported.")
    except _Superseded:
        return _superseded(job)
    except FileProblem as exc:
        return _fail(job, str(exc) + (" Nothing was imported." if all_or_nothing else ""))
    except OSError:
        log.exception("import %s: the file could not be read", job.pk)
        return _fail(job, FILE_GONE + (" Nothing was imported." if all_or_nothing else ""))
    except Exception:
        log.exception("import %s: the import failed", job.pk)
        return _fail(job, _unexpected(job, counts["rows"]), rerun="import")
    finally:
        cache.delete(PROGRESS_KEY.format(job.pk))
        cache.delete(HEARTBEAT_KEY.format(job.pk, job.attempt))
    job.refresh_from_db()
    return job


def _kept(job: ImportJob, rows: int) -> str:
    """What a stopped import left behind, and what running it again does."""
    if job.mode == ImportJob.Mode.ALL_OR_NOTHING:
        return "Nothing was imported; you can run it again."
    if not rows:
        return "No row was imported; you can run it again."
    return (
        f"The {rows:,} rows imported before it stopped are kept; running it again updates "
        "them and imports the rest, without duplicates."
    )


def _unexpected(job: ImportJob, rows: int) -> str:
    return (
        "The import stopped because of an unexpected error (the details are in the "
        f"server's log). {_kept(job, rows)}"
    )


def job_progress(job: ImportJob) -> int:
    """Rows imported so far: from the row, or for an all-or-nothing import under way (whose
    writes are not visible yet) from the cache."""
    if job.state == ImportJob.State.IMPORTING and job.mode == ImportJob.Mode.ALL_OR_NOTHING:
        try:
            return int(cache.get(PROGRESS_KEY.format(job.pk)) or 0)
        except Exception:  # cache down: the bar waits at its start
            return 0
    return job.processed_rows


def _stale_rule(now: dt.datetime) -> Q:
    """Running jobs that have lost their worker: a heartbeat older than the timeout, or a
    stage that no worker has taken within the wait limit."""
    stale = now - dt.timedelta(seconds=settings.EXECDASH_IMPORT_STALE_SECONDS)
    state = ImportJob.State
    return Q(state__in=[state.CHECKING, state.IMPORTING], heartbeat_at__lt=stale) | Q(
        state__in=[state.CHECKING, state.QUEUED],
        heartbeat_at=None,
        queued_at__lt=now - dt.timedelta(seconds=WAIT_LIMIT),
    )


def _alive_in_cache(job: ImportJob, now: dt.datetime) -> bool:
    """All or nothing: whether the worker's heartbeat in the cache is recent. Without one (the
    cache was down or lost it) only the task's hard limit says the worker is gone."""
    if job.state != ImportJob.State.IMPORTING or job.mode != ImportJob.Mode.ALL_OR_NOTHING:
        return False
    beat = cache.get(HEARTBEAT_KEY.format(job.pk, job.attempt))
    if beat is None:
        started = job.started_at or job.heartbeat_at or now
        return (now - started).total_seconds() < TASK_HARD_LIMIT + 60
    return time.time() - float(beat) < settings.EXECDASH_IMPORT_STALE_SECONDS


def _stale_message(job: ImportJob) -> tuple[str, str]:
    """The page's message of a job that lost its worker, and the stage a re-run starts."""
    minutes = max(1, round(settings.EXECDASH_IMPORT_STALE_SECONDS / 60))
    waited = f"{WAIT_LIMIT // 3600} hours"
    if job.state == ImportJob.State.QUEUED:
        return (
            f"No worker took this import within {waited}: is a worker running? Nothing was "
            "imported; you can run it again.",
            "import",
        )
    if job.state == ImportJob.State.CHECKING:
        if job.heartbeat_at is None:
            return (
                f"No worker took this file to check it within {waited}: is a worker "
                "running? You can check it again.",
                "check",
            )
        return (
            f"Checking the file stopped responding: no progress for {minutes} minutes (its "
            "worker stopped or restarted). Nothing was imported; you can check it again.",
            "check",
        )
    return (
        f"The import stopped responding: no progress for {minutes} minutes (its worker "
        f"stopped or restarted). {_kept(job, job.processed_rows)}",
        "import",
    )


def import_jobs_fail_stale(*, job: ImportJob | None = None) -> int:
    """Mark failed the running jobs (all, or the one given) whose worker is gone; how many.
    The job's page calls it for its job before reading it, beat for all, with one rule. The
    update repeats the rule, so a heartbeat written meanwhile keeps the job running."""
    now = timezone.now()
    rule = _stale_rule(now)
    candidates = ImportJob.objects.filter(rule)
    if job is not None:
        candidates = candidates.filter(pk=job.pk)
    failed = 0
    for stale in candidates:
        if _alive_in_cache(stale, now):
            continue
        message, stage = _stale_message(stale)
        # A savepoint of its own, only here: the page's poll takes no write lock (SQLite's
        # transactions are IMMEDIATE) unless it has a job to mark.
        with transaction.atomic():
            updated = ImportJob.objects.filter(rule, pk=stale.pk, attempt=stale.attempt).update(
                state=ImportJob.State.FAILED, error=message, rerun_stage=stage, finished_at=now
            )
        if updated:
            log.warning("import %s: marked failed, its worker is gone (%s)", stale.pk, message)
            failed += 1
    return failed


def job_rerun(*, job: ImportJob, schedule: bool = True) -> ImportJob:
    """Run a failed job's stage again (its check, or its import) as a new attempt."""
    if not job.can_rerun:
        raise ValidationError(
            "This import cannot be run again"
            + (": the file itself is at fault; upload a corrected file." if job.error else ".")
        )
    if not _storage_path(job).is_file():
        raise ValidationError(FILE_GONE)
    stage = job.rerun_stage
    updated = ImportJob.objects.filter(
        pk=job.pk, attempt=job.attempt, state=ImportJob.State.FAILED
    ).update(
        state=ImportJob.State.CHECKING if stage == "check" else ImportJob.State.QUEUED,
        attempt=F("attempt") + 1,
        error="",
        rerun_stage="",
        queued_at=timezone.now(),
        heartbeat_at=None,
        finished_at=None,
    )
    if not updated:  # a second click in the meantime
        raise ValidationError("This import has already been started again.")
    if schedule:
        transaction.on_commit(lambda: _schedule(stage, job.pk))
    job.refresh_from_db()
    return job
