"""The team page's Plotly figures, built from one table of chart specs.

Figures are built in Python and sent to the page as JSON (`json_script`); the vendored
plotly.js draws them (`static/js/charts.js`). Every figure shares the same time axis, draws
the team's focus periods as labelled bands behind the data, and marks failed releases and
SEV1 and SEV2 incidents. The markers are the same on every chart of a page, so they are sent
once (`TeamCharts.markers`, a list of Plotly traces on the `y9` axis that every figure's
layout provides) and the script adds them to each figure before drawing it.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio

from apps.core.formatting import (
    format_count,
    format_duration,
    format_per_week,
    format_rate,
)
from apps.dashboard.charts.base import (
    A_MONDAY,
    BAND_OPACITY,
    BLUE,
    DARK,
    DATA_TOP,
    LIGHT_BLUE,
    ORANGE,
    WEEK_MS,
    Band,
    Marker,
    Week,
    day,
    hours,
    local_iso,
    moment,
    surface,
    week_label,
)


@dataclass(frozen=True)
class Chart:
    """A figure for the page, and its text summary for screen readers."""

    slug: str
    title: str
    figure: dict[str, Any]
    summary: str
    definition: str = ""  # anchor on the definitions page
    figure_json: str = field(default="", compare=False)  # see page_cache.with_script_json

    @property
    def json_id(self) -> str:
        """The id of the `<script type="application/json">` element that carries the figure."""
        return f"figure-{self.slug}"


def _layout(
    *, title: str, start: dt.date, end: dt.date, bands: Sequence[Band], y_title: str
) -> dict[str, Any]:
    shapes = [
        {
            "type": "rect",
            "xref": "x",
            "yref": "paper",
            "x0": band.start.isoformat(),
            "x1": band.end.isoformat(),
            "y0": 0,
            "y1": 1,
            "fillcolor": band.colour,
            "opacity": BAND_OPACITY,
            "layer": "below",
            "line": {"width": 0},
        }
        for band in bands
    ]
    annotations = [
        {
            "x": band.start.isoformat(),
            "y": 1,
            "xref": "x",
            "yref": "paper",
            "xanchor": "left",
            "yanchor": "bottom",
            "showarrow": False,
            "text": html.escape(band.label),
            "font": {"size": 11, "color": band.colour},
        }
        for band in bands
    ]
    return {
        "title": {"text": html.escape(title), "x": 0, "xanchor": "left", "font": {"size": 15}},
        "height": 280,
        "margin": {"l": 56, "r": 56, "t": 48, "b": 36},
        **surface(),
        "showlegend": True,
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.14, "yanchor": "bottom"},
        "hovermode": "closest",
        "xaxis": {
            "type": "date",
            "range": [start.isoformat(), end.isoformat()],
            "showgrid": False,
            "fixedrange": True,
        },
        "yaxis": {
            "domain": [0, DATA_TOP],
            "title": {"text": y_title},
            "rangemode": "tozero",
            "gridcolor": "#e3e7eb",
            "fixedrange": True,
        },
        # Markers live on their own invisible axis in a strip above the data, so they never
        # hide a bar or a point; the focus bands span both.
        "yaxis9": {
            "domain": [DATA_TOP + 0.02, 1],
            "range": [0, 1],
            "visible": False,
            "fixedrange": True,
        },
        "shapes": shapes,
        "annotations": annotations,
    }


def marker_traces(markers: Sequence[Marker], tz: dt.tzinfo | None = None) -> list[dict[str, Any]]:
    """The markers as Plotly traces (one per kind, with its legend entry), for every chart of
    a page: hover text escaped here, the item's link in `customdata` for a click."""
    traces = []
    groups = (
        ("incident", "SEV1/SEV2 incident", "triangle-down", ORANGE, 0.7),
        ("failed_release", "failed release", "x", DARK, 0.25),
    )
    for kind, name, symbol, colour, y in groups:
        chosen = [m for m in markers if m.kind == kind]
        if not chosen:
            continue
        texts = [
            "<br>".join(
                part
                for part in (
                    f"<b>{html.escape(m.title)}</b>",
                    html.escape(m.detail),
                    moment(m.at, tz),
                )
                if part
            )
            for m in chosen
        ]
        traces.append(
            go.Scatter(
                name=name,
                x=[local_iso(m.at, tz) for m in chosen],
                y=[y] * len(chosen),
                yaxis="y9",
                mode="markers",
                marker={"symbol": symbol, "size": 10, "color": colour},
                text=texts,
                customdata=[m.url for m in chosen],
                hovertemplate="%{text}<extra></extra>",
            ).to_plotly_json()
        )
    return traces


def _weekly(trace: type[go.Scatter] | type[go.Bar], **kwargs: Any) -> Any:
    return trace(xperiod=WEEK_MS, xperiod0=A_MONDAY, xperiodalignment="middle", **kwargs)


