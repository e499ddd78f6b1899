"""Chart builders: Plotly figures of the weekly series, and inline SVG sparklines.

Figures are built in Python and sent to the page as JSON (`json_script`); the vendored
plotly.js draws them (`static/js/charts.js`). Every figure shares the same time axis, draws
the team's focus periods as labelled bands behind the data, and marks failed releases and
SEV1 and SEV2 incidents. The markers are the same on every chart of a page, so they are sent
once (`TeamCharts.markers_json`, a list of Plotly traces on the `y9` axis that every figure's
layout provides) and the script adds them to each figure before drawing it.

User text (team, service, incident titles, focus kind names) is data, never HTML: plotly.js
renders a subset of HTML in titles, labels and hovers, so every such string goes through
`html.escape` before it reaches the figure.
"""

from __future__ import annotations

import datetime as dt
import html
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Protocol

import plotly.graph_objects as go
import plotly.io as pio
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import SafeString, mark_safe

from apps.core.templatetags.formatting import (
    format_count,
    format_duration,
    format_per_week,
    format_rate,
)
from apps.core.timezones import org_tz

WEEK_MS = 7 * 24 * 3600 * 1000
A_MONDAY = "2000-01-03"  # weekly bars are aligned on ISO weeks

# A colour-blind safe palette: blue for the data, orange for failures, greys for context.
BLUE = "#1f6fb2"
LIGHT_BLUE = "#9cc3e6"
ORANGE = "#e07b00"
DARK = "#333a40"
GREY = "#6b7580"
KIND_COLOURS = {
    "stability": "#1f6fb2",
    "throughput": "#e07b00",
    "knowledge_sharing": "#7a5cad",
}
OTHER_KIND_COLOUR = "#6b7580"
BAND_OPACITY = 0.12
DATA_TOP = 0.8  # the data takes the lower 80 % of a plot, the markers the strip above


def kind_colour(slug: str) -> str:
    return KIND_COLOURS.get(slug, OTHER_KIND_COLOUR)


class WeekRow(Protocol):
    """The fields of `apps.metrics.models.WeeklyRollup` the charts read."""

    week_start: dt.date
    deployments: int
    failed_deployments: int
    ttr_median: float | None
    ttr_p90: float | None
    ttr_n: int
    lead_median: float | None
    lead_p90: float | None
    lead_n: int


@dataclass(frozen=True)
class Week:
    """One ISO week of the series; weeks without a rollup row have no activity."""

    week_start: dt.date
    deployments: int = 0
    failed_deployments: int = 0
    ttr_median: float | None = None
    ttr_p90: float | None = None
    ttr_n: int = 0
    lead_median: float | None = None
    lead_p90: float | None = None
    lead_n: int = 0

    @property
    def change_failure_rate(self) -> float | None:
        return self.failed_deployments / self.deployments if self.deployments else None


@dataclass(frozen=True)
class Band:
    """A focus period clipped to the chart's range; `end` is exclusive."""

    start: dt.date
    end: dt.date
    label: str
    kind_slug: str
    current: bool = False

    @property
    def colour(self) -> str:
        return kind_colour(self.kind_slug)


@dataclass(frozen=True)
class Marker:
    """A failed release or a SEV1 or SEV2 incident on the time axis."""

    kind: Literal["incident", "failed_release"]
    at: dt.datetime
    title: str
    detail: str = ""
    url: str = ""


@dataclass(frozen=True)
class Chart:
    """A figure with its JSON for the page, and its text summary for screen readers."""

    slug: str
    title: str
    figure: dict[str, Any]
    summary: str
    definition: str = ""  # anchor on the definitions page
    figure_json: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.figure_json:
            object.__setattr__(self, "figure_json", script_json(self.figure))

    @property
    def json_id(self) -> str:
        """The id of the `<script type="application/json">` element that carries the figure."""
        return f"figure-{self.slug}"


def script_json(data: Any) -> SafeString:
    """JSON safe inside a `<script type="application/json">`, escaped as Django's
    `json_script` does (`<`, `>` and `&` as \\u escapes), computed once per figure so a
    cached chart is not escaped again on every page view."""
    text = json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"))
    text = text.replace("&", "\\u0026").replace("<", "\\u003C").replace(">", "\\u003E")
    return mark_safe(text)  # noqa: S308  (escaped above: no markup can close the script)


