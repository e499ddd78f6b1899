"""Measurements pasted as text: `date,value` lines, parsed into a preview with an error per
bad line. Pure (no ORM): `services.outcome_measurements_import_csv_text` imports the lines
only once every one of them is fine.

Accepted: an optional header line (a first line whose first cell holds no digit, such as
`date,value`), ISO dates (`2026-03-02`), decimal values with a dot (`12.5`, `-3`, `1e3`), a
comma, semicolon or tab between the two (a paste from a spreadsheet comes with tabs), blank
lines (ignored) and surrounding spaces or quotes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from apps.core import bounds

MAX_LINES = 5000
SEPARATOR = re.compile(r"[,;\t]")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class CsvLine:
    """One non-blank line of the paste: its number (from 1, blank lines counted), what it
    says, and what is wrong with it ("" when nothing)."""

    number: int
    text: str
    measured_on: dt.date | None = None
    value: float | None = None
    error: str = ""


def _cell(text: str) -> str:
    return text.strip().strip('"').strip("'").strip()


def _parse_line(number: int, text: str, today: dt.date) -> CsvLine:
    cells = [_cell(c) for c in SEPARATOR.split(text)]
    while len(cells) > 2 and cells[-1] == "":
        cells.pop()  # a trailing separator
    if len(cells) != 2:
        return CsvLine(number, text, error="Expected two values, a date and a number.")
    day_text, value_text = cells
    error = ""
    day: dt.date | None = None
    if not ISO_DATE.fullmatch(day_text):
        error = f"“{day_text}” is not a date: write it as YYYY-MM-DD."
    else:
        try:
            day = dt.date.fromisoformat(day_text)
        except ValueError:
            error = f"“{day_text}” is not a date of the calendar."
        else:
            if bounds.day_problem(day) is not None:
                error = f"{day_text}: {bounds.DAY_MESSAGE}"
                day = None
            elif day > today:
                error = f"{day_text} is in the future (today is {today.isoformat()})."
                day = None
    value: float | None = None
    try:
        number_value = Decimal(value_text)
    except InvalidOperation:
        number_value = None
    if number_value is None or not number_value.is_finite():
        problem = f"“{value_text}” is not a number (use a dot for decimals)."
        error = f"{error} {problem}".strip()
    else:
        value = float(number_value)
        if bounds.number_problem(value) is not None:
            error = f"{error} “{value_text}” is too large: {bounds.NUMBER_MESSAGE}".strip()
            value = None
    return CsvLine(number, text, measured_on=day, value=value, error=error)


def measurement_lines_parse(text: str, *, today: dt.date) -> list[CsvLine]:
    """Every non-blank line of `text` (a header aside), parsed; a date given twice is an
    error on its second line."""
    out: list[CsvLine] = []
    first_seen: dict[dt.date, int] = {}
    header_checked = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if not header_checked:
            header_checked = True
            first_cell = _cell(SEPARATOR.split(line)[0])
            if not any(ch.isdigit() for ch in first_cell):
                continue  # a header such as "date,value"
        if len(out) >= MAX_LINES:
            too_many = f"More than {MAX_LINES} lines: split the paste."
            out.append(CsvLine(number, line, error=too_many))
            break
        parsed = _parse_line(number, line, today)
        day = parsed.measured_on
        if day is not None and not parsed.error:
            earlier = first_seen.get(day)
            if earlier is not None:
                parsed = CsvLine(
                    number,
                    line,
                    measured_on=day,
                    value=parsed.value,
                    error=f"{day.isoformat()} is already on line {earlier}.",
                )
            else:
                first_seen[day] = number
        out.append(parsed)
    return out
