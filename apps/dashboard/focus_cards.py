"""Did the focus work? A focus period's evaluation (apps.focus.evaluations) in words: one
card per period, a line per metric of its kind (before vs during, the change with its 95 %
interval as a small bar across zero, the verdict in a sentence), the success signals met or
not, and the accepted trade-off's metrics under "expected cost", drawn in a neutral colour
and never called a failure. Plain functions over the stored answer; the formatting is
apps.core.formatting's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from apps.core.formatting import format_count, format_duration, format_per_week, format_rate
from apps.focus.evaluation import Evaluation
from apps.focus.models import FocusPeriod
from apps.focus.statistics import IMPROVED, MIN_SAMPLES, NOT_ENOUGH_DATA, WORSE, MetricChange
from apps.focus.tradeoffs import UNITS, Signal, success_signals_of

LABELS = {
    "time_to_restore": "Time to restore",
    "change_failure_rate": "Change failure rate",
    "deployment_frequency": "Deployment frequency",
    "lead_time": "Lead time",
    "bus_factor": "Bus factor",
}
# What the "before → during" values are, in front of them.
STATISTIC = {"time_to_restore": "median ", "lead_time": "median "}
SAMPLES = {
    "time_to_restore": "resolved incidents",
    "change_failure_rate": "deployments",
    "deployment_frequency": "deployments",
    "lead_time": "releases with a lead time",
    "bus_factor": "releases and resolutions",
}
VERDICT_WORDS = {
    IMPROVED: "improved",
    WORSE: "worse",
    NOT_ENOUGH_DATA: "not enough data",
    "no_clear_change": "no clear change",
}
# An accepted trade-off moving is what the team expected: said without blame.
COST_WORDS = {
    IMPROVED: "improved anyway",
    WORSE: "got worse, as accepted",
    NOT_ENOUGH_DATA: "not enough data",
    "no_clear_change": "no clear change",
}
COMPARATOR_WORDS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥"}
BAR_HALF = 45.0  # the bar's scale: zero at 50, the largest end of the interval at 50 ± this


@dataclass(frozen=True)
class Bar:
    """The change and its interval across zero, in a drawing 100 wide."""

    low: float
    high: float
    point: float
    zero: float = 50.0

    @property
    def width(self) -> float:
        return max(self.high - self.low, 0.8)


@dataclass(frozen=True)
class MetricLine:
    metric: str
    label: str
    values: str  # "median 8 h → 1 h"
    interval: str  # "95 % interval" and its two ends, or why there is none
    verdict: str  # in words
    tone: str  # "good", "bad", "same" or "cost" (neutral)
    sentence: str
    samples: str
    bar: Bar | None


@dataclass(frozen=True)
class SignalLine:
    text: str  # "Time to restore < 4 h"
    met: bool | None
    outcome: str  # "met (1 h)", "not met (6 h)", "no value yet"


@dataclass(frozen=True)
class PeriodCard:
    period: FocusPeriod
    title: str
    running: bool
    verdict: str
    verdict_key: str
    windows: str
    note: str
    metrics: list[MetricLine] = field(default_factory=list)
    costs: list[MetricLine] = field(default_factory=list)
    signals: list[SignalLine] = field(default_factory=list)


def value_text(metric: str, value: float | None) -> str:
    """An evaluation's value (seconds, a fraction, per week, a count) as a person reads it."""
    if metric in ("time_to_restore", "lead_time"):
        return format_duration(value)
    if metric == "change_failure_rate":
        return format_rate(value)
    if metric == "deployment_frequency":
        return f"{format_per_week(value)} a week" if value is not None else format_rate(None)
    return format_count(value)


def change_text(metric: str, value: float) -> str:
    """A change or an interval end, signed with a real minus sign."""
    if metric == "change_failure_rate":
        text = format_rate(abs(value)).replace(" %", " points")
    elif metric == "deployment_frequency":
        text = f"{format_per_week(abs(value))} a week"
    elif metric in ("time_to_restore", "lead_time"):
        text = format_duration(abs(value))
    else:
        text = format_count(abs(value))
    sign = "\u2212" if value < 0 else ("+" if value > 0 else "")
    return f"{sign}{text}"


def _bar(change: MetricChange) -> Bar | None:
    if change.interval is None or change.change is None:
        return None
    low, high = change.interval
    scale = max(abs(low), abs(high), abs(change.change)) or 1.0

    def x(value: float) -> float:
        return round(50 + BAR_HALF * value / scale, 2)

    return Bar(low=x(low), high=x(high), point=x(change.change))


