from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.webhooks.models import Webhook, WebhookDelivery


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    """Created on the webhooks page (the secret is shown there once); here they are listed.
    The secret, even encrypted, is never displayed."""

    list_display = ["team", "kind", "environment", "public_id", "active", "created_at"]
    list_filter = ["kind", "active", "team"]
    search_fields = ["team__name", "public_id", "environment"]
    list_select_related = ["team"]
    exclude = ["secret_sealed"]
    readonly_fields = [
        "team",
        "kind",
        "public_id",
        "environment",
        "severity_high",
        "severity_low",
        "active",
        "created_by",
        "created_at",
        "secret_rotated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "webhook",
        "event_type",
        "event_id",
        "outcome",
        "http_status",
        "reason",
    ]
    list_filter = ["outcome", "webhook__kind"]
    search_fields = ["event_id", "reason"]
    list_select_related = ["webhook__team"]
    readonly_fields = [
        "webhook",
        "received_at",
        "event_id",
        "event_type",
        "outcome",
        "reason",
        "http_status",
        "record_kind",
        "record_id",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
