from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from ninja import Status

from apps.api.auth import team_for_token, token_of
from apps.api.errors import ApiError
from apps.api.schemas import Error, WindowQuery
from apps.core.csvfiles import csv_response

# Any route may answer these, whatever it does: the rate limit in front of every route
# (apps/api/urls.py, RATE_LIMIT_API) and a database that cannot be reached or cancelled the
# query (apps.core.views.server_error). Both say in Retry-After when to try again.
UNAVAILABLE = {429: Error, 503: Error}
READ_ERRORS = {400: Error, 401: Error, 404: Error, 422: Error, **UNAVAILABLE}
# A write may also break a database rule, typically a concurrent request inserting the same
# row first: apps.api.errors answers the IntegrityError with a 409, nothing saved.
WRITE_ERRORS = {**READ_ERRORS, 409: Error}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
# What the document says of each error beyond its JSON body (the headers it carries).
_ERROR_DETAILS: dict[int, dict[str, Any]] = {
    401: {
        "description": "Missing, unknown or revoked token.",
        "headers": {
            "WWW-Authenticate": {
                "description": 'Bearer realm="execdash"',
                "schema": {"type": "string"},
            }
        },
    },
    429: {
        "description": "Too many requests with this token (or from this address without "
        "one): over RATE_LIMIT_API.",
        "headers": _RETRY_AFTER,
    },
    503: {
        "description": "The database cannot be reached, or cancelled the query; nothing was "
        "saved. Try again shortly.",
        "headers": _RETRY_AFTER,
    },
}
# Answered by the web server in front of every route, not by execdash: a request line (the
# path with its query string) over gunicorn's limit_request_line (4094 bytes by default).
_URI_TOO_LONG = {
    414: {
        "description": "The request line is longer than the web server accepts; nothing was "
        "read. Send fewer or shorter query parameters.",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}
CSV_MEDIA_TYPE = "text/csv"
_FORMAT_PARAMETER = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "`csv` answers CSV (text/csv; as does `Accept: text/csv`); anything else, "
    "or nothing, JSON.",
    "schema": {"type": "string", "examples": ["csv"]},
}


def answers(response: dict[int, Any], *, csv: bool = False) -> dict[str, Any]:
    """A route decorator's `response` and `openapi_extra` (`@router.get(..., **answers(...))`):
    the statuses `response` declares, with the headers of its errors, and with `csv` the
    `format` parameter and the text/csv form of the 200 (the route's `wants_csv`)."""
    details: dict[int, dict[str, Any]] = {
        status: copy.deepcopy(_ERROR_DETAILS[status])
        for status in response
        if status in _ERROR_DETAILS
    }
    details.update(copy.deepcopy(_URI_TOO_LONG))
    extra: dict[str, Any] = {"responses": details}
    if csv:
        details[200] = {"content": {CSV_MEDIA_TYPE: {"schema": {"type": "string"}}}}
        extra["parameters"] = [copy.deepcopy(_FORMAT_PARAMETER)]
    return {"response": response, "openapi_extra": extra}


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


def row_in_team[M](
    find: Callable[..., M | None],
    *,
    team: Any,
    ref: int | str,
    field: str,
    noun: str,
    detail: str,
) -> M:
    """The team's row that `ref` names (`find(team=, ref=)`), or a 422: `detail`, and under
    `field` which `noun` was not found."""
    row = find(team=team, ref=ref)
    if row is None:
        raise ApiError(422, detail, {field: [f"No {noun} '{ref}' in team '{team.slug}'."]})
    return row


def wants_csv(request: HttpRequest) -> bool:
    """`?format=csv`, or an Accept header that asks for text/csv."""
    if request.GET.get("format", "").lower() == "csv":
        return True
    return "text/csv" in request.headers.get("Accept", "")


def window_list(
    request: HttpRequest,
    filters: WindowQuery,
    rows: Callable[..., QuerySet[Any]],
    *,
    noun: str,
    header: tuple[str, ...],
    cells: Callable[[QuerySet[Any]], Any],
) -> dict[str, Any]:
    """A list route's answer: `rows(team=, start=, end=)` for the token (its team's, or with
    an organization token and no `team`, every team's), one page at a time; or with
    `?format=csv` (or an Accept header asking for it) every row of the window (no paging)
    as a streamed CSV, in the columns of the API (`header`, `cells`)."""
    team = team_for_token(token_of(request), filters.team, unknown_status=400, required=False)
    if not wants_csv(request):
        return page_of(rows(team=team, start=filters.start, end=filters.end), filters)
    check_window(filters)
    name = f"{team.slug if team is not None else 'organization'}-{noun}.csv"
    qs = rows(team=team, start=filters.start, end=filters.end)
    # A response is passed through as it is, whatever the route's schema.
    return csv_response(name, header, cells(qs))  # type: ignore[return-value]


def upsert_answer[M: Model](
    write: Callable[[], tuple[M, bool]], answer_rows: QuerySet[M]
) -> Status[M]:
    """Run an idempotent upsert: 201 with a new row, 200 with one updated, read back
    through `answer_rows` (the relations the answer shows)."""
    row, created = upsert_retrying(write)
    return Status(201 if created else 200, answer_rows.get(pk=row.pk))


def upsert_retrying[T](write: Callable[[], T]) -> T:
    """Run an idempotent upsert; if a concurrent request inserted the same external_id
    first (a unique-constraint race), run it once more: it then finds and updates that row.
    """
    try:
        return write()
    except IntegrityError:
        return write()
