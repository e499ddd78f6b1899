from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.metrics.models import DirtyBucket, RecomputeRun, WeeklyRollup


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written only by the worker: visible in the admin, never edited there."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WeeklyRollup)
class WeeklyRollupAdmin(ReadOnlyAdmin):
    list_display = [
        "week_start",
        "scope",
        "team",
        "deployments",
        "failed_deployments",
        "incidents",
        "open_incidents",
        "ttr_median",
        "computed_at",
    ]
    list_filter = ["team"]
    date_hierarchy = "week_start"
    list_select_related = ["team"]
    ordering = ["-week_start", "scope"]


@admin.register(RecomputeRun)
class RecomputeRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "trigger", "buckets", "finished_at"]
    list_filter = ["trigger"]
    date_hierarchy = "started_at"


@admin.register(DirtyBucket)
class DirtyBucketAdmin(ReadOnlyAdmin):
    list_display = ["team", "week_start", "marked_at"]
    list_select_related = ["team"]
