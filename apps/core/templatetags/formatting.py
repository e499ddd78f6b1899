"""How numbers read on every page: `{% load formatting %}`.

The filters wrap the plain-text functions of apps/core/formatting.py and render the
"no data" mark (a "—" with a tooltip, never 0 for unknown).
"""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from apps.core.formatting import (
    LEVEL_ICONS,
    LEVEL_LABELS,
    NO_DATA,
    NO_DATA_TITLE,
    format_ago,
    format_count,
    format_duration,
    format_level,
    format_per_week,
    format_rate,
)

register = template.Library()


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
