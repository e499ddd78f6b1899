"""The outcome-vs-output chart: an outcome's progress toward its target over time (0 % at
the baseline, 100 % at the target, whichever way is better) as a line, the team's output
per week (releases and changes, from the weekly rollups) as bars on a second axis, and the
team's focus periods as bands behind, drawn by the team page's band builder.

Figures are plain dicts (no Plotly validation, no template): a page holds one per outcome
of every team shown, so they are built cheaply and kept small. Outcome and team names are
user text: escaped, as every string that reaches plotly.js.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from apps.core.formatting import format_count, format_rate
from apps.dashboard.charts.base import (
    A_MONDAY,
    BLUE,
    DARK,
    GREY,
    LIGHT_BLUE,
    WEEK_MS,
    Band,
    day,
    week_label,
)
from apps.dashboard.charts.figures import _bands_text, _layout
from apps.outcomes.rules import progress_of

CHANGES_COLOUR = "#c9d3dc"


@dataclass(frozen=True)
class OutputWeek:
    """A week of a team's output."""

    week_start: dt.date
    releases: int = 0
    changes: int = 0


@dataclass(frozen=True)
class OutcomeChart:
    """A figure for the page, and its text summary for screen readers."""

    slug: str
    title: str
    figure: dict[str, Any]
    summary: str
    figure_json: str = field(default="", compare=False)  # see page_cache.with_script_json

    @property
    def json_id(self) -> str:
        return f"figure-{self.slug}"


class ChartedOutcome(Protocol):
    """What a chart reads of an outcome (an `Outcome` row): its numbers and their unit."""

    @property
    def pk(self) -> Any: ...
    @property
    def name(self) -> str: ...
    @property
    def unit(self) -> str: ...
    @property
    def direction(self) -> str: ...
    @property
    def baseline(self) -> float: ...
    @property
    def target(self) -> float: ...


def value_text(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    number = format_count(round(value, 3)) if abs(value) >= 1000 else f"{value:g}"
    return f"{number} {unit}".strip() if unit and unit != "%" else f"{number}{unit}"


def _progress_points(
    measurements: Sequence[tuple[dt.date, float]], *, baseline: float, target: float, unit: str
) -> tuple[list[str], list[float | None], list[str]]:
    x, y, hover = [], [], []
    for measured_on, value in measurements:
        progress = progress_of(value, baseline=baseline, target=target)
        x.append(measured_on.isoformat())
        y.append(None if progress is None else round(progress * 100, 1))
        hover.append(
            f"{day(measured_on)}<br>{html.escape(value_text(value, unit))}"
            f"<br>{format_rate(progress)} of the way to the target"
        )
    return x, y, hover


def _output_bars(
    name: str, x: list[str], y: list[int], colour: str, hover: list[str]
) -> dict[str, Any]:
    """A bar a week of the team's output, on the second axis."""
    return {
        "type": "bar",
        "name": name,
        "x": x,
        "y": y,
        "yaxis": "y2",
        "marker": {"color": colour},
        "text": hover,
        "textposition": "none",
        "hovertemplate": "%{text}<extra></extra>",
        "xperiod": WEEK_MS,
        "xperiod0": A_MONDAY,
        "xperiodalignment": "middle",
    }


def outcome_chart(
    outcome: ChartedOutcome,
    *,
    measurements: Sequence[tuple[dt.date, float]],
    weeks: Sequence[OutputWeek],
    bands: Sequence[Band],
    start: dt.date,
    end: dt.date,
) -> OutcomeChart:
    """One outcome's chart over `[start, end)`; `measurements` are `(day, value)` in order."""
    name, unit = outcome.name, outcome.unit
    x, y, hover = _progress_points(
        measurements, baseline=outcome.baseline, target=outcome.target, unit=unit
    )
    layout = _layout(title=name, start=start, end=end, bands=bands, y_title="progress (%)")
    layout.pop("yaxis9", None)
    layout["yaxis"].update(domain=[0, 1], ticksuffix=" %", rangemode="normal", zeroline=True)
    known = [v for v in y if v is not None]
    layout["yaxis"]["range"] = [min([0.0, *known]) - 10, max([100.0, *known]) + 10]
    layout["yaxis2"] = {
        "title": {"text": "output per week"},
        "overlaying": "y",
        "side": "right",
        "rangemode": "tozero",
        "showgrid": False,
        "fixedrange": True,
    }
    layout["margin"]["t"] = 56
    layout["barmode"] = "group"
    layout["shapes"] += [
        {
            "type": "line",
            "xref": "paper",
            "yref": "y",
            "x0": 0,
            "x1": 1,
            "y0": level,
            "y1": level,
            "line": {"color": GREY, "width": 1, "dash": "dot"},
            "layer": "below",
        }
        for level in (0, 100)
    ]
    week_x = [w.week_start.isoformat() for w in weeks]
    output_hover = [
        f"{week_label(w.week_start)}<br>{format_count(w.releases)} releases, "
        f"{format_count(w.changes)} changes"
        for w in weeks
    ]
    traces: list[dict[str, Any]] = [
        _output_bars("releases", week_x, [w.releases for w in weeks], LIGHT_BLUE, output_hover),
        _output_bars("changes", week_x, [w.changes for w in weeks], CHANGES_COLOUR, output_hover),
        {
            "type": "scatter",
            "name": "progress",
            "x": x,
            "y": y,
            "mode": "lines+markers",
            "line": {"color": BLUE, "width": 2.5},
            "marker": {"color": BLUE, "size": 6},
            "text": hover,
            "hovertemplate": "%{text}<extra></extra>",
        },
    ]
    layout["font"]["color"] = DARK
    return OutcomeChart(
        slug=f"outcome-{outcome.pk}",
        title=name,
        figure={"data": traces, "layout": layout},
        summary=_summary(
            outcome, measurements=measurements, weeks=weeks, bands=bands, start=start, end=end
        ),
    )


def _summary(
    outcome: ChartedOutcome,
    *,
    measurements: Sequence[tuple[dt.date, float]],
    weeks: Sequence[OutputWeek],
    bands: Sequence[Band],
    start: dt.date,
    end: dt.date,
) -> str:
    name, unit = outcome.name, outcome.unit
    baseline, target = outcome.baseline, outcome.target
    span = f"{day(start)} to {day(end - dt.timedelta(days=1))}"
    better = "up" if outcome.direction == "up" else "down"
    head = (
        f"{name}: from {value_text(baseline, unit)} toward {value_text(target, unit)} "
        f"({better} is better)."
    )
    if measurements:
        first_on, first = measurements[0]
        last_on, last = measurements[-1]
        moving = (
            f" {len(measurements)} measurement{'' if len(measurements) == 1 else 's'} from "
            f"{span}: {format_rate(progress_of(first, baseline=baseline, target=target))} of "
            f"the way on {day(first_on)}, "
            f"{format_rate(progress_of(last, baseline=baseline, target=target))} on "
            f"{day(last_on)} ({value_text(last, unit)})."
        )
    else:
        moving = f" No measurements from {span}."
    releases = sum(w.releases for w in weeks)
    changes = sum(w.changes for w in weeks)
    output = (
        f" Output: {format_count(releases)} release{'' if releases == 1 else 's'} and "
        f"{format_count(changes)} change{'' if changes == 1 else 's'}."
    )
    return f"{head}{moving}{output} {_bands_text(bands)}"
