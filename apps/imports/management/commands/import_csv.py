"""`manage.py import_csv --team SLUG --kind incidents|releases FILE [--all-or-nothing]
[--timezone ZONE]`: the page's import, in this process, with a progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.imports.models import ImportJob
from apps.imports.selectors import import_problems
from apps.imports.services import import_check, import_run, job_start
from apps.imports.services import job_create as create
from apps.teams.commands import team_for_command

SHOWN_REFUSALS = 20


def _chunks(path: Path, size: int = 1024 * 1024) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


class Command(BaseCommand):
    help = (
        "Import incidents or releases of a team from a CSV file (the columns of the API, "
        "see the README). Every row is checked first; refused rows are listed with their "
        "reasons. Re-importing the same file updates, never duplicates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file (UTF-8, the first line names the columns).")
        parser.add_argument("--team", required=True, metavar="SLUG")
        parser.add_argument("--kind", required=True, choices=ImportJob.Kind.values)
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="Import nothing if any row would be refused.",
        )
        parser.add_argument(
            "--timezone",
            default=None,
            metavar="ZONE",
            help="The zone of times without an offset (default: the organization's).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = team_for_command(options["team"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        mode = (
            ImportJob.Mode.ALL_OR_NOTHING if options["all_or_nothing"] else ImportJob.Mode.EVERY_ROW
        )
        try:
            job = create(
                team=team,
                kind=options["kind"],
                mode=mode,
                time_zone=options["timezone"] or settings.EXECDASH_TIME_ZONE,
                file_name=path.name,
                chunks=_chunks(path),
                check=False,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        for note in job.notes:
            self.stderr.write(note)
        quiet = options["verbosity"] < 1
        with tqdm(desc="Checking", unit=" rows", disable=quiet, file=self.stderr) as bar:
            job = import_check(job=job, progress=bar.update)
        if job.state == ImportJob.State.FAILED:
            raise CommandError(job.error)
        self._refusals(job, "check")
        try:
            job = job_start(job=job, schedule=False)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        with tqdm(
            desc="Importing", total=job.total_rows, unit=" rows", disable=quiet, file=self.stderr
        ) as bar:
            job = import_run(job=job, progress=bar.update)
        if job.state == ImportJob.State.FAILED:
            raise CommandError(job.error)
        self.stdout.write(
            f"{job.total_rows} rows: {job.created_count} created, {job.updated_count} updated, "
            f"{job.flagged_count} stored with a flag, {job.refused_count} refused."
        )
        if job.error:
            raise CommandError(job.error)

    def _refusals(self, job: ImportJob, stage: str) -> None:
        refused = import_problems(job=job, stage=stage, refused=True, limit=SHOWN_REFUSALS)
        for problem in refused:
            column = f" {problem.column}:" if problem.column else ""
            self.stderr.write(f"Row {problem.row_number}:{column} {problem.message}")
        if job.will_refuse > len(refused):
            self.stderr.write(f"… {job.will_refuse} refused rows in all.")
