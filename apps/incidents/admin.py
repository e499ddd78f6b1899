from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from apps.core.timezones import week_start_of
from apps.incidents.models import Incident
from apps.metrics.services import buckets_mark_dirty, weeks_spanning


def incident_weeks(incident: Incident) -> set:  # type: ignore[type-arg]
    """The weeks whose rollups an incident counts in (as apps.incidents.services does)."""
    weeks = set(weeks_spanning(incident.started_at, incident.resolved_at))
    if incident.caused_by is not None:
        weeks.add(week_start_of(incident.caused_by.deployed_at))
    return weeks


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "team",
        "severity",
        "service",
        "started_at",
        "resolved_at",
        "cause",
        "caused_by",
        "source",
    ]
    list_filter = [
        "severity",
        ("resolved_at", admin.EmptyFieldListFilter),
        "start_unknown",
        "cause",
        "team",
        "service",
        "source",
    ]
    search_fields = ["title", "summary", "external_id"]
    date_hierarchy = "started_at"
    list_select_related = ["team", "caused_by"]
    autocomplete_fields = ["team", "caused_by", "reported_by"]
    readonly_fields = ["source", "external_id", "created_at", "updated_at"]

    # Edits here bypass the write services, so they mark the weeks dirty themselves (in the
    # admin's transaction), before and after the change, and the rollups follow.
    def save_model(
        self, request: HttpRequest, obj: Incident, form: ModelForm, change: bool
    ) -> None:
        before: set = set()  # type: ignore[type-arg]
        if change and obj.pk:
            previous = Incident.objects.select_related("caused_by").filter(pk=obj.pk).first()
            if previous is not None:
                before = incident_weeks(previous)
        super().save_model(request, obj, form, change)
        buckets_mark_dirty(team_id=obj.team_id, weeks=before | incident_weeks(obj))

    def delete_model(self, request: HttpRequest, obj: Incident) -> None:
        team_id, weeks = obj.team_id, incident_weeks(obj)
        super().delete_model(request, obj)
        buckets_mark_dirty(team_id=team_id, weeks=weeks)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        affected: list[tuple[int, Any]] = [
            (i.team_id, incident_weeks(i)) for i in queryset.select_related("caused_by")
        ]
        super().delete_queryset(request, queryset)
        for team_id, weeks in affected:
            buckets_mark_dirty(team_id=team_id, weeks=weeks)
