"""The bounds of what execdash stores, written once and applied at every door.

Every instant, date, number and text that enters (a form, the API, a webhook, a CSV import,
the admin, a management command) is checked against these bounds before anything is
written, and the database holds the same bounds as CHECK constraints, so a stored row can
never break a page:

- instants between 1970-01-01 and 2100-01-01 UTC, with a UTC offset within ±14:00 (the
  widest any real time zone uses);
- dates in the same range (1970-01-01 to 2099-12-31);
- finite numbers of magnitude at most 10^12 (outcome values, baselines, targets): no NaN,
  no infinity, nothing the arithmetic downstream cannot represent;
- text without U+0000 (PostgreSQL cannot store it): refused naming the field, never
  stripped silently (a refusal that quotes the text writes it as \\u0000, `nul_escaped`);
- a list's `offset` at most MAX_LIST_OFFSET;
- a row's id written as text (a CSV cell naming a record, a `?from=` of a page) read only
  when it is ASCII digits within the database's 64-bit ids: `str.isdigit()` also says yes
  to "²", which `int()` refuses, and to ten thousand digits, which `int()` refuses to read
  and no id can be.

Each check comes in two shapes: `*_problem(value)` returns the sentence that says what is
wrong (or None), for the doors that collect errors (API schemas, imports, webhooks); the
`validate_*` functions raise Django's ValidationError with it, for model fields and forms.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)  # exclusive
FIRST_DAY = EARLIEST.date()
LAST_DAY = LATEST.date() - dt.timedelta(days=1)
MAX_UTC_OFFSET = dt.timedelta(hours=14)
MAX_MAGNITUDE = 1e12
MAX_LIST_OFFSET = 1_000_000_000
MAX_ROW_ID = 2**63 - 1  # a BigAutoField (DEFAULT_AUTO_FIELD), on SQLite and PostgreSQL
NUL = "\x00"

INSTANT_MESSAGE = "Give a time between 1970-01-01 and 2100-01-01 (UTC)."
OFFSET_MESSAGE = "Give a UTC offset between -14:00 and +14:00."
DAY_MESSAGE = "Give a date between 1970-01-01 and 2099-12-31."
NUMBER_MESSAGE = "Give a finite number between -1e12 and 1e12."
NUL_MESSAGE = "Remove the NUL character (U+0000): text cannot contain it."


def instant_problem(value: dt.datetime) -> str | None:
    """What is out of bounds in an instant, or None. A naive value is read as UTC."""
    offset = value.utcoffset()
    if offset is not None and abs(offset) > MAX_UTC_OFFSET:
        return OFFSET_MESSAGE
    # Compare the wall-clock year first: converting year 1 or 9999 to UTC can overflow.
    if not FIRST_DAY.year - 1 <= value.year <= LATEST.year:
        return INSTANT_MESSAGE
    moment = value.replace(tzinfo=dt.UTC) - (offset or dt.timedelta(0))
    if not EARLIEST <= moment < LATEST:
        return INSTANT_MESSAGE
    return None


def day_problem(value: dt.date) -> str | None:
    if isinstance(value, dt.datetime):
        return instant_problem(value)
    return None if FIRST_DAY <= value <= LAST_DAY else DAY_MESSAGE


def number_problem(value: float) -> str | None:
    number = float(value)
    if not math.isfinite(number) or abs(number) > MAX_MAGNITUDE:
        return NUMBER_MESSAGE
    return None


def text_problem(value: str) -> str | None:
    return NUL_MESSAGE if NUL in value else None


def nul_escaped(value: str) -> str:
    """`value` with each U+0000 written as the six characters \\u0000: how a refusal names
    or quotes what was sent, since the refusal itself is stored and shown."""
    return value.replace(NUL, "\\u0000")


def row_id(text: str) -> int | None:
    """The id a text names, or None when it cannot name a stored row (not ASCII digits, 0,
    or beyond MAX_ROW_ID: a lookup of it would overflow the database's integer)."""
    text = text.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ROW_ID)):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ROW_ID else None


def nul_paths(data: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The paths (keys and list indexes) of every string in a parsed JSON document, key or
    value, that holds U+0000."""
    if isinstance(data, str):
        if NUL in data:
            yield path
    elif isinstance(data, dict):
        for key, item in data.items():
            name = str(key)
            if NUL in name:
                yield (*path, nul_escaped(name))
            yield from nul_paths(item, (*path, name))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from nul_paths(item, (*path, str(index)))


def _raise_if(problem: str | None) -> None:
    if problem is not None:
        raise ValidationError(problem, code="out_of_bounds")


def validate_instant(value: dt.datetime) -> None:
    _raise_if(instant_problem(value))


def validate_day(value: dt.date) -> None:
    _raise_if(day_problem(value))


def validate_number(value: float) -> None:
    _raise_if(number_problem(value))


def validate_text(value: str) -> None:
    _raise_if(text_problem(value))


# --- the same bounds in the database ---------------------------------------------------------

INSTANT, DAY, NUMBER = "instant", "day", "number"


def bounds_q(field: str, kind: str) -> Q:
    """The condition a stored value of `field` meets (NULL passes: a field's nullability
    is its own rule). NaN fails every comparison, so it is refused too."""
    if kind == INSTANT:
        inside = Q(**{f"{field}__gte": EARLIEST, f"{field}__lt": LATEST})
    elif kind == DAY:
        inside = Q(**{f"{field}__gte": FIRST_DAY, f"{field}__lte": LAST_DAY})
    elif kind == NUMBER:
        inside = Q(**{f"{field}__gte": -MAX_MAGNITUDE, f"{field}__lte": MAX_MAGNITUDE})
    else:  # pragma: no cover - a programming error
        raise ValueError(kind)
    return inside | Q(**{f"{field}__isnull": True})


def within_bounds(field: str, kind: str) -> models.CheckConstraint:
    """A CHECK constraint holding `field` to the bounds of its `kind`."""
    return models.CheckConstraint(
        condition=bounds_q(field, kind), name=f"%(app_label)s_%(class)s_{field}_in_bounds"
    )


# The stored fields each bound holds, by model: `check_data` and the migrations that add
# the constraints read this list.
BOUNDED_FIELDS: dict[str, dict[str, str]] = {
    "releases.Release": {"deployed_at": INSTANT, "first_commit_at": INSTANT},
    "incidents.Incident": {
        "started_at": INSTANT,
        "detected_at": INSTANT,
        "resolved_at": INSTANT,
    },
    "focus.FocusPeriod": {"starts_on": DAY, "ends_on": DAY, "revisit_on": DAY},
    "outcomes.Outcome": {"baseline": NUMBER, "target": NUMBER, "target_date": DAY},
    "outcomes.OutcomeMeasurement": {"measured_on": DAY, "value": NUMBER},
}


def constraints_for(model: str) -> list[models.CheckConstraint]:
    return [within_bounds(field, kind) for field, kind in BOUNDED_FIELDS[model].items()]
