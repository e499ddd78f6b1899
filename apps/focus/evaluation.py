"""Did the focus work? Each focus period against the equally long window just before it.

METRICS.md: for a period of at least 14 days, compare the metrics that match its kind —
stability: time to restore and change failure rate; throughput: deployment frequency and
lead time; knowledge sharing: bus factor — during the period against the window of the same
length just before it, with an uncertainty interval and a verdict.

- Medians (time to restore, lead time): the difference of medians (during - before) with a
  95 % percentile-bootstrap interval (seeded by the period, so the answer is repeatable).
- Change failure rate: the difference of proportions with Newcombe's hybrid score interval
  (from the two Wilson intervals).
- Deployment frequency: the difference of deployments per week with a normal interval for
  the difference of two Poisson counts over windows of equal length.
- Bus factor: a small whole number; compared as it is, without an interval.

A metric's verdict is *improved* or *worse* only when its interval excludes no change (0);
otherwise *no clear change*. Fewer than 5 samples in either window is *not enough data*.
The period's verdict: improved when some metric improved and none got worse, worse when
some got worse and none improved, not enough data when no metric had enough, otherwise no
clear change.

The point values come from apps.metrics.selectors.window_metrics, so they are exactly the
numbers the metrics API and the pages show for the same windows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from django.utils import timezone

from apps.core.timezones import org_tz, window_bounds
from apps.focus.models import FocusKind, FocusPeriod
from apps.incidents.models import Incident
from apps.metrics.formulas import round_duration, round_rate
from apps.releases.models import Release

MIN_DAYS = 14
MIN_SAMPLES = 5
CONFIDENCE = 0.95
Z = 1.959963984540054  # the standard normal's 97.5th percentile
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_MAX_CELLS = 4_000_000  # resamples x samples, to bound memory

Better = Literal["lower", "higher"]
IMPROVED, NO_CLEAR_CHANGE, WORSE, NOT_ENOUGH_DATA = (
    "improved",
    "no_clear_change",
    "worse",
    "not_enough_data",
)

KIND_METRICS: dict[str, tuple[str, ...]] = {
    FocusKind.STABILITY: ("time_to_restore", "change_failure_rate"),
    FocusKind.THROUGHPUT: ("deployment_frequency", "lead_time"),
    FocusKind.KNOWLEDGE_SHARING: ("bus_factor",),
}


@dataclass(frozen=True)
class MetricChange:
    metric: str
    better: Better
    method: str
    before: float | None
    during: float | None
    n_before: int
    n_during: int
    change: float | None = None
    interval: tuple[float, float] | None = None
    verdict: str = NOT_ENOUGH_DATA

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "better": self.better,
            "before": self.before,
            "during": self.during,
            "n_before": self.n_before,
            "n_during": self.n_during,
            "change": self.change,
            "interval": list(self.interval) if self.interval else None,
            "confidence": CONFIDENCE if self.interval else None,
            "method": self.method,
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class Evaluation:
    verdict: str
    before: tuple[dt.date, dt.date] | None
    during: tuple[dt.date, dt.date] | None
    metrics: list[MetricChange] = field(default_factory=list)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        def window(bounds: tuple[dt.date, dt.date] | None) -> dict[str, str] | None:
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


# --- pure comparisons ------------------------------------------------------------------


def _verdict(interval: tuple[float, float], better: Better) -> str:
    low, high = interval
    if high < 0:
        return IMPROVED if better == "lower" else WORSE
    if low > 0:
        return WORSE if better == "lower" else IMPROVED
    return NO_CLEAR_CHANGE


def compare_medians(
    metric: str,
    before: Sequence[float],
    during: Sequence[float],
    *,
    better: Better,
    seed: int = 0,
) -> MetricChange:
    """Difference of medians (during - before), 95 % percentile-bootstrap interval."""
    b = np.asarray(before, dtype=float)
    d = np.asarray(during, dtype=float)
    med_b = round_duration(float(np.median(b))) if b.size else None
    med_d = round_duration(float(np.median(d))) if d.size else None
    base = MetricChange(
        metric=metric,
        better=better,
        method="difference of medians, bootstrap interval",
        before=med_b,
        during=med_d,
        n_before=int(b.size),
        n_during=int(d.size),
    )
    if b.size < MIN_SAMPLES or d.size < MIN_SAMPLES:
        return base
    assert med_b is not None
    assert med_d is not None
    rng = np.random.default_rng(seed)
    resamples = max(200, min(BOOTSTRAP_RESAMPLES, BOOTSTRAP_MAX_CELLS // max(b.size, d.size)))
    boot_b = np.median(b[rng.integers(0, b.size, size=(resamples, b.size))], axis=1)
    boot_d = np.median(d[rng.integers(0, d.size, size=(resamples, d.size))], axis=1)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(boot_d - boot_b, [tail, 100 - tail])
    interval = (round_duration(float(low)) or 0.0, round_duration(float(high)) or 0.0)
    return MetricChange(
        **{
            **base.__dict__,
            "change": round_duration(med_d - med_b),
            "interval": interval,
            "verdict": _verdict(interval, better),
        }
    )


def _wilson(successes: int, n: int) -> tuple[float, float]:
    p = successes / n
    denominator = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denominator
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def compare_proportions(
    metric: str,
    failed_before: int,
    n_before: int,
    failed_during: int,
    n_during: int,
    *,
    better: Better = "lower",
) -> MetricChange:
    """Difference of proportions (during - before), Newcombe's hybrid score interval."""
    p_b = failed_before / n_before if n_before else None
    p_d = failed_during / n_during if n_during else None
    base = MetricChange(
        metric=metric,
        better=better,
        method="difference of proportions, Newcombe interval",
        before=round_rate(p_b),
        during=round_rate(p_d),
        n_before=n_before,
        n_during=n_during,
    )
    if n_before < MIN_SAMPLES or n_during < MIN_SAMPLES:
        return base
    assert p_b is not None
    assert p_d is not None
    low_b, high_b = _wilson(failed_before, n_before)
    low_d, high_d = _wilson(failed_during, n_during)
    diff = p_d - p_b
    low = diff - math.sqrt((p_d - low_d) ** 2 + (high_b - p_b) ** 2)
    high = diff + math.sqrt((high_d - p_d) ** 2 + (p_b - low_b) ** 2)
    interval = (round_rate(low) or 0.0, round_rate(high) or 0.0)
    return MetricChange(
        **{
            **base.__dict__,
            "change": round_rate(diff),
            "interval": interval,
            "verdict": _verdict(interval, better),
        }
    )


