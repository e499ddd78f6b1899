"""Reads of CSV imports: a team's jobs, one job, its progress and its problem rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from apps.imports.models import ImportJob, ImportProblem
from apps.imports.rows import FileProblem, Row, check_batch, read_header, read_rows
from apps.imports.services import import_file_path, job_progress
from apps.teams.models import Team

PREVIEW_PROBLEMS = 50


def import_jobs(*, team: Team, limit: int = 20) -> QuerySet[ImportJob]:
    return ImportJob.objects.filter(team=team).select_related("team", "created_by")[:limit]


def import_job_get(*, team: Team, pk: int) -> ImportJob:
    return ImportJob.objects.select_related("team", "created_by").get(team=team, pk=pk)


@dataclass(frozen=True)
class JobProgress:
    done: int
    total: int
    percent: int
    stage: str


def import_progress(job: ImportJob) -> JobProgress:
    """How far the job's current stage got, read from its row (and the cache, see
    services.job_progress)."""
    state = ImportJob.State
    if job.state == state.CHECKING:
        done, total, stage = job.checked_rows, job.checked_rows, "Checked"
        # The size of the file is known only once it has been read: no total yet.
        return JobProgress(done, 0, 0, stage)
    if job.state in (state.QUEUED, state.IMPORTING):
        done, total = job_progress(job), job.total_rows
        percent = min(99, done * 100 // total) if total else 0
        return JobProgress(done, total, percent, "Imported")
    if job.state == state.DONE:
        return JobProgress(job.processed_rows, job.total_rows, 100, "Imported")
    return JobProgress(job.checked_rows, job.total_rows, 0, "Checked")


def import_problems(
    *, job: ImportJob, stage: str, refused: bool, limit: int = PREVIEW_PROBLEMS
) -> list[ImportProblem]:
    return list(
        ImportProblem.objects.filter(job=job, stage=stage, refused=refused).order_by(
            "row_number", "id"
        )[:limit]
    )


def refused_rows_csv(*, job: ImportJob, header: list[str]) -> Iterator[list[Any]]:
    """The refused rows as they were read, then the row number, column and reason of each
    refusal (a row refused for two reasons appears twice). Read a chunk at a time."""
    stage = "import" if job.state == ImportJob.State.DONE else "check"
    qs = ImportProblem.objects.filter(job=job, stage=stage, refused=True).order_by(
        "row_number", "id"
    )
    for problem in qs.iterator(chunk_size=2000):
        raw = problem.raw or {}
        yield [
            problem.row_number,
            problem.column,
            problem.message,
            *(raw.get(c, "") for c in header),
        ]


PREVIEW_ROWS = 10


def import_preview(job: ImportJob, limit: int = PREVIEW_ROWS) -> list[Row]:
    """The file's first rows, each checked as the import will check it (an empty list when
    the file cannot be read any more)."""
    path = import_file_path(job)
    try:
        header, _ = read_header(path, job.kind)
        first = []
        for row in read_rows(path, header):
            first.append(row)
            if len(first) >= limit:
                break
    except (FileProblem, OSError):
        return []
    return check_batch(
        team=job.team,
        kind=job.kind,
        header=header,
        zone=ZoneInfo(job.time_zone),
        batch=first,
        seen=set(),
    )
