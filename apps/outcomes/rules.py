"""The rules of METRICS.md "Outcome vs output", as pure functions (no ORM, no I/O): the
worker and the tests call them with plain rows.

- Progress of a measurement: `(value - baseline) / (target - baseline)`, 0 at the baseline and
  1.0 on the target whichever the direction (`apps.metrics.formulas.outcome_progress`).
- An outcome *moved* over the last 4 weeks when its progress at the latest measurement (up to
  today) is higher than at the latest one before those 4 weeks began (the baseline, progress
  0, when there was none). No measurement in the last 4 weeks: it did not move, as far as
  anyone knows.
- A team is *busy, not moving* when it has outcomes, none of them moved, and its output over
  the last 4 full weeks is at least that of the 4 weeks before: at least one release, no
  fewer releases and no fewer changes (sum of `change_count`). A team that shipped nothing
  is not busy; a team without outcomes has nothing to move yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from apps.metrics.formulas import outcome_progress

WINDOW_WEEKS = 4


@dataclass(frozen=True)
class Windows:
    """The two windows the rule compares, as `[start, end)` local dates: output counts whole
    ISO weeks (the current week, still running, is left out)."""

    today: dt.date
    recent_start: dt.date
    recent_end: dt.date
    before_start: dt.date


def windows_for(today: dt.date) -> Windows:
    monday = today - dt.timedelta(days=today.weekday())
    span = dt.timedelta(weeks=WINDOW_WEEKS)
    return Windows(
        today=today,
        recent_start=monday - span,
        recent_end=monday,
        before_start=monday - 2 * span,
    )


@dataclass(frozen=True)
class Output:
    """A team's output over a window: releases deployed and the sum of their changes."""

    releases: int = 0
    changes: int = 0


@dataclass(frozen=True)
class Movement:
    """Where an outcome stands: its latest measurement and progress, the progress when the
    last 4 weeks began, and whether it moved toward the target since."""

    latest_on: dt.date | None
    latest_value: float | None
    progress: float | None
    progress_before: float | None
    moved: bool


def progress_of(value: float, *, baseline: float, target: float) -> float | None:
    return outcome_progress(value=value, baseline=baseline, target=target)


def movement_of(
    measurements: Iterable[tuple[dt.date, float]],
    *,
    baseline: float,
    target: float,
    since: dt.date,
    today: dt.date,
) -> Movement:
    """The outcome's movement from `since` to `today` (both local dates, `today` included),
    from its `(measured_on, value)` rows in any order."""
    known = sorted((day, value) for day, value in measurements if day <= today)
    if not known:
        return Movement(None, None, None, None, moved=False)
    latest_on, latest_value = known[-1]
    progress = progress_of(latest_value, baseline=baseline, target=target)
    earlier = [value for day, value in known if day < since]
    before = progress_of(earlier[-1], baseline=baseline, target=target) if earlier else 0.0
    moved = latest_on >= since and progress is not None and before is not None and progress > before
    return Movement(latest_on, latest_value, progress, before, moved=moved)


def output_held(recent: Output, before: Output) -> bool:
    """Output over the last 4 weeks at least that of the 4 weeks before (and not nothing)."""
    return (
        recent.releases > 0
        and recent.releases >= before.releases
        and recent.changes >= before.changes
    )


def busy_not_moving(*, recent: Output, before: Output, moved: Sequence[bool]) -> bool:
    """METRICS.md: output held or grew while none of the team's outcomes progressed."""
    return bool(moved) and not any(moved) and output_held(recent, before)
