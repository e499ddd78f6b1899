"""Thin Celery tasks: each calls one service with the job's id."""

from __future__ import annotations

from celery import shared_task

from apps.imports.models import ImportJob
from apps.imports.services import import_check, import_run

# A 100,000-row file takes about a minute; far larger files get more time than the default.
HARD_LIMIT = 4 * 3600


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
