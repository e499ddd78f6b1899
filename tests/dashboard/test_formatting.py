from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template

from apps.core.templatetags.formatting import (
    dora_badge,
    format_ago,
    format_count,
    format_duration,
    format_per_week,
    format_rate,
)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (float("nan"), "—"),
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (25 * 60, "25 min"),
        (3600, "1 h"),
        (85 * 60, "1 h 25 min"),
        (23 * 3600 + 59 * 60 + 50, "1 day"),
        (86400, "1 day"),
        (3.2 * 86400, "3.2 days"),
        (40 * 86400, "40 days"),
    ],
)
def test_durations_read_like_a_person_writes_them(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(None, "—"), (0, "0 %"), (0.075, "7.5 %"), (0.22, "22 %"), (1, "100 %"), (1 / 3, "33.3 %")],
)
def test_rates_are_percentages_with_one_decimal(fraction, text):
    assert format_rate(fraction) == text


def test_counts_have_thousands_separators_and_per_week_one_decimal():
    assert format_count(12345) == "12,345"
    assert format_count(0) == "0"
    assert format_count(None) == "—"
    assert format_per_week(3.46) == "3.5"
    assert format_per_week(7.0) == "7"
    assert format_per_week(1204.4) == "1,204"


def test_no_data_is_a_dash_with_a_tooltip_never_zero():
    html = Template("{% load formatting %}{{ v|duration }}|{{ v|rate:'No releases' }}").render(
        Context({"v": None})
    )
    assert html.count("—") == 2
    assert 'title="No data in this range"' in html
    assert 'title="No releases"' in html
    assert "0" not in html


def test_dora_badge_carries_the_level_in_words():
    assert ">elite</span>" not in dora_badge("elite")  # icon and word are separate
    assert "elite</span>" in dora_badge("elite")
    assert "level-elite" in dora_badge("elite")
    assert "not enough data" in dora_badge("not_enough_data")
    assert "not enough data" in dora_badge(None)
    assert "lead time" in dora_badge("low", "lead time")


def test_dora_badge_escapes_its_metric_name():
    assert "<script>" not in dora_badge("low", "<script>")


def test_ago():
    now = dt.datetime(2025, 3, 3, 12, tzinfo=dt.UTC)
    assert format_ago(None, now) == "never"
    assert format_ago(now - dt.timedelta(seconds=10), now) == "just now"
    assert format_ago(now - dt.timedelta(minutes=3), now) == "3 min ago"
    assert format_ago(now - dt.timedelta(hours=2), now) == "2 h ago"
    assert format_ago(now - dt.timedelta(days=1), now) == "1 day ago"
