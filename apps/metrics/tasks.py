"""Thin Celery tasks: each calls one service."""

from __future__ import annotations

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

from apps.metrics.rollups import rollups_process_dirty, rollups_recheck_recent
from apps.metrics.services import SCHEDULE_KEY, windows_prewarm


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=60, max_retries=5
)
def process_dirty_buckets() -> int:
    # Clear the debounce flag first: a write landing from here on schedules a new run.
    cache.delete(SCHEDULE_KEY)
    team_ids: list[int] = []
    processed = rollups_process_dirty(trigger="worker", recomputed_teams=team_ids)
    if processed:
        windows_prewarm(team_ids=team_ids)
    return processed


@shared_task
def recheck_recent_weeks() -> int:
    return rollups_recheck_recent()
