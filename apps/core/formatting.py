"""How numbers read on every page, as plain text (the `formatting` template tags wrap these).

- durations (seconds) as "45 s", "25 min", "1 h 25 min", "3.2 days";
- rates (fractions, 0.075) as "7.5 %";
- counts with thousands separators ("12,345");
- per-week rates as "3.5";
- no data as "—" with a tooltip, never 0 for unknown; a value that cannot be formatted
  (an infinity, an overflow) reads "—" too, with a log line, never a server error;
- DORA levels as a text badge ("elite", "high", "medium", "low", "not enough data").

Chart hovers and change sentences call these functions; the template filters in
apps/core/templatetags/formatting.py wrap them and render the "no data" mark.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import math
from collections.abc import Callable
from typing import Any

from django.utils import timezone

logger = logging.getLogger(__name__)

NO_DATA = "—"
NO_DATA_TITLE = "No data in this range"

LEVEL_LABELS = {
    "elite": "elite",
    "high": "high",
    "medium": "medium",
    "low": "low",
    "not_enough_data": "not enough data",
}
# A short icon beside the word, so the level never hangs on colour alone.
LEVEL_ICONS = {"elite": "★", "high": "▲", "medium": "●", "low": "▼", "not_enough_data": "…"}


def _missing(value: Any) -> bool:
    if value is None or value == "":
        return True
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return True
    if math.isnan(number):
        return True
    if math.isinf(number):
        logger.warning("A number cannot be formatted: %r", value)
        return True
    return False


def _guarded[**P](format_value: Callable[P, str]) -> Callable[P, str]:
    """A formatter that answers "—" (and logs) for a value it cannot format."""

    @functools.wraps(format_value)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> str:
        try:
            return format_value(*args, **kwargs)
        except (ArithmeticError, ValueError, TypeError) as exc:
            logger.warning("%s cannot format %r: %s", format_value.__name__, args, exc)
            return NO_DATA

    return guarded


def _trim(number: float, digits: int = 1) -> str:
    """`number` rounded to `digits` decimals, without a trailing ".0"."""
    text = f"{number:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@_guarded
def format_duration(seconds: float | None) -> str:
    """Seconds as a person reads them; "—" when unknown."""
    if _missing(seconds):
        return NO_DATA
    assert seconds is not None
    total = float(seconds)
    sign = "\u2212" if total < 0 else ""  # a real minus sign
    total = abs(total)
    if total < 60:
        return f"{sign}{round(total)} s"
    minutes = round(total / 60)
    if minutes < 60:
        return f"{sign}{minutes} min"
    if total < 24 * 3600:
        hours, rest = divmod(minutes, 60)
        if hours >= 24:  # 23 h 59.6 min rounds up to a day
            return f"{sign}1 day"
        return f"{sign}{hours} h {rest} min" if rest else f"{sign}{hours} h"
    days = total / 86400
    text = _trim(days)
    unit = "day" if text == "1" else "days"
    return f"{sign}{text} {unit}"


@_guarded
def format_rate(fraction: float | None) -> str:
    """A fraction (0.075) as a percentage ("7.5 %"); "—" when unknown."""
    if _missing(fraction):
        return NO_DATA
    assert fraction is not None
    return f"{_trim(float(fraction) * 100)} %"


@_guarded
def format_count(value: int | float | None) -> str:
    """A count with thousands separators ("12,345"); "—" when unknown."""
    if _missing(value):
        return NO_DATA
    assert value is not None
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.1f}"


@_guarded
def format_per_week(value: float | None) -> str:
    """Deployments per week: one decimal, thousands separators ("3.5", "1,204")."""
    if _missing(value):
        return NO_DATA
    assert value is not None
    number = float(value)
    if number >= 100:
        return f"{round(number):,}"
    return _trim(number)


def format_level(level: str | None) -> str:
    return LEVEL_LABELS.get(level or "not_enough_data", str(level))


@_guarded
def format_ago(moment: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """ "just now", "3 min ago", "2 h ago", "4 days ago"; "never" when unknown."""
    if moment is None:
        return "never"
    seconds = ((now or timezone.now()) - moment).total_seconds()
    if seconds < 45:
        return "just now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 86400:
        return f"{round(seconds / 3600)} h ago"
    days = round(seconds / 86400)
    return f"{days} day ago" if days == 1 else f"{days} days ago"
