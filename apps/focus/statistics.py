"""Did the focus work? The comparisons: pure functions of the samples and counts.

- Medians (time to restore, lead time): the difference of medians (during - before) with a
  95 % percentile-bootstrap interval (seeded, so the answer is repeatable).
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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

from apps.metrics.formulas import round_duration, round_rate

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


def _verdict(interval: tuple[float, float], better: Better) -> str:
    low, high = interval
    if high < 0:
        return IMPROVED if better == "lower" else WORSE
    if low > 0:
        return WORSE if better == "lower" else IMPROVED
    return NO_CLEAR_CHANGE


def _judged(
    base: MetricChange, change: float | None, interval: tuple[float, float]
) -> MetricChange:
    """`base` with its change and interval, and the verdict the interval gives."""
    return replace(base, change=change, interval=interval, verdict=_verdict(interval, base.better))


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
    return _judged(base, round_duration(med_d - med_b), interval)


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
    return _judged(base, round_rate(diff), interval)


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
    return _judged(base, round_rate(diff), interval)


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
    return replace(base, change=float(diff), verdict=verdict)


def overall_verdict(changes: Sequence[MetricChange]) -> str:
    verdicts = {c.verdict for c in changes}
    if not verdicts or verdicts == {NOT_ENOUGH_DATA}:
        return NOT_ENOUGH_DATA
    if IMPROVED in verdicts and WORSE not in verdicts:
        return IMPROVED
    if WORSE in verdicts and IMPROVED not in verdicts:
        return WORSE
    return NO_CLEAR_CHANGE
