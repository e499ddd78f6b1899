"""The rules of "Outcome vs output" (METRICS.md), with hand-checked numbers."""

from __future__ import annotations

import datetime as dt

from apps.outcomes.rules import (
    Output,
    busy_not_moving,
    movement_of,
    output_held,
    progress_of,
    windows_for,
)

D = dt.date
TODAY = D(2026, 3, 11)  # a Wednesday: the current week began on Monday 9 March


def test_progress_up_down_and_past_the_target():
    # Up is better: baseline 10, target 20.
    assert progress_of(10, baseline=10, target=20) == 0.0
    assert progress_of(17.5, baseline=10, target=20) == 0.75
    assert progress_of(25, baseline=10, target=20) == 1.5  # past the target
    assert progress_of(8, baseline=10, target=20) == -0.2  # the wrong way
    # Down is better: baseline 18 min, target 10 min.
    assert progress_of(14, baseline=18, target=10) == 0.5
    assert progress_of(10, baseline=18, target=10) == 1.0
    assert progress_of(6, baseline=18, target=10) == 1.5  # past the target, still better
    assert progress_of(20, baseline=18, target=10) == -0.25


def test_windows_are_the_last_four_full_weeks_and_the_four_before():
    w = windows_for(TODAY)
    assert w.recent_end == D(2026, 3, 9)
    assert w.recent_start == D(2026, 2, 9)
    assert w.before_start == D(2026, 1, 12)


def test_an_outcome_moved_when_its_progress_rose_over_the_last_four_weeks():
    since = windows_for(TODAY).recent_start  # 9 Feb
    rows = [(D(2026, 2, 2), 12.0), (D(2026, 3, 2), 13.0)]
    m = movement_of(rows, baseline=10, target=20, since=since, today=TODAY)
    assert (m.progress_before, m.progress, m.moved) == (0.2, 0.3, True)
    assert (m.latest_on, m.latest_value) == (D(2026, 3, 2), 13.0)


def test_down_is_better_moves_when_the_value_falls():
    since = windows_for(TODAY).recent_start
    rows = [(D(2026, 1, 26), 16.0), (D(2026, 3, 9), 15.0)]  # minutes of CI: lower is better
    m = movement_of(rows, baseline=18, target=10, since=since, today=TODAY)
    assert (m.progress_before, m.progress, m.moved) == (0.25, 0.375, True)
    worse = movement_of(
        [(D(2026, 1, 26), 16.0), (D(2026, 3, 9), 17.0)],
        baseline=18,
        target=10,
        since=since,
        today=TODAY,
    )
    assert (worse.progress, worse.moved) == (0.125, False)


def test_flat_or_unmeasured_outcomes_did_not_move():
    since = windows_for(TODAY).recent_start
    flat = movement_of(
        [(D(2026, 2, 2), 12.0), (D(2026, 3, 2), 12.0)],
        baseline=10,
        target=20,
        since=since,
        today=TODAY,
    )
    assert flat.moved is False
    stale = movement_of([(D(2026, 1, 5), 15.0)], baseline=10, target=20, since=since, today=TODAY)
    assert (stale.progress, stale.moved) == (0.5, False)  # nothing measured lately
    none = movement_of([], baseline=10, target=20, since=since, today=TODAY)
    assert (none.progress, none.moved) == (None, False)
    # A future row is not read; a first measurement above the baseline is progress.
    first = movement_of(
        [(D(2026, 3, 2), 11.0), (D(2026, 3, 20), 19.0)],
        baseline=10,
        target=20,
        since=since,
        today=TODAY,
    )
    assert (first.progress_before, first.progress, first.moved) == (0.0, 0.1, True)


def test_output_held_needs_something_shipped_and_no_fall():
    assert output_held(Output(10, 40), Output(10, 40))
    assert output_held(Output(12, 50), Output(10, 40))
    assert not output_held(Output(9, 50), Output(10, 40))  # fewer releases
    assert not output_held(Output(10, 39), Output(10, 40))  # fewer changes
    assert not output_held(Output(0, 0), Output(0, 0))  # shipped nothing: not busy


def test_busy_not_moving():
    busy, before = Output(12, 60), Output(10, 50)
    assert busy_not_moving(recent=busy, before=before, moved=[False, False])
    assert not busy_not_moving(recent=busy, before=before, moved=[False, True])
    assert not busy_not_moving(recent=busy, before=before, moved=[])  # no outcomes
    assert not busy_not_moving(recent=Output(8, 60), before=before, moved=[False])
