"""Thin Celery tasks of the focus app: each calls one service."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import OperationalError

from apps.focus.reminders import focus_reminders_send


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=300, max_retries=5
)
def send_focus_reminders() -> dict[str, Any]:
    # A retry (or a second beat) is harmless: the reminders already decided today are
    # skipped under their unique key (apps.focus.reminders).
    report = focus_reminders_send()
    return {"decided": report.decided, "skipped": report.skipped}
