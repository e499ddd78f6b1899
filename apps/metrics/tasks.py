"""Thin Celery tasks: each calls one service."""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError

from apps.focus.evaluations import focus_evaluations_refresh
from apps.metrics.rollups import rollups_process_dirty, rollups_recheck_recent
from apps.metrics.services import SCHEDULE_KEY, windows_prewarm


@shared_task(
    autoretry_for=(OperationalError,), retry_backoff=True, retry_backoff_max=60, max_retries=5
)
def process_dirty_buckets() -> int:
    # Clear the debounce flag first: a write landing from here on schedules a new run.
    cache.delete(SCHEDULE_KEY)
    team_ids: list[int] = []
    weeks: dict[int, list[dt.date]] = {}
    processed = rollups_process_dirty(
        trigger="worker", recomputed_teams=team_ids, recomputed_weeks=weeks
    )
    if team_ids:
        # The recomputed teams' "did it work" answers follow their new rollups (those whose
        # windows miss the recomputed weeks keep theirs).
        focus_evaluations_refresh(team_ids=team_ids, weeks=weeks)
    # Pre-warming helps only a separate worker; run in-process (no broker), it would make
    # the request that wrote the data wait for windows nobody asked for yet.
    if processed and not settings.CELERY_TASK_ALWAYS_EAGER:
        windows_prewarm(team_ids=team_ids)
    return processed


@shared_task
def recheck_recent_weeks() -> int:
    written = rollups_recheck_recent()
    # Every team was recomputed, and running periods are judged as of a new day.
    focus_evaluations_refresh()
    return written
