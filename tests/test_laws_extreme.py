"""P(T + PPS <= t) at extreme Weibull shapes, scales, times and PPS rates: accurate and silent.

``_prog_then_death_cdf`` gives the median OS its post-progression part. It used quad over
[0, t] on the Weibull density: for t far beyond the scale it missed the density's peak (0.63
for 1.0), near 0 with a shape below 1 it lost digits, and scipy printed IntegrationWarnings
before messages and for valid scenarios (a control median PFS of 0.5 months). Here it is checked
against a brute-force reference that shares nothing with it but the formula.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import SCENARIOS

from sim.outcomes.laws import SHAPE_RANGE, ArmLaw, _prog_then_death_cdf, arm_laws
from sim.inputs import load_scenario


def _law(shape: float, scale: float, rate: float) -> ArmLaw:
    return ArmLaw(shape=shape, scale_days=scale, p_death_first=0.1, pps_rate_per_day=rate, p_responder=0.5,
                  p_cr=0.1, t_ref_days=56.0)


def brute_force(shape: float, scale: float, t: float, rate: float, n: int = 200_001) -> float:
    """P(T + PPS <= t) = int_0^t F(s) rate exp(-rate (t - s)) ds (by parts: F, not the density, so no
    singularity), by the trapezoid rule on a dense grid: even, geometric towards 0, towards t (where
    the exponential bends when the rate is high) and towards the scale. Accurate to about 1e-8."""
    grids = [np.linspace(0.0, t, n), t * np.geomspace(1e-16, 1.0, n // 2), t - t * np.geomspace(1e-16, 1.0, n // 2)]
    if scale < t:
        grids.append(scale * np.geomspace(1e-16, 1.0, n // 4))
    s = np.unique(np.clip(np.concatenate(grids), 0.0, t))
    cdf = -np.expm1(-((s / scale) ** shape))
    return float(np.trapezoid(cdf * rate * np.exp(-rate * (t - s)), s))


EXTREMES = [  # shape, scale (days), t (days), PPS rate (per day)
    (0.1086, 444.54, 228.3, 0.008),  # expected.yaml with a control median PFS of 0.5 months (warned)
    (0.1, 5000.0, 1e7, 1e-9),  # flattest shape, t 2000 scales out, PPS of millions of years
    (0.1, 1.0, 1e-6, 10.0),  # t near 0 with a shape below 1 (was 2.5e-4 off)
    (0.19, 1.0, 900.0, 0.01),
    (20.0, 100.0, 50.0, 10.0),  # steepest shape, t below the scale
    (20.0, 100.0, 100.5, 10.0),  # ... just past it, PPS of hours
    (20.0, 100.0, 1e5, 5.0),  # ... far past it (was 0.632 instead of 1.0)
    (12.16, 859.1, 5.006e5, 1.17e-7),  # (was 0.036 instead of 0.057)
    (3.0, 60.0, 1e-3, 1e-9),  # a value of 1e-27
]


@pytest.mark.parametrize("shape,scale,t,rate", EXTREMES)
def test_matches_a_brute_force_reference_without_warnings(shape, scale, t, rate):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = _prog_then_death_cdf(_law(shape, scale, rate), t, rate)
    assert value == pytest.approx(brute_force(shape, scale, t, rate), rel=1e-7, abs=1e-300)
    assert 0.0 <= value <= 1.0


@pytest.mark.parametrize("scale,t,rate", [(30.0, 100.0, 0.02), (30.0, 1e4, 3.0), (1e4, 1.0, 1e-9), (5.0, 7.0, 0.3)])
def test_exponential_pfs_has_a_closed_form(scale, t, rate):
    """Shape 1: T ~ Exp(a), PPS ~ Exp(r), P(T + PPS <= t) = 1 - (r e^(-a t) - a e^(-r t)) / (r - a)."""
    a = 1.0 / scale
    exact = 1.0 - (rate * math.exp(-a * t) - a * math.exp(-rate * t)) / (rate - a)
    assert _prog_then_death_cdf(_law(1.0, scale, rate), t, rate) == pytest.approx(exact, rel=1e-9)


def test_random_extremes_match_the_reference():
    rng = np.random.default_rng(20240901)
    for _ in range(25):
        shape = math.exp(rng.uniform(*np.log(SHAPE_RANGE)))
        scale = math.exp(rng.uniform(math.log(0.5), math.log(2e4)))
        rate = math.exp(rng.uniform(math.log(1e-9), math.log(10.0)))
        t = scale * math.exp(rng.uniform(math.log(1e-6), math.log(1e4)))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            value = _prog_then_death_cdf(_law(shape, scale, rate), t, rate)
        expected = brute_force(shape, scale, t, rate)
        assert value == pytest.approx(expected, rel=1e-7, abs=1e-12), (shape, scale, t, rate)


def test_valid_scenario_with_a_very_early_median_is_silent_and_exact():
    """Was: IntegrationWarnings printed for a valid scenario, and the median OS 1.4e-7 off."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scenario = load_scenario(SCENARIOS / "expected.yaml", ["effects.control.median_pfs_true_months=0.5"])
        laws, _ = arm_laws(scenario)
        implied = laws[0].implied()
    assert laws[0].shape < 0.11  # near the flattest shape allowed
    assert implied["median_pfs_true_months"] == pytest.approx(0.5, rel=1e-12)
    assert implied["median_os_months"] == pytest.approx(scenario.effects.control.median_os_months, rel=1e-9)
