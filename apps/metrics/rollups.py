"""Recomputing weekly rollups from the dirty-bucket outbox.

Idempotent: every rollup row is an upsert under (scope, week_start), so running twice, two
workers at once, or a rerun after a crash half-way all leave the same rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db.models import Count
from django.utils import timezone

from apps.core.timezones import org_tz, window_bounds
from apps.incidents.models import Incident
from apps.metrics.models import DirtyBucket, RecomputeRun, WeeklyRollup
from apps.releases.models import Release

log = logging.getLogger(__name__)


def rollups_recompute(*, team_id: int, weeks: list[dt.date]) -> int:
    """Recompute the rollups of one team for the given ISO weeks. Returns rows written."""
    tz = org_tz()
    now = timezone.now()
    rows = []
    for week in weeks:
        start, end = window_bounds(week, week + dt.timedelta(days=7), tz)
        deployments = Release.objects.filter(
            team_id=team_id, deployed_at__gte=start, deployed_at__lt=end
        ).aggregate(n=Count("id"))["n"]
        incidents = Incident.objects.filter(
            team_id=team_id, started_at__gte=start, started_at__lt=end
        ).aggregate(n=Count("id"))["n"]
        rows.append(
            WeeklyRollup(
                scope=team_id, team_id=team_id, week_start=week,
                deployments=deployments, incidents=incidents, computed_at=now,
            )
        )
    WeeklyRollup.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["scope", "week_start"],
        update_fields=["deployments", "incidents", "computed_at"],
    )
    return len(rows)


def rollups_process_dirty(*, trigger: str = "worker") -> int:
    """Recompute every dirty bucket, then clear those nobody re-marked meanwhile."""
    dirty = list(DirtyBucket.objects.values_list("id", "team_id", "week_start", "marked_at"))
    if not dirty:
        return 0
    run = RecomputeRun.objects.create(trigger=trigger, started_at=timezone.now())
    by_team: dict[int, list[dt.date]] = defaultdict(list)
    for _id, team_id, week, _marked in dirty:
        by_team[team_id].append(week)
    for team_id, weeks in by_team.items():
        rollups_recompute(team_id=team_id, weeks=sorted(weeks))
    # Clear only what we saw: a bucket re-marked during the recompute has a newer
    # marked_at and stays dirty for the next run.
    for bucket_id, _team, _week, marked_at in dirty:
        DirtyBucket.objects.filter(id=bucket_id, marked_at=marked_at).delete()
    run.buckets = len(dirty)
    run.finished_at = timezone.now()
    run.save(update_fields=["buckets", "finished_at"])
    log.info("recomputed %d dirty buckets", len(dirty))
    return len(dirty)