def compare_weekly_rates(
    metric: str, count_before: int, count_during: int, days: int, *, better: Better = "higher"
) -> MetricChange:
    """Difference of events per week over two windows of `days` days each, with a normal
    interval for the difference of two Poisson counts."""
    per_week = 7 / days
    base = MetricChange(
        metric=metric,
        better=better,
        method="difference of weekly rates, Poisson interval",
        before=round_rate(count_before * per_week),
        during=round_rate(count_during * per_week),
        n_before=count_before,
        n_during=count_during,
    )
    if count_before + count_during < MIN_SAMPLES:
        return base
    diff = (count_during - count_before) * per_week
    half = Z * math.sqrt(count_before + count_during) * per_week
    interval = (round_rate(diff - half) or 0.0, round_rate(diff + half) or 0.0)
    return MetricChange(
        **{
            **base.__dict__,
            "change": round_rate(diff),
            "interval": interval,
            "verdict": _verdict(interval, better),
        }
    )


def compare_values(
    metric: str,
    before: int | None,
    during: int | None,
    n_before: int,
    n_during: int,
    *,
    better: Better = "higher",
) -> MetricChange:
    """A small whole number (the bus factor) compared as it is: no interval."""
    base = MetricChange(
        metric=metric,
        better=better,
        method="values compared, no interval",
        before=before,
        during=during,
        n_before=n_before,
        n_during=n_during,
    )
    if before is None or during is None or n_before < MIN_SAMPLES or n_during < MIN_SAMPLES:
        return base
    diff = during - before
    verdict = NO_CLEAR_CHANGE
    if diff != 0:
        verdict = IMPROVED if (diff > 0) == (better == "higher") else WORSE
    return MetricChange(**{**base.__dict__, "change": float(diff), "verdict": verdict})


def overall_verdict(changes: Sequence[MetricChange]) -> str:
    verdicts = {c.verdict for c in changes}
    if not verdicts or verdicts == {NOT_ENOUGH_DATA}:
        return NOT_ENOUGH_DATA
    if IMPROVED in verdicts and WORSE not in verdicts:
        return IMPROVED
    if WORSE in verdicts and IMPROVED not in verdicts:
        return WORSE
    return NO_CLEAR_CHANGE


