"""The pure formulas of METRICS.md, against hand-computed numbers."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from apps.metrics.formulas import (
    DAY,
    DORA_LEVELS,
    HOUR,
    WEEK,
    Stats,
    bus_factor_of,
    change_failure_rate,
    deployment_frequency,
    level_for,
    levels_for,
    outcome_progress,
    percentile,
    rework_rate,
    round_duration,
)


def test_percentile_interpolates_linearly():
    values = [1.0, 2.0, 3.0, 4.0]
    assert percentile(values, 0.5) == 2.5  # even n: mean of the two middle values
    assert percentile(values, 0.9) == pytest.approx(3.7)
    assert percentile(values, 0.0) == 1.0
    assert percentile(values, 1.0) == 4.0
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([], 0.5) is None


@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0])
def test_percentile_matches_numpy_linear(q):
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 10, 101):
        values = sorted(rng.integers(0, 10**9, n).tolist())
        assert percentile(values, q) == pytest.approx(
            float(np.percentile(values, q * 100, method="linear")), rel=1e-12
        )


def test_percentile_rejects_q_outside_0_1():
    with pytest.raises(ValueError, match="between 0 and 1"):
        percentile([1.0], 1.5)


def test_stats_even_n_median_mean_p90():
    stats = Stats.of([3600, 7200, 86400, 172800])
    assert stats == Stats(median=46800.0, mean=67500.0, p90=146880.0, n=4)


def test_stats_of_nothing_is_null_not_zero():
    assert Stats.of([]) == Stats(None, None, None, 0)
    assert Stats.of_micros([]).as_dict() == {"median": None, "mean": None, "p90": None, "n": 0}


def test_stats_round_to_the_millisecond():
    stats = Stats.of_micros([1, 2, 1_000_500])  # microseconds
    assert stats.median == 0.0
    assert stats.mean == 0.334  # 1000503 / 3 µs = 0.333501 s
    assert stats.p90 == 0.8  # 2 + 0.8 * 1000498 µs


def test_round_duration_is_half_even_on_the_exact_value():
    assert round_duration(Decimal("0.0005")) == 0.0
    assert round_duration(Decimal("0.0015")) == 0.002
    assert round_duration(0.0005) == 0.001  # the double 0.0005 is a hair above the half
    assert round_duration(None) is None


def test_change_failure_rate_and_rework_rate():
    assert change_failure_rate(3, 6) == 0.5
    assert change_failure_rate(1, 3) == 0.333333
    assert change_failure_rate(0, 0) is None
    assert rework_rate(1, 6) == 0.166667
    assert rework_rate(0, 0) is None


def test_deployment_frequency_is_per_week_of_the_window():
    assert deployment_frequency(6, 14) == 3.0
    assert deployment_frequency(10, 90) == 0.777778
    assert deployment_frequency(0, 7) == 0.0  # nothing deployed: a rate of zero
    assert deployment_frequency(3, 0) is None


def test_bus_factor_smallest_group_doing_half_the_work():
    assert bus_factor_of({"ann": 4, "bob": 1}) == 1
    assert bus_factor_of({"ann": 2, "bob": 2, "cat": 1}) == 2  # 2 of 5 is not half
    assert bus_factor_of({"ann": 1, "bob": 1}) == 1  # exactly half is enough
    assert bus_factor_of({"ann": 1, "bob": 1, "cat": 1, "dan": 1, "eve": 1}) == 3
    assert bus_factor_of({}) is None
    assert bus_factor_of({"ann": 0}) is None


def test_bus_factor_ties_are_broken_by_name():
    work = {"zoe": 3, "bob": 3, "ann": 3, "cat": 1}
    assert bus_factor_of(work) == 2


def test_outcome_progress_either_direction():
    assert outcome_progress(value=15, baseline=10, target=20) == 0.5
    assert outcome_progress(value=20, baseline=10, target=20) == 1.0
    assert outcome_progress(value=300, baseline=400, target=200) == 0.5  # down is better
    assert outcome_progress(value=450, baseline=400, target=200) == -0.25
    assert outcome_progress(value=5, baseline=5, target=5) is None


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("deployment_frequency", 7.0, "elite"),
        ("deployment_frequency", 6.99, "high"),
        ("deployment_frequency", 1.0, "high"),
        ("deployment_frequency", 12 / 52, "medium"),
        ("deployment_frequency", 0.2, "low"),
        ("lead_time", DAY - 1, "elite"),
        ("lead_time", DAY, "high"),
        ("lead_time", WEEK, "medium"),
        ("lead_time", 30 * DAY, "low"),
        ("change_failure_rate", 0.05, "elite"),
        ("change_failure_rate", 0.050001, "high"),
        ("change_failure_rate", 0.15, "medium"),
        ("change_failure_rate", 0.16, "low"),
        ("time_to_restore", HOUR - 0.001, "elite"),
        ("time_to_restore", HOUR, "high"),
        ("time_to_restore", DAY, "medium"),
        ("time_to_restore", WEEK, "low"),
    ],
)
def test_levels_2023_cut_offs(metric, value, expected):
    assert level_for(metric, value, 5, 2023) == expected


def test_level_needs_five_samples():
    assert level_for("change_failure_rate", 0.0, 4, 2023) == "not_enough_data"
    assert level_for("change_failure_rate", 0.0, 5, 2023) == "elite"
    assert level_for("time_to_restore", None, 10, 2023) == "not_enough_data"


def test_levels_of_other_benchmark_years():
    assert set(DORA_LEVELS) == {2021, 2023, 2024}
    assert level_for("change_failure_rate", 0.2, 9, 2021) == "high"
    assert level_for("change_failure_rate", 0.2, 9, 2023) == "low"
    assert level_for("change_failure_rate", 0.2, 9, 2024) == "medium"
    assert level_for("lead_time", 2 * HOUR, 9, 2021) == "high"
    assert level_for("lead_time", 2 * HOUR, 9, 2023) == "elite"
    with pytest.raises(ValueError, match="2022"):
        level_for("lead_time", 1.0, 9, 2022)
    with pytest.raises(ValueError, match="unknown metric"):
        level_for("happiness", 1.0, 9, 2023)


def test_levels_for_a_window_use_median_and_release_count():
    levels = levels_for(
        deployments=6,
        deployment_frequency_per_week=3.0,
        change_failure_rate=0.5,
        lead_time=Stats(46800.0, 67500.0, 146880.0, 4),
        time_to_restore=Stats(3600.0, 19080.5, 54000.0, 5),
        year=2023,
    )
    assert levels == {
        "deployment_frequency": "high",
        "lead_time": "not_enough_data",
        "change_failure_rate": "low",
        "time_to_restore": "high",
    }


def test_array_statistics_equal_the_list_ones_and_sum_exactly_past_64_bits():
    values = [2**62 + 3, 2**62, 2**62 + 1]  # their sum does not fit in 64 bits
    assert Stats.of_micros_array(np.array(values, dtype=np.int64)) == Stats.of_micros(values)
    assert Stats.of_micros_array(np.array([], dtype=np.int64)) == Stats.empty()