def metric_line(change: MetricChange, *, cost: bool = False) -> MetricLine:
    metric = change.metric
    label = LABELS.get(metric, metric.replace("_", " ").capitalize())
    values = (
        f"{STATISTIC.get(metric, '')}{value_text(metric, change.before)} → "
        f"{value_text(metric, change.during)}"
    )
    samples = (
        f"{format_count(change.n_before)} {SAMPLES.get(metric, 'samples')} before, "
        f"{format_count(change.n_during)} during"
    )
    words = COST_WORDS if cost else VERDICT_WORDS
    verdict = words.get(change.verdict, change.verdict)
    if change.interval is not None:
        low, high = change.interval
        interval = f"95 % interval {change_text(metric, low)} to {change_text(metric, high)}"
    elif change.verdict == NOT_ENOUGH_DATA:
        interval = f"at least {MIN_SAMPLES} needed in each window"
    else:
        interval = "compared as it is, no interval"
    if change.verdict == NOT_ENOUGH_DATA:
        sentence = f"{label}: not enough data ({samples}; {interval})"
    elif change.verdict in (IMPROVED, WORSE):
        sentence = f"{label} {verdict}: {values}, {interval}"
    else:
        sentence = f"{label}, {verdict}: {values}, {interval}"
    tone = "cost" if cost else {IMPROVED: "good", WORSE: "bad"}.get(change.verdict, "same")
    return MetricLine(
        metric=metric,
        label=label,
        values=values,
        interval=interval,
        verdict=verdict,
        tone=tone,
        sentence=sentence,
        samples=samples,
        bar=_bar(change),
    )


def _target_text(signal: Signal) -> str:
    unit = UNITS[signal.metric][0]
    number = f"{signal.target:.2f}".rstrip("0").rstrip(".")
    unit_text = {"h": " h", "%": " %", "per week": " a week", "": ""}[unit]
    label = LABELS.get(signal.metric, signal.metric)
    return f"{label} {COMPARATOR_WORDS[signal.comparator]} {number}{unit_text}"


def signal_lines(period: FocusPeriod, evaluation: Evaluation) -> list[SignalLine]:
    during = {c.metric: c for c in (*evaluation.metrics, *evaluation.costs)}
    lines = []
    for signal in success_signals_of(period):
        change = during.get(signal.metric)
        value = change.during if change is not None else None
        met = signal.met_by(value)
        if met is None:
            outcome = "no value yet"
        else:
            outcome = f"{'met' if met else 'not met'} ({value_text(signal.metric, value)})"
        lines.append(SignalLine(text=_target_text(signal), met=met, outcome=outcome))
    return lines


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _windows(evaluation: Evaluation) -> str:
    if evaluation.before is None or evaluation.during is None:
        return ""
    (b0, b1), (d0, d1) = evaluation.before, evaluation.during
    last = dt.timedelta(days=1)
    return (
        f"before {_day(b0)} – {_day(b1 - last)}, during {_day(d0)} – {_day(d1 - last)} "
        f"({(d1 - d0).days} days each)"
    )


def period_card(period: FocusPeriod, evaluation: Evaluation, *, today: dt.date) -> PeriodCard:
    running = period.ends_on is None or period.ends_on >= today
    until = "now" if period.ends_on is None else _day(period.ends_on)
    verdict = VERDICT_WORDS.get(evaluation.verdict, evaluation.verdict)
    return PeriodCard(
        period=period,
        title=f"{period.kind.name} focus, {_day(period.starts_on)} – {until}",
        running=running,
        verdict=f"{verdict} so far" if running else verdict,
        verdict_key=evaluation.verdict,
        windows=_windows(evaluation),
        note=evaluation.note,
        metrics=[metric_line(c) for c in evaluation.metrics],
        costs=[metric_line(c, cost=True) for c in evaluation.costs],
        signals=signal_lines(period, evaluation),
    )


def period_cards(
    periods: Sequence[FocusPeriod], evaluations: dict[int, Evaluation], *, today: dt.date
) -> list[PeriodCard]:
    """A card for each period judged (at least 14 days so far, a kind with metrics) and for
    a running one still too young, newest first; periods to come have none."""
    cards = []
    for period in sorted(periods, key=lambda p: p.starts_on, reverse=True):
        evaluation = evaluations.get(period.pk)
        if evaluation is None or period.starts_on > today:
            continue
        running = period.ends_on is None or period.ends_on >= today
        if not evaluation.metrics and not (running and evaluation.during is not None):
            continue
        cards.append(period_card(period, evaluation, today=today))
    return cards
