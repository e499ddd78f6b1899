"""What a focus period names beyond its kind: the metrics of the trade-off it accepts and its
success signals, read the same way whatever shape they were stored in.

A trade-off is a list of metric keys (`tradeoff_metrics`; `metrics_named_in` reads the
words people wrote before that list existed, "throughput", "some stability", as the metrics
of that kind). A success signal is `{"metric", "comparator", "target"}` with the target a
number in the metric's unit (hours, percent, per week, a count), or an older free-text
target ("median < 1 h", "≤ 5 %", "≥ 15 / week"), read here into the same shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from apps.focus.models import FocusKind, FocusPeriod

# The metrics the evaluation compares (apps.focus.evaluation.METRICS), by kind.
KIND_METRICS: dict[str, tuple[str, ...]] = {
    FocusKind.STABILITY: ("time_to_restore", "change_failure_rate"),
    FocusKind.THROUGHPUT: ("deployment_frequency", "lead_time"),
    FocusKind.KNOWLEDGE_SHARING: ("bus_factor",),
}
EVALUATED = frozenset(m for metrics in KIND_METRICS.values() for m in metrics)
# Each metric's unit for targets, and the factor from the evaluation's value to it.
UNITS: dict[str, tuple[str, float]] = {
    "time_to_restore": ("h", 1 / 3600),
    "lead_time": ("h", 1 / 3600),
    "change_failure_rate": ("%", 100.0),
    "deployment_frequency": ("per week", 1.0),
    "bus_factor": ("", 1.0),
}
_WORDS = {"stability": FocusKind.STABILITY, "throughput": FocusKind.THROUGHPUT}
_WORDS["knowledge"] = FocusKind.KNOWLEDGE_SHARING
_COMPARATORS = {"≤": "<=", "≥": ">=", "=<": "<=", "=>": ">="}
_TARGET = re.compile(r"(<=|>=|=<|=>|≤|≥|<|>)?\s*(\d+(?:[.,]\d+)?)\s*(min|h|hours?|days?|%)?")
_TO_HOURS = {"min": 1 / 60, "h": 1.0, "hour": 1.0, "hours": 1.0, "day": 24.0, "days": 24.0}


@dataclass(frozen=True)
class Signal:
    metric: str
    comparator: str  # "<", "<=", ">", ">="
    target: float  # in the metric's unit (UNITS)

    def met_by(self, value: float | None) -> bool | None:
        """Whether the evaluation's value (seconds, a fraction, per week, a count) meets
        it; None when there is no value."""
        if value is None or self.metric not in UNITS:
            return None
        v = value * UNITS[self.metric][1]
        return {
            "<": v < self.target,
            "<=": v <= self.target,
            ">": v > self.target,
            ">=": v >= self.target,
        }[self.comparator]


def metrics_named_in(text: str) -> list[str]:
    """The metrics a trade-off written in words stands for ("throughput": deployment
    frequency and lead time), in the evaluation's order."""
    lowered = (text or "").lower()
    named = {m for word, kind in _WORDS.items() if word in lowered for m in KIND_METRICS[kind]}
    named |= {m for m in EVALUATED if m.replace("_", " ") in lowered}
    return [m for metrics in KIND_METRICS.values() for m in metrics if m in named]


def tradeoff_metrics_of(period: FocusPeriod) -> list[str]:
    """The metrics the period accepts may get worse, those the evaluation compares, without
    the kind's own."""
    own = set(KIND_METRICS.get(period.kind.slug, ()))
    named = period.tradeoff_metrics if isinstance(period.tradeoff_metrics, list) else []
    out: list[str] = []
    for metric in named:
        if metric in EVALUATED and metric not in own and metric not in out:
            out.append(metric)
    return out


def _signal(raw: Any) -> Signal | None:
    if not isinstance(raw, dict):
        return None
    metric = str(raw.get("metric") or "").strip()
    if metric not in UNITS:
        return None
    comparator = str(raw.get("comparator") or "").strip()
    target = raw.get("target")
    if isinstance(target, int | float) and not isinstance(target, bool):
        value = float(target)
    else:
        match = _TARGET.search(str(target or ""))
        if match is None:
            return None
        comparator = comparator or match[1] or ""
        value = float(match[2].replace(",", "."))
        unit = match[3] or ""
        if UNITS[metric][0] == "h" and unit:
            value *= _TO_HOURS.get(unit, 1.0)
    comparator = _COMPARATORS.get(comparator, comparator)
    if comparator not in ("<", "<=", ">", ">="):
        return None
    return Signal(metric, comparator, value)


def success_signals_of(period: FocusPeriod) -> list[Signal]:
    """The period's success signals that name a metric the evaluation compares."""
    raw = period.success_signals if isinstance(period.success_signals, list) else []
    return [s for s in (_signal(item) for item in raw) if s is not None]
