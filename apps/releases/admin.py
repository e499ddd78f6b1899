from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from apps.core.timezones import week_start_of
from apps.metrics.services import buckets_mark_dirty
from apps.releases.models import Release


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "service",
        "team",
        "deployed_at",
        "status",
        "change_count",
        "deployed_by",
        "fixes_incident",
        "source",
    ]
    list_filter = ["status", "team", "source"]
    search_fields = ["version", "service", "deployed_by", "external_id"]
    date_hierarchy = "deployed_at"
    list_select_related = ["team", "fixes_incident"]
    autocomplete_fields = ["team", "fixes_incident", "recorded_by"]
    readonly_fields = ["source", "external_id", "created_at", "updated_at"]

    # Edits here bypass the write services, so they mark the weeks dirty themselves.
    def save_model(self, request: HttpRequest, obj: Release, form: ModelForm, change: bool) -> None:
        weeks = {week_start_of(obj.deployed_at)}
        if change and obj.pk:
            previous = Release.objects.filter(pk=obj.pk).values_list("deployed_at", flat=True)
            weeks |= {week_start_of(moment) for moment in previous}
        super().save_model(request, obj, form, change)
        buckets_mark_dirty(team_id=obj.team_id, weeks=weeks)

    def delete_model(self, request: HttpRequest, obj: Release) -> None:
        team_id, weeks = obj.team_id, {week_start_of(obj.deployed_at)}
        super().delete_model(request, obj)
        buckets_mark_dirty(team_id=team_id, weeks=weeks)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        affected: list[tuple[int, Any]] = [
            (r.team_id, week_start_of(r.deployed_at)) for r in queryset
        ]
        super().delete_queryset(request, queryset)
        for team_id, week in affected:
            buckets_mark_dirty(team_id=team_id, weeks=[week])
