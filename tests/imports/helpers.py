"""Building CSV files and running imports in-process for the import tests."""

from __future__ import annotations

import csv
import io
from typing import Any

from apps.imports.models import ImportJob
from apps.imports.services import import_check, import_run, job_create, job_start
from apps.teams.models import Team


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def run(
    team: Team,
    kind: str,
    data: bytes,
    *,
    mode: str = ImportJob.Mode.EVERY_ROW,
    time_zone: str = "UTC",
) -> ImportJob:
    """Upload, check and import a file in this process (no worker); the job as it ends."""
    job = job_create(
        team=team,
        kind=kind,
        mode=mode,
        time_zone=time_zone,
        file_name="t.csv",
        chunks=[data],
        check=False,
    )
    job = import_check(job=job)
    if job.state != ImportJob.State.CHECKED:
        return job
    job = job_start(job=job, schedule=False)
    return import_run(job=job)
