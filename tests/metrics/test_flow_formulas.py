"""Flow (METRICS.md, "Flow"): Little's law work in progress and Kingman's curve, against
values worked out by hand."""

from __future__ import annotations

import pytest

from apps.metrics.formulas import (
    KINGMAN_RHOS,
    coefficient_of_variation,
    gaps_between,
    kingman_curve,
    kingman_inputs,
    kingman_wait,
    littles_law_wip,
)

DAY = 86_400.0
HOUR = 3_600.0


@pytest.mark.parametrize(
    ("deployments", "lead_mean", "expected"),
    [
        (14, 2 * DAY, 4.0),  # 2 a day, 2 days each: 4 under way
        (3, 12 * HOUR, 3 / 7 * 0.5),  # 0.2142857…
        (7, 1 * DAY, 1.0),
        (0, 1 * DAY, 0.0),  # a mean lead time with no deployment cannot happen, but is 0
        (5, None, None),  # no release with a lead time: unknown, not 0
        (0, None, None),
    ],
)
def test_littles_law_wip_per_week(deployments, lead_mean, expected):
    wip = littles_law_wip(deployments=deployments, lead_mean_seconds=lead_mean)
    assert wip == (None if expected is None else pytest.approx(expected))


def test_coefficient_of_variation_is_population_std_over_mean():
    # mean 5, population standard deviation 2
    assert coefficient_of_variation([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(0.4)
    assert coefficient_of_variation([3, 3, 3]) == 0.0
    assert coefficient_of_variation([1]) is None
    assert coefficient_of_variation([]) is None
    assert coefficient_of_variation([0, 0]) is None


def test_gaps_between_sorts_first():
    assert gaps_between([10.0, 0.0, 4.0]) == [4.0, 6.0]
    assert gaps_between([5.0]) == []


@pytest.mark.parametrize(
    ("rho", "ca", "cs", "service", "expected"),
    [
        (0.5, 1, 1, 10, 10.0),  # 1 · 1 · 10
        (0.8, 1, 1, 10, 40.0),  # 4 · 1 · 10
        (0.95, 1, 1, 10, 190.0),  # 19 · 1 · 10
        (0.75, 0.5, 1.5, 8, 30.0),  # 3 · (0.25 + 2.25) / 2 · 8
        (0.6, 0, 0, 10, 0.0),  # no variability, no queue
    ],
)
def test_kingman_wait_by_hand(rho, ca, cs, service, expected):
    assert kingman_wait(rho=rho, ca=ca, cs=cs, service=service) == pytest.approx(expected)


def test_kingman_refuses_full_utilization():
    with pytest.raises(ValueError, match="utilization"):
        kingman_wait(rho=1.0, ca=1, cs=1, service=1)


def test_kingman_rhos_run_from_half_to_95_percent():
    assert KINGMAN_RHOS == (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


def test_kingman_curve_from_measured_variability():
    # 20 gaps: ten of 1 h and ten of 3 h: mean 2 h, std 1 h, c = 0.5.
    gaps = [1 * HOUR] * 10 + [3 * HOUR] * 10
    # 20 lead times: ten of 2 h and ten of 6 h: mean 4 h, std 2 h, c = 0.5.
    leads = [2 * HOUR] * 10 + [6 * HOUR] * 10
    inputs = kingman_inputs(gaps=gaps, leads=leads)
    assert (inputs.ca, inputs.cs) == (pytest.approx(0.5), pytest.approx(0.5))
    assert inputs.ca_measured
    assert inputs.cs_measured
    assert inputs.service == pytest.approx(4 * HOUR)
    curve = dict(kingman_curve(inputs))
    assert list(curve) == list(KINGMAN_RHOS)
    # W = rho/(1-rho) · (0.25 + 0.25)/2 · 4 h = rho/(1-rho) · 1 h
    assert curve[0.5] == pytest.approx(1 * HOUR)
    assert curve[0.8] == pytest.approx(4 * HOUR)
    assert curve[0.9] == pytest.approx(9 * HOUR)
    assert curve[0.95] == pytest.approx(19 * HOUR)


def test_fewer_than_20_samples_take_c_as_one():
    gaps = [1 * HOUR] * 10 + [3 * HOUR] * 9  # 19 gaps: not enough
    leads = [2 * HOUR] * 10 + [6 * HOUR] * 10  # 20: enough, c = 0.5
    inputs = kingman_inputs(gaps=gaps, leads=leads)
    assert inputs.ca == 1.0
    assert not inputs.ca_measured
    assert inputs.gaps_n == 19
    assert inputs.cs == pytest.approx(0.5)
    assert inputs.cs_measured
    # W at 80 % = 4 · (1 + 0.25) / 2 · 4 h = 10 h
    assert dict(kingman_curve(inputs))[0.8] == pytest.approx(10 * HOUR)


def test_no_lead_times_no_curve():
    inputs = kingman_inputs(gaps=[HOUR] * 30, leads=[])
    assert inputs.service is None
    assert not inputs.cs_measured
    assert kingman_curve(inputs) == []
