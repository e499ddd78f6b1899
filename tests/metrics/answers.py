"""The API's answers (apps.api.schemas) of the metrics selectors, as JSON types, for the
tests that check them against hand-computed values and the reading of METRICS.md."""

from __future__ import annotations

import datetime as dt
from typing import Any

from apps.api.schemas import MetricsOut, WeekOut, WindowMetricsOut
from apps.metrics.models import WeeklyRollup
from apps.metrics.selectors import WindowMetrics, week_metrics, window_metrics_with_weeks
from apps.teams.models import Team


def as_api_dict(window: WindowMetrics) -> dict[str, Any]:
    """A window's answer without its weeks."""
    return WindowMetricsOut.model_validate(window).model_dump(mode="json")


def rollup_as_api_dict(row: WeeklyRollup) -> dict[str, Any]:
    """One week of the answer's "weeks"."""
    return WeekOut.model_validate(week_metrics(row)).model_dump(mode="json")


def api_metrics(*, team: Team | None, start: dt.date, end: dt.date) -> dict[str, Any]:
    """GET /api/v1/metrics's answer."""
    answer = window_metrics_with_weeks(team=team, start=start, end=end)
    return MetricsOut.model_validate(answer).model_dump(mode="json")
