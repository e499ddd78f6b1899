"""`manage.py check_data`: list every stored value outside execdash's bounds (README,
"Bounds"), by table, id and field; exits non-zero when there is any.

The database refuses such values (CHECK constraints), so this finds only rows stored before
the bounds existed; the migrations that add the constraints run the same check first.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from apps.core.data_check import rows_out_of_bounds


class Command(BaseCommand):
    help = "List stored values outside execdash's bounds (by table, id and field)."

    def handle(self, *args: Any, **options: Any) -> None:
        rows = rows_out_of_bounds(apps.get_model)
        if not rows:
            self.stdout.write("Every stored value is within bounds.")
            return
        for row in rows:
            self.stdout.write(str(row))
        raise CommandError(
            f"{len(rows)} stored value(s) outside the bounds: correct or delete those rows."
        )
