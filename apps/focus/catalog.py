"""The metrics a focus period may name: as success signals (metric + comparator + target) and
as its accepted trade-off (the metrics that may get worse meanwhile). They are the metrics of
METRICS.md, each with the unit its target is written in.

A target is stored as a number in the metric's unit (hours, percent, per week, a count), so
"time to restore median < 4 h" is `{"metric": "time_to_restore", "comparator": "<",
"target": 4.0}`. `signal_parse` also reads the forms people type ("< 4 h", "30 min",
"7.5 %", "2 days") so the API's free-text targets keep working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class MetricInfo:
    key: str
    label: str
    unit: Literal["h", "%", "per week", ""]
    better: Literal["lower", "higher"]


METRICS: dict[str, MetricInfo] = {
    m.key: m
    for m in (
        MetricInfo("time_to_restore", "Time to restore (median)", "h", "lower"),
        MetricInfo(
            "failed_deployment_recovery_time",
            "Failed deployment recovery time (median)",
            "h",
            "lower",
        ),
        MetricInfo("change_failure_rate", "Change failure rate", "%", "lower"),
        MetricInfo("deployment_frequency", "Deployment frequency", "per week", "higher"),
        MetricInfo("lead_time", "Lead time for changes (median)", "h", "lower"),
        MetricInfo("deployment_rework_rate", "Deployment rework rate", "%", "lower"),
        MetricInfo("open_incidents", "Open incidents", "", "lower"),
        MetricInfo("bus_factor", "Bus factor", "", "higher"),
    )
}
METRIC_CHOICES = [(m.key, m.label) for m in METRICS.values()]

COMPARATORS = {"<": "below", "<=": "at most", ">": "above", ">=": "at least"}
COMPARATOR_CHOICES = [(c, f"{c}  ({words})") for c, words in COMPARATORS.items()]
_COMPARATOR_ALIASES = {"≤": "<=", "≥": ">=", "=<": "<=", "=>": ">="}

# Units people type after a number, and the factor to the metric's unit.
_DURATION_UNITS = {
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "min": 1 / 60,
    "mins": 1 / 60,
    "minutes": 1 / 60,
    "m": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "hrs": 1.0,
    "hour": 1.0,
    "hours": 1.0,
    "d": 24.0,
    "day": 24.0,
    "days": 24.0,
    "w": 168.0,
    "week": 168.0,
    "weeks": 168.0,
}
_TARGET = re.compile(
    r"^\s*(?P<cmp><=|>=|=<|=>|<|>|≤|≥)?\s*(?P<num>[+-]?\d+(?:[.,]\d+)?)\s*(?P<unit>.*?)\s*$"
)


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def metric_label(key: str) -> str:
    info = METRICS.get(key)
    return info.label if info else key


def _metric_key(raw: str) -> str | None:
    """A metric by its key or its label, case-insensitive ("Time to restore" works too)."""
    text = raw.strip().lower()
    if text in METRICS:
        return text
    for info in METRICS.values():
        label = info.label.lower()
        if text in (label, label.split(" (")[0]) or text.replace(" ", "_") == info.key:
            return info.key
    return None


def signal_parse(raw: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """One success signal as stored, or the reasons it is not one (in words)."""
    errors: list[str] = []
    metric_raw = str(raw.get("metric") or "").strip()
    metric = _metric_key(metric_raw) if metric_raw else None
    if not metric_raw:
        errors.append("choose a metric")
    elif metric is None:
        errors.append(f"“{metric_raw}” is not one of the metrics ({', '.join(METRICS)})")
    target_raw = raw.get("target")
    comparator = str(raw.get("comparator") or "").strip()
    comparator = _COMPARATOR_ALIASES.get(comparator, comparator)
    value: float | None = None
    if target_raw is None or str(target_raw).strip() == "":
        errors.append("give a target")
    else:
        match = _TARGET.match(str(target_raw))
        if match is None:
            errors.append(f"the target “{target_raw}” is not a number (e.g. 4, 7.5 %, 30 min)")
        else:
            typed = match["cmp"] or ""
            typed = _COMPARATOR_ALIASES.get(typed, typed)
            if typed and comparator and typed != comparator:
                errors.append(f"the target says {typed} but the comparator is {comparator}")
            comparator = comparator or typed
            value = float(match["num"].replace(",", "."))
            unit = match["unit"].strip().lower().rstrip(".")
            info = METRICS.get(metric or "")
            if info is not None and unit:
                if info.unit == "h" and unit in _DURATION_UNITS:
                    value *= _DURATION_UNITS[unit]
                elif unit != info.unit and not (
                    info.unit == "per week" and unit in {"/w", "/week"}
                ):
                    expected = info.unit or "a plain number"
                    errors.append(f"the target's unit “{unit}” does not fit; use {expected}")
            if value < 0:
                errors.append("the target cannot be negative")
            if info is not None and info.unit == "%" and value > 100:
                errors.append("a rate target is at most 100 %")
    if not comparator:
        errors.append("choose a comparator (<, <=, >, >=)")
    elif comparator not in COMPARATORS:
        errors.append(f"“{comparator}” is not a comparator (<, <=, >, >=)")
    if errors:
        return None, errors
    assert metric is not None
    assert value is not None
    return {"metric": metric, "comparator": comparator, "target": round(value, 4)}, []


def signal_text(signal: dict[str, Any]) -> str:
    """ "Time to restore (median) < 4 h" (falls back to what was stored)."""
    info = METRICS.get(str(signal.get("metric", "")))
    target = signal.get("target")
    comparator = signal.get("comparator", "")
    if info is None or not isinstance(target, int | float):
        parts = (str(signal.get(k) or "") for k in ("metric", "comparator", "target"))
        return " ".join(p for p in parts if p)
    unit = f" {info.unit}" if info.unit else ""
    return f"{info.label} {comparator} {_number(float(target))}{unit}"
