"""The stored answers of the outcome-vs-output page: each outcome's progress and movement
(`OutcomeStatus`) and each team's "busy, not moving" flag (`TeamOutcomeFlag`).

They are recomputed where the rollups they read are: by the worker after it recomputes a
team (`apps.metrics.rollups`), for every team by the nightly recheck and full recomputes
(the windows move with the days), and, for the outcome itself, by every write to it. A
few grouped queries whatever the number of teams; upserts, so running twice gives the same
rows. Pages read the rows in one query each.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.utils import timezone

from apps.core.timezones import org_tz
from apps.metrics.models import WeeklyRollup
from apps.outcomes.models import Outcome, OutcomeMeasurement, OutcomeStatus, TeamOutcomeFlag
from apps.outcomes.rules import Output, busy_not_moving, movement_of, windows_for
from apps.teams.models import Team

STATUS_FIELDS = [
    "latest_on",
    "latest_value",
    "progress",
    "progress_before",
    "moved",
    "as_of",
    "computed_at",
]
FLAG_FIELDS = [
    "busy_not_moving",
    "releases_recent",
    "releases_before",
    "changes_recent",
    "changes_before",
    "outcomes",
    "outcomes_moved",
    "as_of",
    "computed_at",
]


def _today() -> dt.date:
    return timezone.localdate(timezone=org_tz())


def _statuses(outcomes: Sequence[Outcome], today: dt.date, now: dt.datetime) -> list[OutcomeStatus]:
    since = windows_for(today).recent_start
    rows: dict[int, list[tuple[dt.date, float]]] = defaultdict(list)
    for outcome_id, day, value in OutcomeMeasurement.objects.filter(
        outcome__in=[o.pk for o in outcomes]
    ).values_list("outcome_id", "measured_on", "value"):
        rows[outcome_id].append((day, value))
    out = []
    for outcome in outcomes:
        movement = movement_of(
            rows.get(outcome.pk, ()),
            baseline=outcome.baseline,
            target=outcome.target,
            since=since,
            today=today,
        )
        out.append(
            OutcomeStatus(
                outcome=outcome,
                latest_on=movement.latest_on,
                latest_value=movement.latest_value,
                progress=movement.progress,
                progress_before=movement.progress_before,
                moved=movement.moved,
                as_of=today,
                computed_at=now,
            )
        )
    return out


def _save_statuses(statuses: list[OutcomeStatus]) -> None:
    OutcomeStatus.objects.bulk_create(
        statuses, update_conflicts=True, unique_fields=["outcome"], update_fields=STATUS_FIELDS
    )


def outcome_status_refresh(*, outcome: Outcome, today: dt.date | None = None) -> OutcomeStatus:
    """Recompute one outcome's stored progress (two queries), in the caller's transaction."""
    status = _statuses([outcome], today or _today(), timezone.now())[0]
    _save_statuses([status])
    return status


def _outputs(team_ids: Iterable[int], today: dt.date) -> dict[int, tuple[Output, Output]]:
    """Each team's output over the last 4 full weeks and the 4 before (one query)."""
    w = windows_for(today)
    sums: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for scope, week, deployments, changes in WeeklyRollup.objects.filter(
        scope__in=list(team_ids), week_start__gte=w.before_start, week_start__lt=w.recent_end
    ).values_list("scope", "week_start", "deployments", "change_count"):
        offset = 0 if week >= w.recent_start else 2
        sums[scope][offset] += deployments
        sums[scope][offset + 1] += changes
    return {scope: (Output(s[0], s[1]), Output(s[2], s[3])) for scope, s in sums.items()}


def outcome_answers_refresh(
    *, team_ids: Sequence[int] | None = None, today: dt.date | None = None
) -> int:
    """Recompute the stored answers of these teams (their outcomes and flags), or of every
    team and every organization-wide outcome when `team_ids` is None. Returns the number of
    teams flagged "busy, not moving"."""
    day = today or _today()
    now = timezone.now()
    if team_ids is None:
        ids = list(Team.objects.values_list("id", flat=True))
        outcomes = list(Outcome.objects.all())
    else:
        ids = sorted(set(team_ids))
        outcomes = list(Outcome.objects.filter(team_id__in=ids))
    if not ids and not outcomes:
        return 0
    statuses = _statuses(outcomes, day, now)
    _save_statuses(statuses)
    moved: dict[int, list[bool]] = defaultdict(list)
    for status in statuses:
        if status.outcome.team_id is not None:
            moved[status.outcome.team_id].append(status.moved)
    outputs = _outputs(ids, day)
    flags = []
    for team_id in ids:
        recent, before = outputs.get(team_id, (Output(), Output()))
        team_moved = moved.get(team_id, [])
        flags.append(
            TeamOutcomeFlag(
                team_id=team_id,
                busy_not_moving=busy_not_moving(recent=recent, before=before, moved=team_moved),
                releases_recent=recent.releases,
                releases_before=before.releases,
                changes_recent=recent.changes,
                changes_before=before.changes,
                outcomes=len(team_moved),
                outcomes_moved=sum(team_moved),
                as_of=day,
                computed_at=now,
            )
        )
    TeamOutcomeFlag.objects.bulk_create(
        flags, update_conflicts=True, unique_fields=["team"], update_fields=FLAG_FIELDS
    )
    return sum(1 for flag in flags if flag.busy_not_moving)
