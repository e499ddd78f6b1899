from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.focus.models import FocusEvent, FocusKind, FocusPeriod, SentReminder
from apps.focus.services import (
    focus_period_align,
    focus_period_close,
    focus_period_record_admin_save,
    focus_period_snapshot,
    overlap_message,
    overlapping_periods,
)


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
            "tradeoff_metrics",
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
                raise ValidationError({"starts_on": overlap_message(other)})
        return data


class FocusEventInline(admin.TabularInline):
    """The period's history, read-only: nothing in it is ever changed or removed."""

    model = FocusEvent
    extra = 0
    can_delete = False
    fields = ("at", "kind", "actor", "note", "changes")
    readonly_fields = ("at", "kind", "actor", "note", "changes")
    ordering = ["at", "id"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[FocusEvent]:
        return super().get_queryset(request).select_related("actor")


@admin.register(FocusPeriod)
class FocusPeriodAdmin(admin.ModelAdmin):
    form = FocusPeriodForm
    inlines = [FocusEventInline]
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
    readonly_fields = ["aligned_at", "proposed_at", "created_at"]
    actions = ["align", "close_today"]

    @admin.display(boolean=True, description="revisit overdue")
    def revisit_overdue(self, period: FocusPeriod) -> bool:
        return period.revisit_overdue(timezone.localdate())

    def save_model(self, request: HttpRequest, obj: FocusPeriod, form: Any, change: bool) -> None:
        # An admin may change anything here; the history still says who changed what.
        before = None
        if change:
            before = focus_period_snapshot(FocusPeriod.objects.get(pk=obj.pk))
        with transaction.atomic():
            if not change and obj.proposed_at is None:
                obj.proposed_at = timezone.now()
            super().save_model(request, obj, form, change)
            focus_period_record_admin_save(period=obj, actor=request.user, before=before)

    @admin.action(description="Align (sign off) the selected focus periods")
    def align(self, request: HttpRequest, queryset: QuerySet[FocusPeriod]) -> None:
        done = 0
        for period in queryset.select_related("kind"):
            try:
                focus_period_align(period=period, aligned_by=request.user)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{period}: {'; '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, f"Aligned {done} focus period(s).", messages.SUCCESS)

    @admin.action(description="Close the selected focus periods today")
    def close_today(self, request: HttpRequest, queryset: QuerySet[FocusPeriod]) -> None:
        today = timezone.localdate()
        done = 0
        for period in queryset.filter(ends_on__isnull=True):
            try:
                focus_period_close(period=period, ends_on=today, actor=request.user)
                done += 1
            except ValidationError as exc:
                self.message_user(request, f"{period}: {'; '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, f"Closed {done} focus period(s).", messages.SUCCESS)


@admin.register(SentReminder)
class SentReminderAdmin(admin.ModelAdmin):
    """What was decided and sent; read-only (the rows are what keeps a reminder to once)."""

    list_display = ["day", "kind", "period", "recipient", "sent_at", "error"]
    list_filter = ["kind", "day"]
    list_select_related = ["period__team", "period__kind", "recipient"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
