"""The team page's "Flow" charts: work in progress by Little's law per week, beside
deployments and mean lead time on the same time axis, and Kingman's curve of waiting time
against utilization, drawn from the team's own variability (METRICS.md, "Flow").

execdash measures no utilization on purpose; the Kingman chart explains why, with the team's
numbers: near 100 % busy, waiting time explodes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import plotly.graph_objects as go

from apps.core.formatting import format_count, format_duration, format_per_week
from apps.dashboard.charts.base import BLUE, DARK, LIGHT_BLUE, ORANGE, Band, surface, week_label
from apps.dashboard.charts.figures import Chart, _figure, _layout, _range_text, _weekly
from apps.metrics.formulas import (
    KINGMAN_MIN_SAMPLES,
    KingmanInputs,
    kingman_curve,
    littles_law_wip,
)

DAY = 86_400.0


class FlowRow(Protocol):
    """The fields of `apps.metrics.models.WeeklyRollup` the flow chart reads."""

    week_start: dt.date
    deployments: int
    lead_mean: float | None
    lead_n: int


@dataclass(frozen=True)
class FlowWeek:
    """One ISO week: deployments, mean lead time (seconds) and work in progress."""

    week_start: dt.date
    deployments: int = 0
    lead_mean: float | None = None
    lead_n: int = 0

    @property
    def wip(self) -> float | None:
        return littles_law_wip(deployments=self.deployments, lead_mean_seconds=self.lead_mean)


def flow_weeks(rows: Iterable[FlowRow], mondays: Sequence[dt.date]) -> list[FlowWeek]:
    """One `FlowWeek` per Monday, weeks without a rollup having no activity."""
    by_week = {row.week_start: row for row in rows}
    out = []
    for monday in mondays:
        row = by_week.get(monday)
        out.append(
            FlowWeek(monday)
            if row is None
            else FlowWeek(monday, row.deployments, row.lead_mean, row.lead_n)
        )
    return out


def _wip_text(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _flow_summary(weeks: Sequence[FlowWeek], start: dt.date, end: dt.date) -> str:
    known = [w.wip for w in weeks if w.wip is not None]
    deployments = sum(w.deployments for w in weeks)
    per_week = deployments / ((end - start).days / 7) if end > start else None
    rhythm = (
        f"{format_count(deployments)} deployment{'' if deployments == 1 else 's'}, "
        f"{format_per_week(per_week)} per week."
    )
    if not known:
        return (
            f"No releases with a first commit time from {_range_text(start, end)}, so no "
            f"work in progress can be estimated. {rhythm}"
        )
    return (
        f"Work in progress estimated by Little's law, weekly from {_range_text(start, end)}: "
        f"lowest {_wip_text(min(known))}, highest {_wip_text(max(known))}, "
        f"latest {_wip_text(known[-1])} changes under way. {rhythm}"
    )


def flow_chart(
    *, weeks: Sequence[FlowWeek], bands: Sequence[Band], start: dt.date, end: dt.date
) -> Chart:
    """Work in progress (top), deployments per week (middle) and mean lead time in days
    (bottom), sharing the time axis and the focus bands."""
    x = [w.week_start.isoformat() for w in weeks]
    hover = [
        f"{week_label(w.week_start)}<br>work in progress {_wip_text(w.wip)}"
        f"<br>{format_count(w.deployments)} deployments"
        f"<br>mean lead time {format_duration(w.lead_mean)} (n = {w.lead_n})"
        for w in weeks
    ]
    common = {"x": x, "text": hover, "hovertemplate": "%{text}<extra></extra>"}
    traces = [
        _weekly(
            go.Scatter,
            name="work in progress",
            y=[None if w.wip is None else round(w.wip, 3) for w in weeks],
            mode="lines+markers",
            line={"color": BLUE, "width": 2},
            connectgaps=False,
            **common,
        ),
        _weekly(
            go.Bar,
            name="deployments",
            y=[w.deployments for w in weeks],
            yaxis="y2",
            marker={"color": LIGHT_BLUE},
            textposition="none",
            **common,
        ),
        _weekly(
            go.Scatter,
            name="mean lead time",
            y=[None if w.lead_mean is None else round(w.lead_mean / DAY, 3) for w in weeks],
            yaxis="y3",
            mode="lines+markers",
            line={"color": ORANGE, "width": 2, "dash": "dot"},
            marker={"symbol": "square"},
            connectgaps=False,
            **common,
        ),
    ]
    layout = _layout(
        title="Work in progress, deployments and lead time",
        start=start,
        end=end,
        bands=bands,
        y_title="in progress",
    )
    layout.pop("yaxis9", None)
    axis = {"rangemode": "tozero", "gridcolor": "#e3e7eb", "fixedrange": True}
    layout.update(
        height=460,
        margin={"l": 64, "r": 24, "t": 56, "b": 36},
        # One time axis under the three plots (anchored to the lowest).
        xaxis={**layout["xaxis"], "anchor": "y3"},
        yaxis={**layout["yaxis"], "domain": [0.7, 1]},
        yaxis2={**axis, "domain": [0.36, 0.62], "title": {"text": "deployments"}},
        yaxis3={**axis, "domain": [0, 0.28], "title": {"text": "lead (days)"}},
    )
    return Chart(
        slug="flow",
        title="Work in progress, deployments and lead time",
        figure=_figure(traces, layout),
        summary=_flow_summary(weeks, start, end),
        definition="flow",
    )


@dataclass(frozen=True)
class Kingman:
    """The explainer: the curve, what it was drawn from, and what to say about it."""

    chart: Chart | None
    inputs: KingmanInputs
    notes: list[str]
    truncated: bool = False
    min_samples: int = KINGMAN_MIN_SAMPLES

    @property
    def wait_at_half(self) -> str:
        return _wait_at(self.inputs, 0.5)

    @property
    def wait_at_95(self) -> str:
        return _wait_at(self.inputs, 0.95)


def _wait_at(inputs: KingmanInputs, rho: float) -> str:
    curve = kingman_curve(inputs, (rho,))
    return format_duration(curve[0][1]) if curve else "—"


def kingman_notes(inputs: KingmanInputs) -> list[str]:
    """Which variabilities were measured and which taken as 1, in words."""
    notes = []
    for measured, c, n, what in (
        (inputs.ca_measured, inputs.ca, inputs.gaps_n, "times between deployments"),
        (inputs.cs_measured, inputs.cs, inputs.leads_n, "lead times"),
    ):
        if measured:
            notes.append(f"Variability of the {what}: c = {c:.2f}, from {format_count(n)} samples.")
        else:
            notes.append(
                f"Fewer than {KINGMAN_MIN_SAMPLES} {what} in this range "
                f"({format_count(n)}), so their variability is taken as c = 1."
            )
    return notes


def kingman_chart(inputs: KingmanInputs) -> Chart | None:
    """Waiting time against utilization from 50 % to 95 %; None without a lead time."""
    curve = kingman_curve(inputs)
    if not curve:
        return None
    in_days = (inputs.service or 0) >= DAY
    unit, scale = ("days", DAY) if in_days else ("hours", 3600.0)
    xs = [round(rho * 100) for rho, _ in curve]
    hover = [
        f"{round(rho * 100)} % busy: a change waits about {format_duration(wait)}"
        for rho, wait in curve
    ]
    trace = go.Scatter(
        name="waiting time",
        x=xs,
        y=[round(wait / scale, 3) for _, wait in curve],
        mode="lines+markers",
        line={"color": DARK, "width": 2, "shape": "spline"},
        marker={"color": ORANGE, "size": 7},
        text=hover,
        hovertemplate="%{text}<extra></extra>",
    )
    layout: dict[str, Any] = {
        "title": {"text": "Waiting time as the team gets busier", "x": 0, "xanchor": "left"},
        "height": 300,
        "margin": {"l": 64, "r": 24, "t": 48, "b": 48},
        **surface(),
        "showlegend": False,
        "hovermode": "closest",
        "xaxis": {
            "title": {"text": "utilization (how busy the team is)"},
            "ticksuffix": " %",
            "range": [48, 97],
            "fixedrange": True,
            "showgrid": False,
        },
        "yaxis": {
            "title": {"text": f"waiting time ({unit})"},
            "rangemode": "tozero",
            "gridcolor": "#e3e7eb",
            "fixedrange": True,
        },
    }
    first, last = curve[0][1], curve[-1][1]
    summary = (
        f"Kingman's approximation for this team: at 50 % utilization a change waits about "
        f"{format_duration(first)}, at 80 % about {format_duration(_at(curve, 0.8))}, at 95 % "
        f"about {format_duration(last)}, {last / first:.0f} times as long as at 50 %."
    )
    return Chart(
        slug="kingman",
        title="Waiting time as the team gets busier",
        figure=_figure([trace], layout),
        summary=summary,
        definition="flow",
    )


def _at(curve: Sequence[tuple[float, float]], rho: float) -> float:
    return next(wait for r, wait in curve if abs(r - rho) < 1e-9)


def kingman(inputs: KingmanInputs, *, truncated: bool = False) -> Kingman:
    return Kingman(
        chart=kingman_chart(inputs),
        inputs=inputs,
        notes=kingman_notes(inputs),
        truncated=truncated,
    )


@dataclass(frozen=True)
class FlowCharts:
    """The "Flow" section of a team page."""

    flow: Chart
    kingman: Kingman
    weeks_with_wip: int
