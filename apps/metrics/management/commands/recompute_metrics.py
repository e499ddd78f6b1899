"""`manage.py recompute_metrics [--team SLUG] [--since DATE]`: recompute weekly rollups now.

Synchronous: when it returns, every rollup and every window answer reflects all data
committed before it started (cached windows are invalidated).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from apps.core import bounds
from apps.metrics.rollups import rollups_recompute_all
from apps.teams.models import Team


def steps(*, one_team: bool, since: bool) -> int:
    """Progress steps of rollups_recompute_all: its grouped reads, then the two writes."""
    reads = 5 + (0 if one_team else 3) + (1 if since else 0)
    return reads + 2


class Command(BaseCommand):
    help = "Recompute the weekly metric rollups of every team (or one) and the organization."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--team", metavar="SLUG", help="Only this team (and the org).")
        parser.add_argument(
            "--since", metavar="DATE", help="Only weeks from this date on (YYYY-MM-DD)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        team = None
        if options["team"]:
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                known = ", ".join(Team.objects.order_by("slug").values_list("slug", flat=True)[:20])
                raise CommandError(
                    f"No team with slug {options['team']!r}."
                    + (f" Known: {known}." if known else "")
                )
        since = None
        if options["since"]:
            try:
                since = dt.date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(
                    f"--since {options['since']!r} is not a date: use YYYY-MM-DD."
                ) from None
            if (problem := bounds.day_problem(since)) is not None:
                raise CommandError(f"--since {options['since']}: {problem}")
        bar = tqdm(
            total=steps(one_team=team is not None, since=since is not None),
            unit="step",
            file=sys.stderr,
            desc="recompute",
            disable=options.get("verbosity", 1) == 0,
        )

        def progress(label: str, _n: int) -> None:
            bar.set_postfix_str(label)
            bar.update(1)

        began = time.perf_counter()
        try:
            written = rollups_recompute_all(
                team=team, since=since, progress=progress, trigger="command"
            )
        finally:
            bar.close()
        elapsed = time.perf_counter() - began
        scope = f"team {team.slug}" if team else "all teams"
        start = f" from {since.isoformat()}" if since else ""
        self.stdout.write(
            f"Recomputed {written} weekly rollups ({scope} and the organization{start}) "
            f"in {elapsed:.1f} s."
        )