@dataclass
class Series:
    start: dt.date
    end: dt.date  # exclusive
    weeks: list[Week] = field(default_factory=list)


def dense_weeks(rows: Iterable[WeekRow], mondays: Sequence[dt.date]) -> list[Week]:
    """One `Week` per Monday in `mondays`, filling weeks without a rollup with no activity."""
    by_week = {row.week_start: row for row in rows}
    out = []
    for monday in mondays:
        row = by_week.get(monday)
        if row is None:
            out.append(Week(week_start=monday))
            continue
        out.append(
            Week(
                week_start=monday,
                deployments=row.deployments,
                failed_deployments=row.failed_deployments,
                ttr_median=row.ttr_median,
                ttr_p90=row.ttr_p90,
                ttr_n=row.ttr_n,
                lead_median=row.lead_median,
                lead_p90=row.lead_p90,
                lead_n=row.lead_n,
            )
        )
    return out


def focus_bands(periods: Iterable[Any], start: dt.date, end: dt.date) -> list[Band]:
    """Focus periods that overlap `[start, end)`, clipped to it.

    `periods` are `FocusPeriod`s with `kind` loaded; `ends_on` is inclusive, empty when
    current.
    """
    bands = []
    for period in periods:
        period_end = end if period.ends_on is None else period.ends_on + dt.timedelta(days=1)
        lo, hi = max(period.starts_on, start), min(period_end, end)
        if lo >= hi:
            continue
        bands.append(
            Band(
                start=lo,
                end=hi,
                label=period.kind.name,
                kind_slug=period.kind.slug,
                current=period.ends_on is None,
            )
        )
    return sorted(bands, key=lambda b: b.start)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 3)


def _day(value: dt.date) -> str:
    return f"{value.day} {value:%b %Y}"


def _moment(value: dt.datetime, tz: dt.tzinfo | None) -> str:
    local = value.astimezone(tz or org_tz())
    return f"{local.day} {local:%b %Y %H:%M}"


def _local_iso(value: dt.datetime, tz: dt.tzinfo | None) -> str:
    """A naive local time string: the date axis is in the organization's zone."""
    return value.astimezone(tz or org_tz()).replace(tzinfo=None).isoformat(timespec="minutes")


