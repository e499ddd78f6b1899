"""How fresh a team's numbers are: when they were last computed, and whether a recompute
is still pending (a dirty bucket the worker has not processed yet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from apps.metrics.selectors import last_computed_at, pending_recompute
from apps.teams.models import Team


@dataclass(frozen=True)
class Freshness:
    computed_at: dt.datetime | None
    pending: bool


def team_freshness(*, team: Team) -> Freshness:
    return Freshness(
        computed_at=last_computed_at(scopes=[team.id])[team.id],
        pending=pending_recompute(team_ids=[team.id]),
    )
