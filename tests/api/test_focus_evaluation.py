"""Did the focus work? The comparisons checked by hand, then one period end to end."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.core.timezones import local_midnight
from apps.focus.evaluation import evaluation_windows, focus_evaluate
from apps.focus.models import FocusKind
from apps.focus.statistics import (
    IMPROVED,
    NO_CLEAR_CHANGE,
    NOT_ENOUGH_DATA,
    WORSE,
    MetricChange,
    compare_medians,
    compare_proportions,
    compare_values,
    compare_weekly_rates,
    overall_verdict,
)
from tests.factories import FocusPeriodFactory, IncidentFactory, ReleaseFactory, focus_kind


def test_proportions_newcombe_interval_by_hand() -> None:
    # Wilson 95 %: 1/10 → (0.01787, 0.40415); 8/10 → (0.49016, 0.94332).
    # Newcombe: 0.7 - √((0.8-0.49016)² + (0.40415-0.1)²) = 0.26580,
    #           0.7 + √((0.94332-0.8)² + (0.1-0.01787)²) = 0.86520.
    change = compare_proportions("change_failure_rate", 1, 10, 8, 10)
    assert (change.before, change.during, change.change) == (0.1, 0.8, 0.7)
    assert change.interval == pytest.approx((0.2658, 0.8652), abs=2e-4)
    assert change.verdict == WORSE  # a higher failure rate


def test_proportions_improved_and_unclear() -> None:
    assert compare_proportions("cfr", 8, 10, 1, 10).verdict == IMPROVED
    assert compare_proportions("cfr", 2, 10, 3, 10).verdict == NO_CLEAR_CHANGE


def test_proportions_need_five_releases_each() -> None:
    change = compare_proportions("cfr", 1, 4, 3, 10)
    assert change.verdict == NOT_ENOUGH_DATA
    assert (change.before, change.during, change.n_before) == (0.25, 0.3, 4)
    assert change.interval is None
    assert compare_proportions("cfr", 0, 0, 0, 0).before is None


def test_weekly_rates_by_hand() -> None:
    # 7 and 21 deployments over 14 days each: 3.5 and 10.5 a week, +7;
    # ± 1.959964 * √28 * 0.5 = ± 1.959964 * 5.291503 * 0.5 = ± 5.185577.
    change = compare_weekly_rates("deployment_frequency", 7, 21, 14)
    assert (change.before, change.during, change.change) == (3.5, 10.5, 7.0)
    assert change.interval == pytest.approx((1.814423, 12.185577), abs=2e-6)
    assert change.verdict == IMPROVED
    assert compare_weekly_rates("deployment_frequency", 10, 11, 14).verdict == NO_CLEAR_CHANGE
    assert compare_weekly_rates("deployment_frequency", 2, 2, 14).verdict == NOT_ENOUGH_DATA


def test_medians_separated_samples_improve() -> None:
    change = compare_medians(
        "time_to_restore", [10, 20, 30, 40, 50], [1, 2, 3, 4, 5], better="lower"
    )
    assert (change.before, change.during, change.change) == (30.0, 3.0, -27.0)
    low, high = change.interval
    assert low <= high < 0  # every resampled median of "during" is below every "before" one
    assert change.verdict == IMPROVED
    assert (
        compare_medians("lead_time", [1, 2, 3, 4, 5], [10, 20, 30, 40, 50], better="lower").verdict
        == WORSE
    )


def test_medians_same_samples_no_clear_change_and_repeatable() -> None:
    values = [float(v) for v in range(1, 21)]
    first = compare_medians("time_to_restore", values, values, better="lower", seed=7)
    again = compare_medians("time_to_restore", values, values, better="lower", seed=7)
    assert first.verdict == NO_CLEAR_CHANGE
    assert first.interval == again.interval
    assert first.interval[0] < 0 < first.interval[1]


def test_medians_even_n_and_too_few() -> None:
    change = compare_medians("time_to_restore", [1, 2, 3, 4], [5, 6], better="lower")
    assert (change.before, change.during) == (2.5, 5.5)
    assert change.verdict == NOT_ENOUGH_DATA
    assert compare_medians("t", [], [], better="lower").before is None


def test_values_compare_without_interval() -> None:
    assert compare_values("bus_factor", 1, 2, 10, 10).verdict == IMPROVED
    assert compare_values("bus_factor", 2, 1, 10, 10).verdict == WORSE
    assert compare_values("bus_factor", 2, 2, 10, 10).verdict == NO_CLEAR_CHANGE
    assert compare_values("bus_factor", 1, 2, 3, 10).verdict == NOT_ENOUGH_DATA
    assert compare_values("bus_factor", None, 2, 10, 10).verdict == NOT_ENOUGH_DATA
    assert compare_values("bus_factor", 1, 2, 10, 10).interval is None


def _change(verdict: str) -> MetricChange:
    return MetricChange("m", "lower", "x", None, None, 0, 0, verdict=verdict)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([], NOT_ENOUGH_DATA),
        ([NOT_ENOUGH_DATA, NOT_ENOUGH_DATA], NOT_ENOUGH_DATA),
        ([IMPROVED, NOT_ENOUGH_DATA], IMPROVED),
        ([IMPROVED, NO_CLEAR_CHANGE], IMPROVED),
        ([WORSE, NO_CLEAR_CHANGE], WORSE),
        ([IMPROVED, WORSE], NO_CLEAR_CHANGE),
        ([NO_CLEAR_CHANGE, NOT_ENOUGH_DATA], NO_CLEAR_CHANGE),
    ],
)
def test_overall_verdict(verdicts, expected) -> None:
    assert overall_verdict([_change(v) for v in verdicts]) == expected


@pytest.mark.django_db
def test_windows_are_the_period_and_the_same_length_before() -> None:
    period = FocusPeriodFactory(starts_on=dt.date(2025, 3, 1), ends_on=dt.date(2025, 3, 14))
    before, during = evaluation_windows(period, today=dt.date(2025, 6, 1))
    assert during == (dt.date(2025, 3, 1), dt.date(2025, 3, 15))
    assert before == (dt.date(2025, 2, 15), dt.date(2025, 3, 1))
    # A current period is judged up to today.
    period.ends_on = None
    before, during = evaluation_windows(period, today=dt.date(2025, 3, 20))
    assert during == (dt.date(2025, 3, 1), dt.date(2025, 3, 21))
    assert before == (dt.date(2025, 2, 9), dt.date(2025, 3, 1))
    assert evaluation_windows(period, today=dt.date(2025, 2, 1)) is None


@pytest.mark.django_db
def test_short_future_and_custom_periods_are_not_enough_data() -> None:
    today = dt.date(2025, 6, 1)
    short = FocusPeriodFactory(starts_on=dt.date(2025, 5, 25), ends_on=None)
    evaluation = focus_evaluate(short, today=today)
    assert evaluation.verdict == NOT_ENOUGH_DATA
    assert "14 days" in evaluation.note
    future = FocusPeriodFactory(starts_on=dt.date(2025, 7, 1))
    assert "not started" in focus_evaluate(future, today=today).note
    custom = FocusKind.objects.create(slug="security", name="Security")
    period = FocusPeriodFactory(
        kind=custom, starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2025, 2, 28)
    )
    evaluation = focus_evaluate(period, today=today)
    assert evaluation.verdict == NOT_ENOUGH_DATA
    assert "Security" in evaluation.note


@pytest.mark.django_db
def test_a_stability_focus_that_worked() -> None:
    period = FocusPeriodFactory(
        kind=focus_kind(FocusKind.STABILITY),
        starts_on=dt.date(2025, 3, 3),
        ends_on=dt.date(2025, 3, 30),  # 28 days
    )
    team = period.team

    def at(day: dt.date, hours: float = 10) -> dt.datetime:
        return local_midnight(day) + dt.timedelta(hours=hours)

    before_days = [dt.date(2025, 2, 3) + dt.timedelta(days=2 * i) for i in range(12)]
    during_days = [dt.date(2025, 3, 3) + dt.timedelta(days=2 * i) for i in range(12)]
    for i, day in enumerate(before_days):
        release = ReleaseFactory(team=team, deployed_at=at(day, 9))
        if i % 2 == 0:  # half the releases cause an incident restored in ~8 hours
            IncidentFactory(
                team=team,
                started_at=at(day),
                caused_by=release,
                cause="release",
                resolved_at=at(day) + dt.timedelta(hours=8, minutes=i),
            )
    for i, day in enumerate(during_days):
        release = ReleaseFactory(team=team, deployed_at=at(day, 9))
        if i % 6 == 0:  # fewer failures, restored in ~30 minutes
            IncidentFactory(
                team=team,
                started_at=at(day),
                caused_by=release,
                cause="release",
                resolved_at=at(day) + dt.timedelta(minutes=30 + i),
            )
        IncidentFactory(
            team=team,
            started_at=at(day, 12),
            cause="not_deploy",
            resolved_at=at(day, 12) + dt.timedelta(minutes=20 + i),
        )
    evaluation = focus_evaluate(period, today=dt.date(2025, 6, 1))
    by_metric = {m.metric: m for m in evaluation.metrics}
    assert set(by_metric) == {"time_to_restore", "change_failure_rate"}
    ttr = by_metric["time_to_restore"]
    assert (ttr.n_before, ttr.n_during) == (6, 14)
    # 8 h + 0, 2, 4, 6, 8, 10 min: an even n, the median is 8 h 5 min.
    assert ttr.before == 8 * 3600 + 5 * 60
    assert ttr.verdict == IMPROVED
    cfr = by_metric["change_failure_rate"]
    assert (cfr.before, cfr.during) == (0.5, pytest.approx(2 / 12, abs=1e-6))
    assert (cfr.n_before, cfr.n_during) == (12, 12)
    assert evaluation.verdict == IMPROVED
    data = evaluation.as_dict()
    assert data["before"] == {"start": "2025-02-03", "end": "2025-03-03"}
    assert data["during"] == {"start": "2025-03-03", "end": "2025-03-31"}
