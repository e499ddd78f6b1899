"""Stored rows outside the bounds of apps.core.bounds: what `manage.py check_data` reports
and what the migrations that add the bounds' CHECK constraints look for first, so that an
old database is never left half-migrated by a row from before the bounds.

Only the rows' ids are read, never their values: a value outside the bounds may be one
Python cannot even represent (a date before year 1).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from apps.core import bounds

MESSAGES = {
    bounds.INSTANT: bounds.INSTANT_MESSAGE,
    bounds.DAY: bounds.DAY_MESSAGE,
    bounds.NUMBER: bounds.NUMBER_MESSAGE,
}


@dataclass(frozen=True)
class OutOfBounds:
    table: str
    id: Any
    field: str
    kind: str

    def __str__(self) -> str:
        return f"{self.table} id {self.id}, {self.field}: {MESSAGES[self.kind]}"


def rows_out_of_bounds(
    get_model: Callable[[str, str], Any], models: Iterable[str] | None = None
) -> list[OutOfBounds]:
    """Every stored value outside its bound, for `models` ("app.Model"; default all the
    bounded ones). `get_model` is `django.apps.apps.get_model` or a migration's
    `apps.get_model`."""
    found: list[OutOfBounds] = []
    for label in models if models is not None else bounds.BOUNDED_FIELDS:
        model = get_model(*label.split("."))
        for field, kind in bounds.BOUNDED_FIELDS[label].items():
            ids = model._default_manager.exclude(bounds.bounds_q(field, kind)).values_list(
                "pk", flat=True
            )
            found.extend(
                OutOfBounds(model._meta.db_table, pk, field, kind) for pk in ids.order_by("pk")
            )
    return found


def refuse_out_of_bounds(*models: str) -> Callable[[Any, Any], None]:
    """A migration step (RunPython) that stops the migration, listing every row of `models`
    outside its bounds, before any constraint is added."""

    def check(apps: Any, schema_editor: Any) -> None:
        rows = rows_out_of_bounds(apps.get_model, models)
        if rows:
            listed = "\n".join(f"  {row}" for row in rows[:200])
            more = f"\n  … and {len(rows) - 200} more" if len(rows) > 200 else ""
            raise RuntimeError(
                f"{len(rows)} stored value(s) are outside execdash's bounds; correct or delete "
                f"these rows, then migrate again (`manage.py check_data` lists them too):\n"
                f"{listed}{more}"
            )

    return check