def _week_label(monday: dt.date) -> str:
    return f"week of {monday.day} {monday:%b %Y}"


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
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "size": 12,
            "color": DARK,
        },
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
                    _moment(m.at, tz),
                )
                if part
            )
            for m in chosen
        ]
        traces.append(
            go.Scatter(
                name=name,
                x=[_local_iso(m.at, tz) for m in chosen],
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
    whole template (maps, polar and 3-D defaults, colour scales) is 7 KB in every figure."""
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
    return f"{_day(start)} to {_day(end - dt.timedelta(days=1))}"


def _bands_text(bands: Sequence[Band]) -> str:
    if not bands:
        return "No focus periods in this range."
    parts = [
        f"{b.label} from {_day(b.start)} to {_day(b.end - dt.timedelta(days=1))}" for b in bands
    ]
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
        f"{_week_label(w.week_start)}<br>median {format_duration(median)}"
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
            y=[_hours(v) for v in medians],
            mode="lines+markers",
            line={"color": BLUE, "width": 2},
            **common,
        ),
        _weekly(
            go.Scatter,
            name="p90",
            y=[_hours(v) for v in p90s],
            mode="lines",
            line={"color": BLUE, "width": 1.5, "dash": "dash"},
            **common,
        ),
    ]


def time_to_restore_chart(
    *,
    weeks: Sequence[Week],
    bands: Sequence[Band],
    markers: Sequence[Marker],
    start: dt.date,
    end: dt.date,
    tz: dt.tzinfo | None = None,
) -> Chart:
    traces = _median_p90_traces(weeks, "ttr")
    layout = _layout(title="Time to restore", start=start, end=end, bands=bands, y_title="hours")
    medians = [w.ttr_median for w in weeks if w.ttr_median is not None]
    samples = sum(w.ttr_n for w in weeks)
    if medians:
        numbers = (
            f"Weekly median time to restore from {_range_text(start, end)}, "
            f"{samples} resolved incidents: lowest {format_duration(min(medians))}, "
            f"highest {format_duration(max(medians))}, latest {format_duration(medians[-1])}."
        )
    else:
        numbers = f"No resolved incidents from {_range_text(start, end)}."
    return Chart(
        slug="time-to-restore",
        title="Time to restore",
        figure=_figure(traces, layout),
        summary=f"{numbers} {_markers_text(markers)} {_bands_text(bands)}",
        definition="time-to-restore",
    )


def change_failure_rate_chart(
    *,
    weeks: Sequence[Week],
    bands: Sequence[Band],
    markers: Sequence[Marker],
    start: dt.date,
    end: dt.date,
    tz: dt.tzinfo | None = None,
) -> Chart:
    x = [w.week_start.isoformat() for w in weeks]
    hover = [
        f"{_week_label(w.week_start)}<br>{format_count(w.deployments)} deployments, "
        f"{format_count(w.failed_deployments)} failed<br>"
        f"change failure rate {format_rate(w.change_failure_rate)}"
        for w in weeks
    ]
    rates = [w.change_failure_rate for w in weeks]
    traces = [
        _weekly(
            go.Bar,
            name="succeeded",
            x=x,
            y=[w.deployments - w.failed_deployments for w in weeks],
            marker={"color": LIGHT_BLUE},
            text=hover,
            textposition="none",
            hovertemplate="%{text}<extra></extra>",
        ),
        _weekly(
            go.Bar,
            name="failed",
            x=x,
            y=[w.failed_deployments for w in weeks],
            marker={"color": ORANGE, "pattern": {"shape": "/", "fgcolor": "#ffffff"}},
            text=hover,
            textposition="none",
            hovertemplate="%{text}<extra></extra>",
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
    layout = _layout(
        title="Change failure rate", start=start, end=end, bands=bands, y_title="deployments"
    )
    layout["barmode"] = "stack"
    layout["yaxis2"] = {
        "title": {"text": "failure rate (%)"},
        "overlaying": "y",
        "side": "right",
        "rangemode": "tozero",
        "showgrid": False,
        "fixedrange": True,
        "ticksuffix": " %",
    }
    deployments = sum(w.deployments for w in weeks)
    failed = sum(w.failed_deployments for w in weeks)
    if deployments:
        numbers = (
            f"{format_count(failed)} of {format_count(deployments)} "
            f"deployment{'' if deployments == 1 else 's'} failed from "
            f"{_range_text(start, end)} ({format_rate(failed / deployments)})."
        )
    else:
        numbers = f"No deployments from {_range_text(start, end)}."
    return Chart(
        slug="change-failure-rate",
        title="Change failure rate",
        figure=_figure(traces, layout),
        summary=f"{numbers} {_markers_text(markers)} {_bands_text(bands)}",
        definition="change-failure-rate",
    )


def deployment_frequency_chart(
    *,
    weeks: Sequence[Week],
    bands: Sequence[Band],
    markers: Sequence[Marker],
    start: dt.date,
    end: dt.date,
    tz: dt.tzinfo | None = None,
) -> Chart:
    x = [w.week_start.isoformat() for w in weeks]
    traces = [
        _weekly(
            go.Bar,
            name="deployments",
            x=x,
            y=[w.deployments for w in weeks],
            marker={"color": BLUE},
            text=[
                f"{_week_label(w.week_start)}<br>{format_count(w.deployments)} deployments"
                for w in weeks
            ],
            textposition="none",
            hovertemplate="%{text}<extra></extra>",
        ),
    ]
    layout = _layout(
        title="Deployment frequency", start=start, end=end, bands=bands, y_title="per week"
    )
    deployments = sum(w.deployments for w in weeks)
    per_week = deployments / ((end - start).days / 7) if end > start else None
    numbers = (
        f"{format_count(deployments)} deployment{'' if deployments == 1 else 's'} "
        f"from {_range_text(start, end)}, "
        f"{format_per_week(per_week)} per week."
    )
    return Chart(
        slug="deployment-frequency",
        title="Deployment frequency",
        figure=_figure(traces, layout),
        summary=f"{numbers} {_markers_text(markers)} {_bands_text(bands)}",
        definition="deployment-frequency",
    )


def lead_time_chart(
    *,
    weeks: Sequence[Week],
    bands: Sequence[Band],
    markers: Sequence[Marker],
    start: dt.date,
    end: dt.date,
    tz: dt.tzinfo | None = None,
) -> Chart:
    traces = _median_p90_traces(weeks, "lead")
    layout = _layout(title="Lead time", start=start, end=end, bands=bands, y_title="hours")
    medians = [w.lead_median for w in weeks if w.lead_median is not None]
    samples = sum(w.lead_n for w in weeks)
    if medians:
        numbers = (
            f"Weekly median lead time from {_range_text(start, end)}, {samples} releases: "
            f"lowest {format_duration(min(medians))}, highest {format_duration(max(medians))}, "
            f"latest {format_duration(medians[-1])}."
        )
    else:
        numbers = f"No releases with a first commit time from {_range_text(start, end)}."
    return Chart(
        slug="lead-time",
        title="Lead time",
        figure=_figure(traces, layout),
        summary=f"{numbers} {_markers_text(markers)} {_bands_text(bands)}",
        definition="lead-time",
    )


MARKERS_JSON_ID = "chart-markers"


@dataclass(frozen=True)
class TeamCharts:
    """The charts of a team page and the markers they share, sent once for all of them:
    `markers` are Plotly traces that the page's script adds to every figure."""

    charts: list[Chart]
    markers: list[dict[str, Any]]
    markers_json: str = field(default="", compare=False)
    markers_json_id: str = MARKERS_JSON_ID

    def __post_init__(self) -> None:
        if not self.markers_json:
            object.__setattr__(self, "markers_json", script_json(self.markers))

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
            build(weeks=weeks, bands=bands, markers=markers, start=start, end=end, tz=tz)
            for build in (
                time_to_restore_chart,
                change_failure_rate_chart,
                deployment_frequency_chart,
                lead_time_chart,
            )
        ],
        markers=marker_traces(markers, tz),
    )