@lru_cache(maxsize=1)
def _template() -> dict[str, Any]:
    """Plotly's default look, cut down to what a cartesian chart of bars and lines uses: the
    whole template (maps, polar and 3-D defaults, colour scales) would ride in every
    figure (BENCHMARKS.md, "Smaller pages")."""
    full = pio.templates["plotly"].to_plotly_json()
    layout_keys = (
        "annotationdefaults",
        "autotypenumbers",
        "colorway",
        "font",
        "hoverlabel",
        "hovermode",
        "paper_bgcolor",
        "plot_bgcolor",
        "shapedefaults",
        "title",
        "xaxis",
        "yaxis",
    )
    return {
        "data": {kind: full["data"][kind] for kind in ("bar", "scatter") if kind in full["data"]},
        "layout": {key: full["layout"][key] for key in layout_keys if key in full["layout"]},
    }


def _figure(traces: list[Any], layout: dict[str, Any]) -> dict[str, Any]:
    figure = go.Figure(data=traces, layout=layout).to_plotly_json()
    figure["layout"]["template"] = _template()
    return figure


def _range_text(start: dt.date, end: dt.date) -> str:
    return f"{day(start)} to {day(end - dt.timedelta(days=1))}"


def _bands_text(bands: Sequence[Band]) -> str:
    if not bands:
        return "No focus periods in this range."
    parts = [f"{b.label} from {day(b.start)} to {day(b.end - dt.timedelta(days=1))}" for b in bands]
    return "Focus: " + "; ".join(parts) + "."


def _markers_text(markers: Sequence[Marker]) -> str:
    incidents = sum(1 for m in markers if m.kind == "incident")
    failed = sum(1 for m in markers if m.kind == "failed_release")
    return (
        f"{incidents} SEV1/SEV2 {_plural(incidents, 'incident')} and "
        f"{failed} failed {_plural(failed, 'release')} marked."
    )


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{word}s"


def _median_p90_traces(weeks: Sequence[Week], prefix: str) -> list[Any]:
    """A duration metric's weekly median (line and points) and p90 (dashed), in hours, with
    the median, p90 and n of each week in the hover. `prefix` names the Week fields
    (`ttr`, `lead`)."""
    x = [w.week_start.isoformat() for w in weeks]
    medians = [getattr(w, f"{prefix}_median") for w in weeks]
    p90s = [getattr(w, f"{prefix}_p90") for w in weeks]
    hover = [
        f"{week_label(w.week_start)}<br>median {format_duration(median)}"
        f"<br>p90 {format_duration(p90)}<br>n = {getattr(w, f'{prefix}_n')}"
        for w, median, p90 in zip(weeks, medians, p90s, strict=True)
    ]
    common = {
        "x": x,
        "text": hover,
        "hovertemplate": "%{text}<extra></extra>",
        "connectgaps": False,
    }
    return [
        _weekly(
            go.Scatter,
            name="median",
            y=[hours(v) for v in medians],
            mode="lines+markers",
            line={"color": BLUE, "width": 2},
            **common,
        ),
        _weekly(
            go.Scatter,
            name="p90",
            y=[hours(v) for v in p90s],
            mode="lines",
            line={"color": BLUE, "width": 1.5, "dash": "dash"},
            **common,
        ),
    ]


def _ttr_traces(weeks: Sequence[Week]) -> list[Any]:
    return _median_p90_traces(weeks, "ttr")


def _lead_traces(weeks: Sequence[Week]) -> list[Any]:
    return _median_p90_traces(weeks, "lead")


def _cfr_traces(weeks: Sequence[Week]) -> list[Any]:
    x = [w.week_start.isoformat() for w in weeks]
    hover = [
        f"{week_label(w.week_start)}<br>{format_count(w.deployments)} deployments, "
        f"{format_count(w.failed_deployments)} failed<br>"
        f"change failure rate {format_rate(w.change_failure_rate)}"
        for w in weeks
    ]
    rates = [w.change_failure_rate for w in weeks]
    bars = {
        "x": x,
        "text": hover,
        "textposition": "none",
        "hovertemplate": "%{text}<extra></extra>",
    }
    return [
        _weekly(
            go.Bar,
            name="succeeded",
            y=[w.deployments - w.failed_deployments for w in weeks],
            marker={"color": LIGHT_BLUE},
            **bars,
        ),
        _weekly(
            go.Bar,
            name="failed",
            y=[w.failed_deployments for w in weeks],
            marker={"color": ORANGE, "pattern": {"shape": "/", "fgcolor": "#ffffff"}},
            **bars,
        ),
        _weekly(
            go.Scatter,
            name="failure rate",
            x=x,
            y=[None if r is None else round(r * 100, 2) for r in rates],
            yaxis="y2",
            mode="lines+markers",
            line={"color": DARK, "width": 2},
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            connectgaps=False,
        ),
    ]


def _deployment_traces(weeks: Sequence[Week]) -> list[Any]:
    return [
        _weekly(
            go.Bar,
            name="deployments",
            x=[w.week_start.isoformat() for w in weeks],
            y=[w.deployments for w in weeks],
            marker={"color": BLUE},
            text=[
                f"{week_label(w.week_start)}<br>{format_count(w.deployments)} deployments"
                for w in weeks
            ],
            textposition="none",
            hovertemplate="%{text}<extra></extra>",
        ),
    ]


