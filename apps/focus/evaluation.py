"""Did the focus work? Each focus period against the equally long window just before it.

METRICS.md: for a period of at least 14 days, compare the metrics that match its kind —
stability: time to restore and change failure rate; throughput: deployment frequency and
lead time; knowledge sharing: bus factor — during the period against the window of the same
length just before it, with an uncertainty interval and a verdict (apps.focus.statistics).

The samples and counts come from apps.metrics.selectors.window_samples: the queries that
compute the metrics, so the rules (which incidents and releases count, lead times <= 0
dropped, ...) are written once, and the point values are the numbers the metrics API and
the pages show for the same windows. Periods sharing their windows share their queries:
`focus_evaluate_many` serves one team's periods (a worker task) or a page of the API's list.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from apps.core.timezones import org_tz
from apps.focus.models import FocusPeriod
from apps.focus.statistics import (
    MIN_SAMPLES,
    NOT_ENOUGH_DATA,
    MetricChange,
    compare_medians,
    compare_proportions,
    compare_values,
    compare_weekly_rates,
    overall_verdict,
)
from apps.focus.tradeoffs import KIND_METRICS, tradeoff_metrics_of
from apps.metrics.selectors import WindowSamples, window_samples

MIN_DAYS = 14

Window = tuple[dt.date, dt.date]
# A metric's comparison from the samples before and during, the period's length in days and
# the bootstrap's seed.
Comparison = Callable[[str, WindowSamples, WindowSamples, int, int], MetricChange]


def _ttr(metric: str, b: WindowSamples, d: WindowSamples, days: int, seed: int) -> MetricChange:
    return compare_medians(metric, b.time_to_restore, d.time_to_restore, better="lower", seed=seed)


def _lead(metric: str, b: WindowSamples, d: WindowSamples, days: int, seed: int) -> MetricChange:
    return compare_medians(metric, b.lead_time, d.lead_time, better="lower", seed=seed)


def _cfr(metric: str, b: WindowSamples, d: WindowSamples, days: int, seed: int) -> MetricChange:
    return compare_proportions(
        metric, b.failed_deployments, b.deployments, d.failed_deployments, d.deployments
    )


def _frequency(
    metric: str, b: WindowSamples, d: WindowSamples, days: int, seed: int
) -> MetricChange:
    return compare_weekly_rates(metric, b.deployments, d.deployments, days)


def _bus(metric: str, b: WindowSamples, d: WindowSamples, days: int, seed: int) -> MetricChange:
    return compare_values(metric, b.bus_factor, d.bus_factor, b.bus_work_items, d.bus_work_items)


# Each metric: the window_samples group it reads and how it is compared.
METRICS: dict[str, tuple[str, Comparison]] = {
    "time_to_restore": ("incidents", _ttr),
    "change_failure_rate": ("releases", _cfr),
    "deployment_frequency": ("releases", _frequency),
    "lead_time": ("releases", _lead),
    "bus_factor": ("bus_factor", _bus),
}


@dataclass(frozen=True)
class Evaluation:
    verdict: str
    before: Window | None
    during: Window | None
    metrics: list[MetricChange] = field(default_factory=list)
    note: str = ""
    # The metrics of the trade-off the period accepts, compared the same way; shown as its
    # expected cost, never part of the verdict.
    costs: list[MetricChange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def window(bounds: Window | None) -> dict[str, str] | None:
            if bounds is None:
                return None
            return {"start": bounds[0].isoformat(), "end": bounds[1].isoformat()}

        return {
            "verdict": self.verdict,
            "before": window(self.before),
            "during": window(self.during),
            "metrics": [m.as_dict() for m in self.metrics],
            "note": self.note,
        }

    def stored(self) -> dict[str, Any]:
        """`as_dict` with the expected costs: what apps.focus.evaluations stores."""
        return {**self.as_dict(), "costs": [m.as_dict() for m in self.costs]}


def evaluation_windows(period: FocusPeriod, *, today: dt.date) -> tuple[Window, Window] | None:
    """`[start, end)` of the period so far and of the equally long window before it."""
    last = period.ends_on if period.ends_on is not None else today
    last = min(last, today)
    if last < period.starts_on:
        return None
    during = (period.starts_on, last + dt.timedelta(days=1))
    length = during[1] - during[0]
    return (period.starts_on - length, period.starts_on), during


def _unjudged(period: FocusPeriod, *, today: dt.date) -> Evaluation | None:
    """The evaluation of a period that cannot be judged (yet), without reading any data."""
    windows = evaluation_windows(period, today=today)
    if windows is None:
        return Evaluation(NOT_ENOUGH_DATA, None, None, note="The period has not started yet.")
    before, during = windows
    days = (during[1] - during[0]).days
    if not KIND_METRICS.get(period.kind.slug):
        return Evaluation(
            NOT_ENOUGH_DATA,
            before,
            during,
            note=f"No metrics are defined for the focus kind '{period.kind.name}'.",
        )
    if days < MIN_DAYS:
        return Evaluation(
            NOT_ENOUGH_DATA,
            before,
            during,
            note=f"The period has {days} days so far; it is judged from {MIN_DAYS} days.",
        )
    return None


def _judge(
    period: FocusPeriod,
    before: WindowSamples,
    during: WindowSamples,
    windows: tuple[Window, Window],
) -> Evaluation:
    days = (windows[1][1] - windows[1][0]).days
    changes = [
        METRICS[metric][1](metric, before, during, days, period.pk or 0)
        for metric in KIND_METRICS[period.kind.slug]
    ]
    costs = [
        METRICS[metric][1](metric, before, during, days, period.pk or 0)
        for metric in tradeoff_metrics_of(period)
    ]
    verdict = overall_verdict(changes)
    note = (
        f"Fewer than {MIN_SAMPLES} samples in a window for every metric of this kind."
        if verdict == NOT_ENOUGH_DATA
        else ""
    )
    return Evaluation(verdict, *windows, changes, note, costs)


def focus_evaluate_many(
    periods: Sequence[FocusPeriod], *, today: dt.date | None = None
) -> dict[int, Evaluation]:
    """The evaluation of each period, keyed by its id (periods with their team and kind).

    Periods with the same windows are read together: one query per window and sample group
    for all their teams."""
    today = today or timezone.now().astimezone(org_tz()).date()
    out: dict[int, Evaluation] = {}
    pending: dict[tuple[Window, Window], list[FocusPeriod]] = defaultdict(list)
    for period in periods:
        unjudged = _unjudged(period, today=today)
        if unjudged is not None:
            out[period.pk] = unjudged
            continue
        windows = evaluation_windows(period, today=today)
        assert windows is not None
        pending[windows].append(period)
    for windows, group in pending.items():
        team_ids = sorted({period.team_id for period in group})
        groups = {
            METRICS[metric][0]
            for period in group
            for metric in (*KIND_METRICS[period.kind.slug], *tradeoff_metrics_of(period))
        }
        before, during = (
            window_samples(team_ids=team_ids, start=start, end=end, groups=groups)
            for start, end in windows
        )
        for period in group:
            out[period.pk] = _judge(period, before[period.team_id], during[period.team_id], windows)
    return out


def focus_evaluate(period: FocusPeriod, *, today: dt.date | None = None) -> Evaluation:
    """The "did it work" evaluation of one focus period (METRICS.md)."""
    return focus_evaluate_many([period], today=today)[period.pk]