# --- windows and data ------------------------------------------------------------------


def evaluation_windows(
    period: FocusPeriod, *, today: dt.date
) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]] | None:
    """`[start, end)` of the period so far and of the equally long window before it."""
    last = period.ends_on if period.ends_on is not None else today
    last = min(last, today)
    if last < period.starts_on:
        return None
    during = (period.starts_on, last + dt.timedelta(days=1))
    length = during[1] - during[0]
    return (period.starts_on - length, period.starts_on), during


def _ttr_samples(team_id: int, window: tuple[dt.date, dt.date]) -> list[float]:
    start, end = window_bounds(*window)
    rows = Incident.objects.filter(
        team_id=team_id, started_at__gte=start, started_at__lt=end, resolved_at__isnull=False
    ).values_list("started_at", "resolved_at")
    return [(resolved - started).total_seconds() for started, resolved in rows if resolved]


def _lead_time_samples(team_id: int, window: tuple[dt.date, dt.date]) -> list[float]:
    start, end = window_bounds(*window)
    rows = Release.objects.filter(
        team_id=team_id,
        deployed_at__gte=start,
        deployed_at__lt=end,
        first_commit_at__isnull=False,
    ).values_list("first_commit_at", "deployed_at")
    values = [(deployed - first).total_seconds() for first, deployed in rows if first]
    return [v for v in values if v > 0]


def _bus_work_items(team_id: int, window: tuple[dt.date, dt.date]) -> int:
    start, end = window_bounds(*window)
    releases = (
        Release.objects.filter(team_id=team_id, deployed_at__gte=start, deployed_at__lt=end)
        .exclude(deployed_by="")
        .count()
    )
    incidents = (
        Incident.objects.filter(
            team_id=team_id,
            started_at__gte=start,
            started_at__lt=end,
            resolved_at__isnull=False,
        )
        .exclude(resolved_by="")
        .exclude(service="")
        .count()
    )
    return releases + incidents


def focus_evaluate(period: FocusPeriod, *, today: dt.date | None = None) -> Evaluation:
    """The "did it work" evaluation of one focus period (METRICS.md)."""
    from apps.metrics.selectors import window_metrics

    today = today or timezone.now().astimezone(org_tz()).date()
    metrics = KIND_METRICS.get(period.kind.slug, ())
    windows = evaluation_windows(period, today=today)
    if windows is None:
        return Evaluation(NOT_ENOUGH_DATA, None, None, note="The period has not started yet.")
    before, during = windows
    days = (during[1] - during[0]).days
    if not metrics:
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
    team = period.team
    point_b = window_metrics(team=team, start=before[0], end=before[1])
    point_d = window_metrics(team=team, start=during[0], end=during[1])
    seed = period.pk or 0
    changes: list[MetricChange] = []
    for metric in metrics:
        if metric == "time_to_restore":
            changes.append(
                compare_medians(
                    metric,
                    _ttr_samples(team.id, before),
                    _ttr_samples(team.id, during),
                    better="lower",
                    seed=seed,
                )
            )
        elif metric == "lead_time":
            changes.append(
                compare_medians(
                    metric,
                    _lead_time_samples(team.id, before),
                    _lead_time_samples(team.id, during),
                    better="lower",
                    seed=seed,
                )
            )
        elif metric == "change_failure_rate":
            changes.append(
                compare_proportions(
                    metric,
                    point_b.failed_deployments,
                    point_b.deployments,
                    point_d.failed_deployments,
                    point_d.deployments,
                )
            )
        elif metric == "deployment_frequency":
            changes.append(
                compare_weekly_rates(metric, point_b.deployments, point_d.deployments, days)
            )
        elif metric == "bus_factor":
            changes.append(
                compare_values(
                    metric,
                    point_b.bus_factor,
                    point_d.bus_factor,
                    _bus_work_items(team.id, before),
                    _bus_work_items(team.id, during),
                )
            )
    verdict = overall_verdict(changes)
    note = (
        ""
        if verdict != NOT_ENOUGH_DATA
        else (f"Fewer than {MIN_SAMPLES} samples in a window for every metric of this kind.")
    )
    return Evaluation(verdict, before, during, changes, note)