def _median_text(
    weeks: Sequence[Week], start: dt.date, end: dt.date, prefix: str, what: str, samples: str
) -> str:
    medians = [getattr(w, f"{prefix}_median") for w in weeks]
    known = [m for m in medians if m is not None]
    n = sum(getattr(w, f"{prefix}_n") for w in weeks)
    return (
        f"Weekly median {what} from {_range_text(start, end)}, {n} {samples}: "
        f"lowest {format_duration(min(known))}, highest {format_duration(max(known))}, "
        f"latest {format_duration(known[-1])}."
    )


def _ttr_text(weeks: Sequence[Week], start: dt.date, end: dt.date) -> str:
    if not any(w.ttr_median is not None for w in weeks):
        return f"No resolved incidents from {_range_text(start, end)}."
    return _median_text(weeks, start, end, "ttr", "time to restore", "resolved incidents")


def _lead_text(weeks: Sequence[Week], start: dt.date, end: dt.date) -> str:
    if not any(w.lead_median is not None for w in weeks):
        return f"No releases with a first commit time from {_range_text(start, end)}."
    return _median_text(weeks, start, end, "lead", "lead time", "releases")


def _cfr_text(weeks: Sequence[Week], start: dt.date, end: dt.date) -> str:
    deployments = sum(w.deployments for w in weeks)
    failed = sum(w.failed_deployments for w in weeks)
    if not deployments:
        return f"No deployments from {_range_text(start, end)}."
    return (
        f"{format_count(failed)} of {format_count(deployments)} "
        f"deployment{'' if deployments == 1 else 's'} failed from "
        f"{_range_text(start, end)} ({format_rate(failed / deployments)})."
    )


def _deployment_text(weeks: Sequence[Week], start: dt.date, end: dt.date) -> str:
    deployments = sum(w.deployments for w in weeks)
    per_week = deployments / ((end - start).days / 7) if end > start else None
    return (
        f"{format_count(deployments)} deployment{'' if deployments == 1 else 's'} "
        f"from {_range_text(start, end)}, "
        f"{format_per_week(per_week)} per week."
    )


@dataclass(frozen=True)
class ChartSpec:
    """One chart of the team page: its name (also its anchor on the definitions page), the
    y axis, the traces and the sentence a screen reader hears."""

    slug: str
    title: str
    y_title: str
    traces: Callable[[Sequence[Week]], list[Any]]
    numbers: Callable[[Sequence[Week], dt.date, dt.date], str]
    layout: dict[str, Any] = field(default_factory=dict)


# The team page's charts, in reading order (stability first).
CHART_SPECS = (
    ChartSpec("time-to-restore", "Time to restore", "hours", _ttr_traces, _ttr_text),
    ChartSpec(
        "change-failure-rate",
        "Change failure rate",
        "deployments",
        _cfr_traces,
        _cfr_text,
        layout={
            "barmode": "stack",
            "yaxis2": {
                "title": {"text": "failure rate (%)"},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "showgrid": False,
                "fixedrange": True,
                "ticksuffix": " %",
            },
        },
    ),
    ChartSpec(
        "deployment-frequency",
        "Deployment frequency",
        "per week",
        _deployment_traces,
        _deployment_text,
    ),
    ChartSpec("lead-time", "Lead time", "hours", _lead_traces, _lead_text),
)


def build_chart(
    spec: ChartSpec,
    *,
    weeks: Sequence[Week],
    bands: Sequence[Band],
    markers: Sequence[Marker],
    start: dt.date,
    end: dt.date,
) -> Chart:
    layout = _layout(title=spec.title, start=start, end=end, bands=bands, y_title=spec.y_title)
    layout.update(spec.layout)
    return Chart(
        slug=spec.slug,
        title=spec.title,
        figure=_figure(spec.traces(weeks), layout),
        summary=(
            f"{spec.numbers(weeks, start, end)} {_markers_text(markers)} {_bands_text(bands)}"
        ),
        definition=spec.slug,
    )


MARKERS_JSON_ID = "chart-markers"


@dataclass(frozen=True)
class TeamCharts:
    """The charts of a team page and the markers they share, sent once for all of them:
    `markers` are Plotly traces that the page's script adds to every figure."""

    charts: list[Chart]
    markers: list[dict[str, Any]]
    markers_json_id: str = MARKERS_JSON_ID
    markers_json: str = field(default="", compare=False)  # see page_cache.with_script_json

    def __iter__(self) -> Iterator[Chart]:
        return iter(self.charts)

    def __len__(self) -> int:
        return len(self.charts)


def team_charts(
    *,
    weeks: Sequence[Week],
    bands: Sequence[Band],
    markers: Sequence[Marker],
    start: dt.date,
    end: dt.date,
    tz: dt.tzinfo | None = None,
) -> TeamCharts:
    """The four charts of a team page, in reading order (stability first), and their markers."""
    return TeamCharts(
        charts=[
            build_chart(spec, weeks=weeks, bands=bands, markers=markers, start=start, end=end)
            for spec in CHART_SPECS
        ],
        markers=marker_traces(markers, tz),
    )
