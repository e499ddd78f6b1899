"""`manage.py seed_demo`: load realistic, deterministic demo data (idempotent)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.demo.organization import DEMO_PASSWORD, PROFILES
from apps.demo.seeding import seed_demo
from apps.focus.evaluations import focus_evaluations_refresh
from apps.metrics.rollups import rollups_recompute_all


class Command(BaseCommand):
    help = (
        "Load demo teams, people, focus periods, releases, incidents and outcomes, relative "
        "to today. Deterministic for a given --seed and day; running it again adds only what "
        "is missing. Ends by recomputing the rollups."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--teams",
            type=int,
            default=5,
            help=f"How many teams (default 5; the first {len(PROFILES)} have names).",
        )
        parser.add_argument("--weeks", type=int, default=26, help="Weeks of history (default 26).")
        parser.add_argument("--seed", type=int, default=7, help="Random seed (default 7).")

    def handle(self, *args: Any, teams: int, weeks: int, seed: int, **options: Any) -> None:
        if teams < 1 or weeks < 1:
            raise CommandError("--teams and --weeks must be at least 1")
        if teams > 1000 or weeks > 520:
            raise CommandError("--teams is at most 1000 and --weeks at most 520 (ten years)")
        started = time.monotonic()
        report = seed_demo(teams=teams, weeks=weeks, seed=seed)
        added = (
            report.releases
            + report.incidents
            + report.focus_periods
            + report.focus_events
            + report.measurements
        )
        if report.teams == 0 and added == 0:
            self.stdout.write("Demo data already present; nothing to add.")
        else:
            self.stdout.write(
                f"Demo data: {report.teams} new teams, {report.users} new users, "
                f"{report.focus_periods} focus periods, {report.focus_events} steps of their "
                f"histories, {report.releases} releases, "
                f"{report.incidents} incidents, {report.outcomes} outcomes, "
                f"{report.measurements} measurements."
            )
        rows = recompute()
        self.stdout.write(
            f"Rollups recomputed ({rows} rows) in {time.monotonic() - started:.1f} s. "
            f"Demo users (e.g. maya.payments) have the password {DEMO_PASSWORD!r}."
        )


def recompute() -> int:
    """Recompute every rollup synchronously, whatever the Celery settings say: the bulk
    inserts above bypass the write services and their dirty-bucket marks."""
    rows = int(rollups_recompute_all(trigger="seed_demo") or 0)
    focus_evaluations_refresh()
    return rows
