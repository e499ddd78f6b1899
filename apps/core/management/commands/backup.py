"""`manage.py backup [--output PATH]`: a consistent copy of the database, taken while the
app keeps running.

- SQLite (the embedded default): SQLite's online backup API copies the file page by page
  under a read lock, so a write in progress is never half-copied (a plain `cp` of a live
  WAL database can be). Restore by stopping the app and putting the copy in place of
  `EXECDASH_SQLITE_PATH`.
- PostgreSQL: `pg_dump --format=custom` (one consistent snapshot). Restore with
  `pg_restore --clean --if-exists --no-owner --dbname ...` (README, "Backup and restore").
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone


def default_output(vendor: str) -> Path:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if vendor == "sqlite" else "dump"
    return Path(settings.BASE_DIR) / "var" / "backups" / f"execdash-{stamp}.{suffix}"


def backup_sqlite(output: Path) -> None:
    connection.ensure_connection()
    source = connection.connection
    target = sqlite3.connect(output)
    try:
        source.backup(target)
    finally:
        target.close()


def backup_postgresql(output: Path) -> None:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise CommandError(
            "pg_dump is not installed: install the PostgreSQL client (Debian: postgresql-client)."
        )
    db = connection.settings_dict
    env = dict(os.environ)
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    args = [pg_dump, "--format=custom", "--no-owner", f"--file={output}"]
    if db.get("HOST"):
        args.append(f"--host={db['HOST']}")
    if db.get("PORT"):
        args.append(f"--port={db['PORT']}")
    if db.get("USER"):
        args.append(f"--username={db['USER']}")
    args.append(str(db["NAME"]))
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        output.unlink(missing_ok=True)
        raise CommandError(f"pg_dump failed: {done.stderr.strip()}")


class Command(BaseCommand):
    help = (
        "Write a consistent backup of the database while execdash runs: a SQLite copy "
        "(online backup API) or a PostgreSQL custom-format dump (pg_dump -Fc)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--output",
            metavar="PATH",
            help="Where to write it (default: var/backups/execdash-<time>.sqlite3 or .dump).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        vendor = connection.vendor
        if vendor not in ("sqlite", "postgresql"):
            raise CommandError(f"No backup method for the {vendor} database.")
        output = Path(options["output"]) if options["output"] else default_output(vendor)
        if output.exists():
            raise CommandError(f"{output} exists already: choose another --output.")
        output.parent.mkdir(parents=True, exist_ok=True)
        if vendor == "sqlite":
            backup_sqlite(output)
        else:
            backup_postgresql(output)
        size = output.stat().st_size
        self.stdout.write(f"Backup written to {output} ({size:,} bytes).")
