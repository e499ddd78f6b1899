from __future__ import annotations

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    """The HTML pages that read across domains: the overview, a team's page, the metric
    definitions and the admins' API token settings."""

    name = "apps.dashboard"
    label = "dashboard"
