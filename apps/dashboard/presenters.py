"""Numbers into display text: the overview's totals and card numbers with their change
against the previous range, the focus timeline's bands, the DORA table in words. Plain
functions over the domain's answers; the formatting itself is the template tags' plain
functions (`apps.core.formatting`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from apps.core.formatting import (
    format_count,
    format_duration,
    format_per_week,
    format_rate,
)
from apps.dashboard.charts.base import Band, Week, focus_bands
from apps.dashboard.charts.sparklines import sparkline_svg
from apps.dashboard.dates import DateRange
from apps.focus.models import FocusPeriod

Better = Literal["up", "down"]


@dataclass(frozen=True)
class Change:
    """How a number moved against the previous range, in words as well as an arrow."""

    arrow: str  # "▲", "▼" or ""
    amount: str  # "1.2", "3.1 points", "2 h 5 min"
    verdict: str  # "better", "worse", "no change", "no earlier data"

    @property
    def css(self) -> str:
        return {"better": "better", "worse": "worse"}.get(self.verdict, "same")

    @property
    def text(self) -> str:
        if not self.arrow:
            return self.verdict
        return f"{self.arrow} {self.amount}, {self.verdict}"


def change_of(
    current: float | None, previous: float | None, *, better: Better, unit: str
) -> Change:
    """`unit` is "count", "per_week", "rate" (in percentage points) or "duration"."""
    if current is None or previous is None:
        return Change("", "", "no earlier data")
    delta = current - previous
    if abs(delta) < 1e-9:
        return Change("", "", "no change")
    size = abs(delta)
    if unit == "rate":
        amount = format_rate(size).replace(" %", " points")
    elif unit == "duration":
        amount = format_duration(size)
    elif unit == "per_week":
        amount = f"{format_per_week(size)} a week"
    else:
        amount = format_count(size)
    improved = (delta > 0) == (better == "up")
    return Change("▲" if delta > 0 else "▼", amount, "better" if improved else "worse")


@dataclass(frozen=True)
class Total:
    name: str
    value: str
    change: Change
    definition: str
    value_missing: bool = False


FORMATS: dict[str, Callable[[float | None], str]] = {
    "count": format_count,
    "per_week": format_per_week,
    "rate": format_rate,
    "duration": format_duration,
}

# The overview's top strip: name, anchor on the definitions page, the WindowMetrics value,
# which way is better, and its unit.
TOTALS: tuple[tuple[str, str, Callable[[Any], float | None], Better, str], ...] = (
    (
        "Deployments per week",
        "deployment-frequency",
        lambda w: w.deployment_frequency_per_week,
        "up",
        "per_week",
    ),
    ("Change failure rate", "change-failure-rate", lambda w: w.change_failure_rate, "down", "rate"),
    (
        "Time to restore (median)",
        "time-to-restore",
        lambda w: w.time_to_restore.median,
        "down",
        "duration",
    ),
    (
        "Open incidents at the end of the range",
        "open-incidents",
        lambda w: w.open_incidents,
        "down",
        "count",
    ),
)


def org_totals(current: Any, previous: Any) -> list[Total]:
    """The overview's top strip from two WindowMetrics of the organization."""
    return [
        Total(
            name=name,
            value=FORMATS[unit](value(current)),
            change=change_of(value(current), value(previous), better=better, unit=unit),
            definition=definition,
            value_missing=value(current) is None,
        )
        for name, definition, value, better, unit in TOTALS
    ]


@dataclass(frozen=True)
class CardNumber:
    name: str
    value: str
    level: str
    sparkline: str
    definition: str
    metric: str
    value_missing: bool = False


def _weekly_values(weeks: Sequence[Week]) -> dict[str, list[float | None]]:
    return {
        "time_to_restore": [w.ttr_median for w in weeks],
        "change_failure_rate": [w.change_failure_rate for w in weeks],
        "deployment_frequency": [float(w.deployments) for w in weeks],
        "lead_time": [w.lead_median for w in weeks],
    }


# A team card's numbers: name, metric (and its level's key), sparkline label, anchor on the
# definitions page, the WindowMetrics value and its unit.
CARD_NUMBERS: tuple[tuple[str, str, str, str, Callable[[Any], float | None], str], ...] = (
    (
        "Time to restore",
        "time_to_restore",
        "Time to restore",
        "time-to-restore",
        lambda w: w.time_to_restore.median,
        "duration",
    ),
    (
        "Change failure rate",
        "change_failure_rate",
        "Change failure rate",
        "change-failure-rate",
        lambda w: w.change_failure_rate,
        "rate",
    ),
    (
        "Deploys per week",
        "deployment_frequency",
        "Deployments per week",
        "deployment-frequency",
        lambda w: w.deployment_frequency_per_week,
        "per_week",
    ),
    ("Lead time", "lead_time", "Lead time", "lead-time", lambda w: w.lead_time.median, "duration"),
)


def card_numbers(window: Any, weeks: Sequence[Week]) -> list[CardNumber]:
    levels = (window.levels if window else None) or {}
    series = _weekly_values(weeks)
    numbers = []
    for name, metric, spark_name, definition, value_of, unit in CARD_NUMBERS:
        value = value_of(window) if window else None
        numbers.append(
            CardNumber(
                name=name,
                value=FORMATS[unit](value),
                level=levels.get(metric, "not_enough_data"),
                sparkline=sparkline_svg(series[metric], label=f"{spark_name}, last 12 weeks"),
                definition=definition,
                metric=metric,
                value_missing=value is None,
            )
        )
    return numbers


@dataclass(frozen=True)
class TimelineBand:
    band: Band
    left: float  # percent of the range
    width: float
    period: FocusPeriod


def timeline_of(periods: Sequence[FocusPeriod], date_range: DateRange) -> list[TimelineBand]:
    """Bands across the range, positioned in percent, for the HTML focus timeline."""
    by_start = {p.starts_on: p for p in periods}
    total = max(date_range.days, 1)
    out = []
    for band in focus_bands(periods, date_range.start, date_range.end):
        source = by_start.get(band.start) or next(p for p in periods if p.covers(band.start))
        out.append(
            TimelineBand(
                band=band,
                left=round((band.start - date_range.start).days / total * 100, 3),
                width=round((band.end - band.start).days / total * 100, 3),
                period=source,
            )
        )
    return out


def dora_table(table: Any) -> list[dict[str, str]]:
    """The benchmark year's cut-offs in words, one row per level (elite, high, medium, low)."""
    freq, lead, cfr, ttr = (
        table.deployment_frequency,
        table.lead_time,
        table.change_failure_rate,
        table.time_to_restore,
    )
    rows = []
    for i, level in enumerate(("elite", "high", "medium")):
        rows.append(
            {
                "level": level,
                "deployment_frequency": f"≥ {format_per_week(freq[i])} per week",
                "lead_time": f"< {format_duration(lead[i])}",
                "change_failure_rate": f"≤ {format_rate(cfr[i])}",
                "time_to_restore": f"< {format_duration(ttr[i])}",
            }
        )
    rows.append(
        {
            "level": "low",
            "deployment_frequency": f"< {format_per_week(freq[2])} per week",
            "lead_time": f"≥ {format_duration(lead[2])}",
            "change_failure_rate": f"> {format_rate(cfr[2])}",
            "time_to_restore": f"≥ {format_duration(ttr[2])}",
        }
    )
    return rows
