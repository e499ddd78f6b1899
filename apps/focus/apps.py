from __future__ import annotations

from django.apps import AppConfig


class FocusConfig(AppConfig):
    name = "apps.focus"
    label = "focus"
