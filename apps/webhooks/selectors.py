from __future__ import annotations

from django.db.models import Count, Max, Q, QuerySet

from apps.teams.models import Team
from apps.webhooks.models import Webhook, WebhookDelivery


def webhooks_list(*, team: Team | None = None) -> QuerySet[Webhook]:
    """Webhooks (of one team, or all), with when each last received a delivery and how
    many of the kept deliveries were refused."""
    qs = Webhook.objects.select_related("team", "created_by").annotate(
        last_delivery_at=Max("deliveries__received_at"),
        refused_count=Count("deliveries", filter=Q(deliveries__outcome="refused")),
    )
    if team is not None:
        qs = qs.filter(team=team)
    return qs.order_by("team__name", "kind", "-created_at")


def webhook_get(*, pk: int) -> Webhook:
    return Webhook.objects.select_related("team", "created_by").get(pk=pk)


def webhook_by_public_id(*, public_id: str) -> Webhook | None:
    """The active webhook at this URL, or None (unknown and deactivated look the same)."""
    try:
        return Webhook.objects.select_related("team").get(public_id=public_id, active=True)
    except Webhook.DoesNotExist:
        return None


def deliveries_list(*, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(webhook=webhook).order_by("-received_at", "-id")
