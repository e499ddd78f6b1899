"""How fresh a team's numbers are: when they were last computed, and whether a recompute
is still pending (a dirty bucket the worker has not processed yet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Max

from apps.metrics.models import DirtyBucket, WeeklyRollup
from apps.teams.models import Team


@dataclass(frozen=True)
class Freshness:
    computed_at: dt.datetime | None
    pending: bool


def team_freshness(*, team: Team) -> Freshness:
    computed_at = WeeklyRollup.objects.filter(scope=team.id).aggregate(last=Max("computed_at"))
    return Freshness(
        computed_at=computed_at["last"],
        pending=DirtyBucket.objects.filter(team_id=team.id).exists(),
    )
