from __future__ import annotations

from django.contrib import admin

from apps.outcomes.models import Outcome, OutcomeMeasurement


class MeasurementInline(admin.TabularInline):
    model = OutcomeMeasurement
    extra = 1
    fields = ["measured_on", "value"]
    ordering = ["-measured_on"]


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "team",
        "unit",
        "direction",
        "baseline",
        "target",
        "target_date",
        "parent",
        "created_at",
    ]
    list_filter = ["direction", "team"]
    search_fields = ["name", "team__name"]
    list_select_related = ["team", "parent"]
    autocomplete_fields = ["team", "parent"]
    inlines = [MeasurementInline]


@admin.register(OutcomeMeasurement)
class OutcomeMeasurementAdmin(admin.ModelAdmin):
    list_display = ["outcome", "measured_on", "value"]
    list_filter = ["outcome__team"]
    search_fields = ["outcome__name"]
    date_hierarchy = "measured_on"
    list_select_related = ["outcome", "outcome__team"]
    autocomplete_fields = ["outcome"]
