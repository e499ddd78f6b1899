from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router

from apps.api.auth import team_for_token, token_of
from apps.api.errors import ApiError
from apps.api.routes.common import READ_ERRORS, answers, wants_csv
from apps.api.schemas import MetricsOut, MetricsQuery
from apps.core.csvfiles import csv_response
from apps.core.timezones import org_tz
from apps.imports.columns import metrics_export
from apps.metrics.selectors import WindowMetrics, window_metrics_with_weeks

router = Router(tags=["metrics"])

DEFAULT_DAYS = 90
MAX_DAYS = 3660  # ten years


def metrics_window(start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    """The `[start, end)` window asked for; by default the 90 days up to and including today."""
    if end is None:
        end = timezone.now().astimezone(org_tz()).date() + dt.timedelta(days=1)
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise ApiError(
            400,
            "The window is empty: start must be before end.",
            {"start": [f"Must be before end ({end.isoformat()})."]},
        )
    if (end - start).days > MAX_DAYS:
        raise ApiError(
            400,
            "The window is too long.",
            {"start": [f"A window spans at most {MAX_DAYS} days."]},
        )
    return start, end


@router.get(
    "/metrics",
    **answers({200: MetricsOut, **READ_ERRORS}, csv=True),
    summary="The metrics of a window (METRICS.md), with its weeks",
)
def get_metrics(request: HttpRequest, query: Query[MetricsQuery]) -> WindowMetrics:
    """Every metric of METRICS.md over `[start, end)` (dates in the organization's time
    zone), exact for any window, with the window's ISO weeks in `weeks`. Without `team`,
    an organization token gets the whole organization; a team token its own team.
    `computed_at` says how fresh the answer is."""
    team = team_for_token(token_of(request), query.team, unknown_status=400, required=False)
    start, end = metrics_window(query.start, query.end)
    answer = window_metrics_with_weeks(team=team, start=start, end=end)
    if wants_csv(request):
        # The CSV form is the window's weeks, one row a week.
        header, rows = metrics_export(answer)
        scope = team.slug if team is not None else "organization"
        return csv_response(f"{scope}-weekly-metrics-{start}-{end}.csv", header, rows)  # type: ignore[return-value]
    return answer
