"""Demo data: the seed_demo and ensure_demo_admin commands and the data they write."""

from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "apps.demo"
    label = "demo"