# --- sparklines -------------------------------------------------------------------------

SPARK_WIDTH = 96
SPARK_HEIGHT = 24


def sparkline_svg(values: Sequence[float | None], *, label: str) -> SafeString:
    """A tiny inline SVG line of `values` (gaps where None); no script, a few hundred bytes.

    `label` is what a screen reader hears ("time to restore, last 12 weeks"). The overview
    draws four per team, so this builds the markup directly: the only text in it is the
    label, escaped here; everything else is numbers computed below.
    """
    pad = 2.0
    width, height = SPARK_WIDTH, SPARK_HEIGHT
    known = [v for v in values if v is not None]
    if not known:
        return mark_safe(  # noqa: S308  (numbers and the escaped label only)
            f'<svg class="sparkline sparkline-empty" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{html.escape(label)}: no data">'
            f'<line x1="{pad}" y1="{height / 2}" x2="{width - pad}" y2="{height / 2}"/></svg>'
        )
    lo, hi = min(known), max(known)
    span = hi - lo or 1.0
    step = (width - 2 * pad) / max(len(values) - 1, 1)
    inner = height - 2 * pad

    def point(i: int, v: float) -> tuple[float, float]:
        y = height - pad - (v - lo) / span * inner if hi != lo else height / 2
        return round(pad + i * step, 1), round(y, 1)

    segments: list[list[tuple[float, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if segments[-1]:
                segments.append([])
            continue
        segments[-1].append(point(i, v))
    parts = []
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline points="{" ".join(f"{x},{y}" for x, y in seg)}"/>')
        elif seg:
            parts.append(f'<circle cx="{seg[0][0]}" cy="{seg[0][1]}" r="1.5"/>')
    last_index = max(i for i, v in enumerate(values) if v is not None)
    last_x, last_y = point(last_index, values[last_index])  # type: ignore[arg-type]
    return mark_safe(  # noqa: S308  (numbers and the escaped label only)
        f'<svg class="sparkline" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(label)}">'
        f'{"".join(parts)}<circle class="sparkline-last" cx="{last_x}" cy="{last_y}" r="2"/>'
        "</svg>"
    )
