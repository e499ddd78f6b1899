"""The team page's "Knowledge sharing" data and chart: per service, who did the releases
(`deployed_by`) and the incident resolutions (`resolved_by`) over the range, as stacked
shares, and the service's bus factor (METRICS.md; `formulas.bus_factor_of`, the rule the
metrics engine uses).

Names are shown only to viewers the view allows (`show_names`); otherwise every person
becomes "person 1", "person 2"… (most work first) *before* any text or figure is built, so
no name can leak through a hover, a legend or a warning.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from apps.core.formatting import format_count, format_rate
from apps.dashboard.charts.base import DARK, surface
from apps.dashboard.charts.figures import Chart, _figure
from apps.metrics.formulas import bus_factor_of
from apps.metrics.selectors import PersonWork

# Okabe & Ito's colour-blind safe palette (without its yellow, too light on white); beyond
# it, people are told apart by a hatch pattern as well as by colour.
PEOPLE_COLOURS = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000")
PATTERNS = ("", "/", ".", "x", "-", "|", "+")


@dataclass(frozen=True)
class ServiceKnowledge:
    """One service: its people, most work first, and its bus factor."""

    service: str
    people: list[PersonWork]
    bus_factor: int | None

    @property
    def items(self) -> int:
        return sum(p.items for p in self.people)

    @property
    def warning(self) -> str:
        """The sentence for a bus factor of 1, else ""."""
        if self.bus_factor != 1 or not self.people:
            return ""
        return (
            f"Only {self.people[0].person} did at least half of {self.service}'s releases "
            "and incident resolutions."
        )


@dataclass(frozen=True)
class Knowledge:
    """The "Knowledge sharing" section: services riskiest first, the chart, the team's bus
    factor (the lowest over its services) and whether names are shown."""

    services: list[ServiceKnowledge]
    chart: Chart | None
    names_shown: bool

    @property
    def bus_factor(self) -> int | None:
        factors = [s.bus_factor for s in self.services if s.bus_factor is not None]
        return min(factors) if factors else None

    @property
    def warnings(self) -> list[str]:
        return [s.warning for s in self.services if s.warning]


def anonymised(work: Mapping[str, Sequence[PersonWork]]) -> dict[str, list[PersonWork]]:
    """The same work with every person named "person N": N by total work over all services,
    most first, ties by name (so the numbering is stable)."""
    totals: dict[str, int] = {}
    for people in work.values():
        for p in people:
            totals[p.person] = totals.get(p.person, 0) + p.items
    order = sorted(totals, key=lambda name: (-totals[name], name))
    alias = {name: f"person {i}" for i, name in enumerate(order, start=1)}
    return {
        service: [PersonWork(alias[p.person], p.items, p.releases) for p in people]
        for service, people in work.items()
    }


def knowledge_of(work: Mapping[str, Sequence[PersonWork]], *, show_names: bool) -> Knowledge:
    """Per-service bus factors and the chart, from `metrics.selectors.service_work`."""
    shown = dict(work) if show_names else anonymised(work)
    services = [
        ServiceKnowledge(
            service=service,
            people=sorted(people, key=lambda p: (-p.items, p.person)),
            bus_factor=bus_factor_of({p.person: p.items for p in people}),
        )
        for service, people in shown.items()
    ]
    services.sort(key=lambda s: (s.bus_factor or 0, s.service))
    return Knowledge(services=services, chart=knowledge_chart(services), names_shown=show_names)


def _hover(person: PersonWork, service: ServiceKnowledge) -> str:
    share = person.items / service.items
    return (
        f"<b>{html.escape(person.person)}</b> on {html.escape(service.service)}<br>"
        f"{format_count(person.items)} of {format_count(service.items)} items "
        f"({format_rate(share)})<br>"
        f"{format_count(person.releases)} release{'' if person.releases == 1 else 's'}, "
        f"{format_count(person.resolutions)} incident "
        f"resolution{'' if person.resolutions == 1 else 's'}"
    )


def knowledge_chart(services: Sequence[ServiceKnowledge]) -> Chart | None:
    """Horizontal bars, one per service (riskiest on top), people stacked by their share
    of its work; one trace per person, so each has one colour and one legend entry."""
    with_work = [s for s in services if s.items]
    if not with_work:
        return None
    people: list[str] = []
    for s in with_work:
        people += [p.person for p in s.people if p.person not in people]
    labels = [html.escape(s.service) for s in with_work]
    traces = []
    for index, person in enumerate(people):
        xs: list[float | None] = []
        texts: list[str] = []
        for s in with_work:
            found = next((p for p in s.people if p.person == person), None)
            xs.append(None if found is None else round(100 * found.items / s.items, 2))
            texts.append("" if found is None else _hover(found, s))
        colour = PEOPLE_COLOURS[index % len(PEOPLE_COLOURS)]
        pattern = PATTERNS[(index // len(PEOPLE_COLOURS)) % len(PATTERNS)]
        marker: dict[str, Any] = {"color": colour, "line": {"color": "#ffffff", "width": 1}}
        if pattern:
            marker["pattern"] = {"shape": pattern, "fgcolor": "#ffffff"}
        traces.append(
            go.Bar(
                name=html.escape(person),
                orientation="h",
                x=xs,
                y=labels,
                marker=marker,
                text=texts,
                textposition="none",
                hovertemplate="%{text}<extra></extra>",
            )
        )
    layout: dict[str, Any] = {
        "title": {
            "text": "Who did the work, per service",
            "x": 0,
            "xanchor": "left",
            "y": 0.98,
            "yref": "container",
            "yanchor": "top",
        },
        "barmode": "stack",
        "height": 150 + 44 * len(with_work),
        "margin": {"l": 120, "r": 24, "t": 84, "b": 36},
        **surface(),
        # People above the bars, under the title: below, they would meet the axis labels.
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "yanchor": "bottom",
            "traceorder": "normal",
        },
        "hovermode": "closest",
        "xaxis": {
            "range": [0, 100],
            "ticksuffix": " %",
            "fixedrange": True,
            "gridcolor": "#e3e7eb",
        },
        "yaxis": {"autorange": "reversed", "fixedrange": True, "automargin": True},
        "shapes": [
            {
                "type": "line",
                "xref": "x",
                "yref": "paper",
                "x0": 50,
                "x1": 50,
                "y0": 0,
                "y1": 1,
                "line": {"color": DARK, "width": 1, "dash": "dot"},
            }
        ],
    }
    summary = " ".join(
        f"{s.service}: bus factor {s.bus_factor}, {format_count(s.items)} items; "
        + ", ".join(f"{p.person} {format_rate(p.items / s.items)}" for p in s.people)
        + "."
        for s in with_work
    )
    return Chart(
        slug="knowledge",
        title="Who did the work, per service",
        figure=_figure(traces, layout),
        summary=summary,
        definition="bus-factor",
    )
