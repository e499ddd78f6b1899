"""How numbers read on every page: `{% load formatting %}`.

- durations (seconds) as "45 s", "25 min", "1 h 25 min", "3.2 days";
- rates (fractions, 0.075) as "7.5 %";
- counts with thousands separators ("12,345");
- per-week rates as "3.5";
- no data as "—" with a tooltip, never 0 for unknown;
- DORA levels as a text badge ("elite", "high", "medium", "low", "not enough data").

The plain-text functions (`format_duration`, `format_rate`, …) are importable from Python
(chart hovers, change sentences); the filters wrap them and render the "no data" mark.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

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
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def _trim(number: float, digits: int = 1) -> str:
    """`number` rounded to `digits` decimals, without a trailing ".0"."""
    text = f"{number:.{digits}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


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


def format_rate(fraction: float | None) -> str:
    """A fraction (0.075) as a percentage ("7.5 %"); "—" when unknown."""
    if _missing(fraction):
        return NO_DATA
    assert fraction is not None
    return f"{_trim(float(fraction) * 100)} %"


def format_count(value: int | float | None) -> str:
    """A count with thousands separators ("12,345"); "—" when unknown."""
    if _missing(value):
        return NO_DATA
    assert value is not None
    number = float(value)
    if number.is_integer():
        return f"{int(number):,}"
    return f"{number:,.1f}"


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


def no_data_mark(title: str = NO_DATA_TITLE) -> SafeString:
    """The "—" with a tooltip; screen readers hear "no data"."""
    return format_html(
        '<span class="no-data" role="img" aria-label="no data" title="{}">{}</span>',
        title,
        NO_DATA,
    )


def _or_mark(text: str, title: str | None) -> str | SafeString:
    return no_data_mark(title or NO_DATA_TITLE) if text == NO_DATA else text


@register.filter
def duration(seconds: float | None, no_data_title: str = "") -> str | SafeString:
    """`{{ stats.median|duration }}`, or `{{ x|duration:"No resolved incidents" }}`."""
    return _or_mark(format_duration(seconds), no_data_title)


@register.filter
def rate(fraction: float | None, no_data_title: str = "") -> str | SafeString:
    """`{{ metrics.change_failure_rate|rate }}` → "7.5 %"."""
    return _or_mark(format_rate(fraction), no_data_title)


@register.filter
def count(value: int | None, no_data_title: str = "") -> str | SafeString:
    """`{{ 12345|count }}` → "12,345"."""
    return _or_mark(format_count(value), no_data_title)


@register.filter
def per_week(value: float | None, no_data_title: str = "") -> str | SafeString:
    """`{{ metrics.deployment_frequency_per_week|per_week }}` → "3.5"."""
    return _or_mark(format_per_week(value), no_data_title)


@register.filter
def level_label(level: str | None) -> str:
    """`{{ "not_enough_data"|level_label }}` → "not enough data"."""
    return format_level(level)


@register.filter
def dora_badge(level: str | None, metric_name: str = "") -> SafeString:
    """`{{ metrics.levels.change_failure_rate|dora_badge:"change failure rate" }}`.

    A badge with the level in words and a small icon, so colour is never the only signal.
    """
    key = level if level in LEVEL_LABELS else "not_enough_data"
    label = LEVEL_LABELS[key]
    if key == "not_enough_data":
        title = "Fewer than 5 samples in this range: no DORA level"
    else:
        title = f"DORA level: {label}"
    if metric_name:
        title = f"{metric_name} — {title}"
    return format_html(
        '<span class="badge level level-{}" title="{}">'
        '<span aria-hidden="true">{}</span> {}</span>',
        key.replace("_", "-"),
        title,
        LEVEL_ICONS[key],
        label,
    )


@register.filter
def elapsed(start: dt.datetime | None, end: dt.datetime | None) -> str | SafeString:
    """`{{ incident.started_at|elapsed:incident.resolved_at }}` → "1 h 25 min"."""
    if start is None or end is None:
        return no_data_mark()
    return format_duration((end - start).total_seconds())


@register.filter
def ago(moment: dt.datetime | None) -> str:
    """`computed {{ run.computed_at|ago }}` → "computed 3 min ago"."""
    return format_ago(moment)


@register.simple_tag
def no_data(title: str = NO_DATA_TITLE) -> SafeString:
    """`{% no_data "No incidents in this range" %}`."""
    return no_data_mark(title)
