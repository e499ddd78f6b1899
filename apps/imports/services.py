"""Writes of CSV imports: storing the upload, checking the whole file (a dry run, for the
summary), and importing it. The checking and the import run in the worker (tasks.py); the
command runs them in-process with a progress bar.

Progress is written to the job's row after every batch, so any process (the page after a
reload, the command) reads it. "All or nothing" imports in one transaction, which other
connections cannot see into until it commits: its progress also goes to the cache.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core.bounds import nul_escaped
from apps.imports.models import ImportJob, ImportProblem
from apps.imports.rows import (
    FileProblem,
    Row,
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

Progress = Callable[[int], None]


def _storage_path(job: ImportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file_path


def import_file_path(job: ImportJob) -> str:
    return str(_storage_path(job))


def _store(chunks: Iterable[bytes]) -> tuple[str, int]:
    """Write the upload to MEDIA_ROOT/imports/, a chunk at a time; its relative path and size."""
    relative = f"imports/{uuid.uuid4().hex}.csv"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
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
    relative, size = _store(chunks)
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
        ImportJob.objects.filter(pk=job_id).update(
            state=ImportJob.State.FAILED,
            error=f"The worker could not be reached ({exc.__class__.__name__}); try again.",
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


def _fail(job: ImportJob, message: str) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.FAILED, error=message, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def import_check(*, job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """The dry run: check every row, streamed, and count what the import will create,
    update, flag and refuse. Writes no record."""
    path = import_file_path(job)
    ImportProblem.objects.filter(job=job, stage="check").delete()
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.CHECKING, checked_rows=0, total_rows=0
    )
    zone = ZoneInfo(job.time_zone)
    seen: set[str] = set()
    counts = {"rows": 0, "create": 0, "update": 0, "flag": 0, "refuse": 0}
    try:
        header, _ = read_header(path, job.kind)
        for batch in batches(read_rows(path, header)):
            rows = check_batch(
                team=job.team, kind=job.kind, header=header, zone=zone, batch=batch, seen=seen
            )
            flagged, refused = _problems(job, "check", rows, MAX_FLAGS_KEPT - counts["flag"])
            counts["rows"] += len(rows)
            counts["flag"] += flagged
            counts["refuse"] += refused
            counts["create"] += sum(1 for r in rows if not r.refused and r.created)
            counts["update"] += sum(1 for r in rows if not r.refused and not r.created)
            ImportJob.objects.filter(pk=job.pk).update(checked_rows=counts["rows"])
            if progress:
                progress(len(rows))
    except (FileProblem, OSError) as exc:
        return _fail(job, str(exc))
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.CHECKED,
        total_rows=counts["rows"],
        checked_rows=counts["rows"],
        will_create=counts["create"],
        will_update=counts["update"],
        will_flag=counts["flag"],
        will_refuse=counts["refuse"],
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
        state=ImportJob.State.QUEUED
    )
    if not updated:  # started by a second click in the meantime
        raise ValidationError("This import has already started.")
    if schedule:
        transaction.on_commit(lambda: _schedule("import", job.pk))
    job.refresh_from_db()
    return job


class _Refused(Exception):
    """All or nothing: a row was refused while writing, so the transaction rolls back."""


def import_run(*, job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """Import the file: every acceptable row, or (all or nothing) every row or none."""
    path = import_file_path(job)
    ImportProblem.objects.filter(job=job, stage="import").delete()
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.IMPORTING,
        started_at=timezone.now(),
        processed_rows=0,
        created_count=0,
        updated_count=0,
        flagged_count=0,
        refused_count=0,
    )
    all_or_nothing = job.mode == ImportJob.Mode.ALL_OR_NOTHING
    zone = ZoneInfo(job.time_zone)
    seen: set[str] = set()
    counts = {"rows": 0, "created": 0, "updated": 0, "flagged": 0, "refused": 0}
    refused_rows: list[Row] = []

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
        if all_or_nothing:
            cache.set(PROGRESS_KEY.format(job.pk), counts["rows"], timeout=3600)
        else:
            ImportJob.objects.filter(pk=job.pk).update(
                processed_rows=counts["rows"],
                created_count=counts["created"],
                updated_count=counts["updated"],
                flagged_count=counts["flagged"],
                refused_count=counts["refused"],
            )
        if progress:
            progress(len(rows))

    try:
        header, _ = read_header(path, job.kind)
        if all_or_nothing:
            with transaction.atomic():
                for batch in batches(read_rows(path, header)):
                    one_batch(batch, header)
        else:
            for batch in batches(read_rows(path, header)):
                one_batch(batch, header)
    except _Refused:
        _problems(job, "import", refused_rows, 0)
        counts = {
            "rows": counts["rows"],
            "created": 0,
            "updated": 0,
            "flagged": 0,
            "refused": len(refused_rows),
        }
        ImportJob.objects.filter(pk=job.pk).update(
            error="All or nothing: a row was refused, so nothing was imported."
        )
    except (FileProblem, OSError) as exc:
        return _fail(job, str(exc) + (" Nothing was imported." if all_or_nothing else ""))
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.DONE,
        processed_rows=F("total_rows") if counts["rows"] < job.total_rows else counts["rows"],
        created_count=counts["created"],
        updated_count=counts["updated"],
        flagged_count=counts["flagged"],
        refused_count=counts["refused"],
        finished_at=timezone.now(),
    )
    cache.delete(PROGRESS_KEY.format(job.pk))
    job.refresh_from_db()
    return job


def job_progress(job: ImportJob) -> int:
    """Rows imported so far: from the row, or for an all-or-nothing import under way (whose
    writes are not visible yet) from the cache."""
    if job.state == ImportJob.State.IMPORTING and job.mode == ImportJob.Mode.ALL_OR_NOTHING:
        try:
            return int(cache.get(PROGRESS_KEY.format(job.pk)) or 0)
        except Exception:  # cache down: the bar waits at its start
            return 0
    return job.processed_rows
