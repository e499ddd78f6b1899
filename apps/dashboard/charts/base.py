"""What the charts draw: weeks of rollups, focus bands and markers, and the palette.

User text (team, service, incident titles, focus kind names) is data, never HTML: plotly.js
renders a subset of HTML in titles, labels and hovers, so every such string goes through
`html.escape` before it reaches a figure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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


def surface() -> dict[str, Any]:
    """The part of a figure's layout every chart shares: the page's own background behind
    the plot, and the font. A new dict each time: a chart may change its copy."""
    return {
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {
            "family": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
            "size": 12,
            "color": DARK,
        },
    }


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


def hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 3)


def day(value: dt.date) -> str:
    return f"{value.day} {value:%b %Y}"


def moment(value: dt.datetime, tz: dt.tzinfo | None) -> str:
    local = value.astimezone(tz or org_tz())
    return f"{local.day} {local:%b %Y %H:%M}"


def local_iso(value: dt.datetime, tz: dt.tzinfo | None) -> str:
    """A naive local time string: the date axis is in the organization's zone."""
    return value.astimezone(tz or org_tz()).replace(tzinfo=None).isoformat(timespec="minutes")


def week_label(monday: dt.date) -> str:
    return f"week of {monday.day} {monday:%b %Y}"
