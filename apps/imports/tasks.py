"""Thin Celery tasks: each calls one service with the job's id."""

from __future__ import annotations

from celery import shared_task

from apps.imports.models import ImportJob
from apps.imports.services import (
    TASK_HARD_LIMIT,
    import_check,
    import_jobs_fail_stale,
    import_run,
)

HARD_LIMIT = TASK_HARD_LIMIT


@shared_task(time_limit=HARD_LIMIT, soft_time_limit=HARD_LIMIT - 60)
def check_import(job_id: int) -> str:
    job = ImportJob.objects.select_related("team").filter(pk=job_id).first()
    if job is None or job.state != ImportJob.State.CHECKING:
        return "skipped"
    return import_check(job=job).state


@shared_task(time_limit=HARD_LIMIT, soft_time_limit=HARD_LIMIT - 60)
def run_import(job_id: int) -> str:
    job = ImportJob.objects.select_related("team", "created_by").filter(pk=job_id).first()
    if job is None or job.state != ImportJob.State.QUEUED:
        return "skipped"
    return import_run(job=job).state


@shared_task(ignore_result=True)
def fail_stale_imports() -> int:
    """Beat: imports whose worker is gone end as failed even when nobody reads their page."""
    return import_jobs_fail_stale()
