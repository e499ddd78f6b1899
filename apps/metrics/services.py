"""Writes of the metrics app: marking buckets dirty (the outbox) and recomputing rollups."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from apps.core.breaker import CircuitBreaker
from apps.core.timezones import week_start_of, weeks_between
from apps.metrics.models import DirtyBucket

log = logging.getLogger(__name__)

SCHEDULE_KEY = "execdash:recompute-scheduled"
ORG_PREWARM_KEY = "execdash:org-windows-prewarmed"
# The Celery broker as the web process sees it (one per process).
BROKER = CircuitBreaker("Celery broker", cooldown=10.0)


def weeks_spanning(start: dt.datetime, end: dt.datetime | None) -> list[dt.date]:
    """Every ISO week from the one holding `start` to the one holding `end` (or now)."""
    last = end or timezone.now()
    if last < start:
        last = start
    return weeks_between(week_start_of(start), week_start_of(last))


def buckets_mark_dirty(*, team_id: int, weeks: Iterable[dt.date]) -> int:
    """Mark (team, week) buckets as needing a recompute, in the caller's transaction.

    After the transaction commits, the worker is asked to process dirty buckets. Should
    that message be lost, the periodic sweep finds the rows anyway.
    """
    now = timezone.now()
    rows = [DirtyBucket(team_id=team_id, week_start=w, marked_at=now) for w in sorted(set(weeks))]
    if not rows:
        return 0
    # Re-marking bumps marked_at, so a recompute already under way will not clear it.
    DirtyBucket.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["team", "week_start"],
        update_fields=["marked_at"],
    )
    transaction.on_commit(recompute_schedule)
    return len(rows)


def recompute_schedule() -> None:
    """Ask the worker to process dirty buckets, once per debounce interval.

    A burst of writes sets the flag once; the task clears it before it reads the
    buckets, so a write that lands during the recompute schedules another run.

    Runs after the writer's commit, in its request: it never raises. A broker that refuses
    the message costs one bounded attempt (CELERY_BROKER_CONNECTION_TIMEOUT, one retry),
    then publishing is skipped for a cool-down; the buckets stay dirty and beat's sweep
    processes them once the broker is back.
    """
    from apps.metrics.tasks import process_dirty_buckets

    if settings.CELERY_TASK_ALWAYS_EAGER:
        # In-process (no broker): the recompute runs here, after the commit. Should it fail
        # (the database gone mid-recompute), the write stands and its buckets stay dirty for
        # the next write's run; the request that wrote it is not turned into an error.
        try:
            process_dirty_buckets.delay()
        except Exception:
            log.exception("the in-process recompute failed; its buckets stay dirty")
        return
    if not BROKER.allow():
        return
    delay = settings.EXECDASH_RECOMPUTE_DELAY_SECONDS
    # The cache answers even when Redis is down (it says yes to `add` then).
    first = cache.add(SCHEDULE_KEY, "1", timeout=max(int(delay * 10), 30))
    if not first:
        return
    try:
        process_dirty_buckets.apply_async(countdown=delay)
    except Exception as exc:
        BROKER.failed(exc)
        cache.delete(SCHEDULE_KEY)
    else:
        BROKER.succeeded()


def windows_prewarm(*, team_ids: Sequence[int], today: dt.date | None = None) -> int:
    """Compute the preset windows (4, 13, 26 and 52 weeks up to today) of these teams, and of
    the organization, so the next page view reads them from the cache.

    The organization's windows read every team's rows (a second or more for a year of a
    large organization), so they are refreshed at most once per
    EXECDASH_ORG_PREWARM_SECONDS (default 300); in between, a request computes them. Off when
    EXECDASH_PREWARM_WINDOWS is False. Returns the number of windows computed.
    """
    if not settings.EXECDASH_PREWARM_WINDOWS:
        return 0
    from apps.metrics.selectors import (
        PRESET_WEEKS,
        preset_window,
        window_metrics,
        window_metrics_for_teams,
    )
    from apps.teams.models import Team

    teams = list(Team.objects.filter(id__in=list(team_ids)))
    interval = settings.EXECDASH_ORG_PREWARM_SECONDS
    # The cache answers even when Redis is down (it says yes to `add` then).
    with_org = interval <= 0 or cache.add(ORG_PREWARM_KEY, "1", timeout=interval)
    done = 0
    for weeks in PRESET_WEEKS:
        start, end = preset_window(weeks, today=today)
        if teams:
            done += len(window_metrics_for_teams(teams=teams, start=start, end=end))
        if with_org:
            window_metrics(team=None, start=start, end=end)
            done += 1
    return done
