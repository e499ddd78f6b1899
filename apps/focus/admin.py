from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.focus.models import FocusKind, FocusPeriod
from apps.focus.services import focus_period_align, focus_period_close, overlapping_periods


@admin.register(FocusKind)
class FocusKindAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "builtin"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["builtin"]

    def has_delete_permission(self, request: HttpRequest, obj: FocusKind | None = None) -> bool:
        # The built-in kinds are what the metrics match; admins may only add others.
        return not (obj is not None and obj.builtin) and super().has_delete_permission(request, obj)


class FocusPeriodForm(forms.ModelForm):
    class Meta:
        model = FocusPeriod
        fields = [
            "team",
            "kind",
            "starts_on",
            "ends_on",
            "status",
            "rationale",
            "success_signals",
            "tradeoff",
            "revisit_on",
            "proposed_by",
            "aligned_by",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        team, starts_on = data.get("team"), data.get("starts_on")
        if team is not None and starts_on is not None:
            # The same rule as apps.focus.services (and PostgreSQL's exclusion constraint),
            # reported next to the field instead of as a database error.
            other = overlapping_periods(
                team=team,
                starts_on=starts_on,
                ends_on=data.get("ends_on"),
                exclude_id=self.instance.pk,
            ).first()
            if other is not None:
                until = other.ends_on.isoformat() if other.ends_on else "open-ended"
                raise ValidationError(
                    {
                        "starts_on": (
                            f"Overlaps the {other.kind.name.lower()} focus "
                            f"{other.starts_on.isoformat()} to {until}."
                        )
                    }
                )
        return data


@admin.register(FocusPeriod)
class FocusPeriodAdmin(admin.ModelAdmin):
    form = FocusPeriodForm
    list_display = [
        "team",
        "kind",
        "starts_on",
        "ends_on",
        "status",
        "revisit_on",
        "revisit_overdue",
        "aligned_by",
    ]
    list_filter = ["status", "kind", "team"]
    search_fields = ["team__name", "rationale", "tradeoff"]
    date_hierarchy = "starts_on"
    list_select_related = ["team", "kind", "aligned_by"]
    autocomplete_fields = ["team", "proposed_by", "aligned_by"]
    readonly_fields = ["aligned_at", "created_at"]
    actions = ["align", "close_today"]

    @admin.display(boolean=True, description="revisit overdue")
    def revisit_overdue(self, period: FocusPeriod) -> bool:
        return period.revisit_overdue(timezone.localdate())

    @admin.action(description="Align (sign off) the selected focus periods")
    def align(self, request: HttpRequest, queryset: QuerySet[FocusPeriod]) -> None:
        done = 0
        for period in queryset.exclude(status=FocusPeriod.Status.CLOSED):
            focus_period_align(period=period, aligned_by=request.user)
            done += 1
        self.message_user(request, f"Aligned {done} focus period(s).", messages.SUCCESS)

    @admin.action(description="Close the selected focus periods today")
    def close_today(self, request: HttpRequest, queryset: QuerySet[FocusPeriod]) -> None:
        today = timezone.localdate()
        done = 0
        for period in queryset.filter(ends_on__isnull=True):
            try:
                focus_period_close(period=period, ends_on=today)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{period}: {'; '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, f"Closed {done} focus period(s).", messages.SUCCESS)
