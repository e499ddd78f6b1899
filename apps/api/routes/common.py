from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError
from django.db.models import QuerySet

from apps.api.errors import ApiError
from apps.api.schemas import WindowQuery


def check_window(filters: WindowQuery) -> None:
    if filters.start is not None and filters.end is not None and filters.start >= filters.end:
        raise ApiError(
            400,
            "The window is empty: start must be before end.",
            {"start": [f"Must be before end ({filters.end.isoformat()})."]},
        )


def page_of(qs: QuerySet[Any], filters: WindowQuery) -> dict[str, Any]:
    """One page of `qs` with the total count of rows matching the filters."""
    check_window(filters)
    return paged(qs, limit=filters.limit, offset=filters.offset)


def paged(qs: QuerySet[Any], *, limit: int, offset: int) -> dict[str, Any]:
    """Rows `offset` to `offset + limit` of `qs`, with the total count: a list's answer."""
    return {
        "count": qs.count(),
        "limit": limit,
        "offset": offset,
        "items": list(qs[offset : offset + limit]),
    }


def upsert_retrying[T](write: Callable[[], T]) -> T:
    """Run an idempotent upsert; if a concurrent request inserted the same external_id
    first (a unique-constraint race), run it once more: it then finds and updates that row.
    """
    try:
        return write()
    except IntegrityError:
        return write()
