"""Chart builders: the team page's Plotly figures (`figures`), the overview's sparklines
(`sparklines`), and what they draw (`base`)."""

from __future__ import annotations

from apps.dashboard.charts.base import Band, Marker, Week, dense_weeks, focus_bands
from apps.dashboard.charts.figures import Chart, TeamCharts, team_charts
from apps.dashboard.charts.sparklines import sparkline_svg

__all__ = [
    "Band",
    "Chart",
    "Marker",
    "TeamCharts",
    "Week",
    "dense_weeks",
    "focus_bands",
    "sparkline_svg",
    "team_charts",
]
