"""Thin Celery tasks: each calls one service."""

from __future__ import annotations

from celery import shared_task

from apps.webhooks.services import deliveries_prune


@shared_task
def prune_webhook_deliveries() -> int:
    return deliveries_prune()
