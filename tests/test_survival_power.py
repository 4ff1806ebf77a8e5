"""The PFS log-rank of the whole simulator against a textbook survival design.

scenarios/textbook_survival.yaml switches off screening losses, delays and the scan schedule
(progression seen the day it happens): exponential PFS with medians 2.5 vs 4.5 months, 30 per
arm in permuted blocks of 4, one patient every 0.4 months for 24 months, log-rank one-sided 0.025
at month 48 of the study.

The independent calculation is a direct Monte Carlo of that design written here with numpy and
tested with lifelines.statistics.logrank_test: no SimPy, none of the simulator's endpoint or
log-rank code. Its Monte Carlo error adds to the simulator's. Schoenfeld's approximation is
checked more loosely, see test_schoenfeld.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

import sim
from conftest import SCENARIOS, metric

MEDIANS = {0: 2.5, 1: 4.5}      # months, control and rechallenge
ARRIVAL = np.arange(1, 61) / 2.5  # months since the study opened
FOLLOW_UP = 48.0 - ARRIVAL
Z = norm.isf(0.025)


def independent_power(replicates: int, seed: int) -> tuple[float, float]:
    from lifelines.statistics import logrank_test

    rng = np.random.default_rng(seed)
    rate = np.array([math.log(2) / MEDIANS[0], math.log(2) / MEDIANS[1]])
    rejections = 0
    for _ in range(replicates):
        arm = np.concatenate([rng.permutation([0, 0, 1, 1]) for _ in range(15)])
        t_true = rng.exponential(1 / rate[arm])
        event = t_true <= FOLLOW_UP
        time = np.minimum(t_true, FOLLOW_UP)
        a, c = arm == 1, arm == 0
        res = logrank_test(time[a], time[c], event[a], event[c])
        better = event[a].sum() / time[a].sum() < event[c].sum() / time[c].sum()  # one-sided direction
        rejections += bool(better and res.test_statistic >= Z * Z)
    p = rejections / replicates
    return p, math.sqrt(p * (1 - p) / replicates)


def expected_events() -> float:
    rate = [math.log(2) / MEDIANS[a] for a in (0, 1)]
    return float(sum((2 - math.exp(-rate[0] * f) - math.exp(-rate[1] * f)) / 2 for f in FOLLOW_UP))


def schoenfeld_power(events: float) -> float:
    return float(norm.cdf(math.sqrt(events / 4) * math.log(MEDIANS[1] / MEDIANS[0]) - Z))


def freedman_power(events: float) -> float:
    hr = MEDIANS[1] / MEDIANS[0]
    return float(norm.cdf(math.sqrt(events) * (hr - 1) / (hr + 1) - Z))


def _simulated(tmp_path, replicates: int):
    r = sim.run(SCENARIOS / "textbook_survival.yaml", tmp_path / "run", replicates=replicates, report=False, seed=4509635)
    return r.summary


def _check(tmp_path, replicates: int, independent_replicates: int):
    s = _simulated(tmp_path, replicates)
    power = metric(s, "power_pfs")
    events = metric(s, "events_pfs")
    # The design's expected number of events, exactly: every trial has the same entry times.
    assert abs(events["estimate"] - expected_events()) <= 3 * events["mcse"] + 1e-9
    ind, ind_se = independent_power(independent_replicates, seed=20260)
    combined = math.sqrt(power["mcse"] ** 2 + ind_se ** 2)
    assert abs(power["estimate"] - ind) <= 3 * combined, (power, ind, ind_se)
    # Schoenfeld (1981) and Freedman (1982) are both first-order (local-alternative) approximations;
    # at a hazard ratio of 1.8 they disagree by their O(log(HR)^2) terms, so their difference is the
    # scale of error either can have here. Schoenfeld must be within that, plus Monte Carlo error.
    d = expected_events()
    tolerance = abs(schoenfeld_power(d) - freedman_power(d)) + 3 * power["mcse"]
    assert abs(power["estimate"] - schoenfeld_power(d)) <= tolerance, (power, schoenfeld_power(d), tolerance)
    # Schoenfeld takes the information per event to be 1/4; the worse arm's risk set empties faster,
    # so the true information is smaller and Schoenfeld overstates the power.
    assert schoenfeld_power(d) > power["estimate"] - 3 * power["mcse"]


def test_textbook_log_rank_power(tmp_path):
    _check(tmp_path, replicates=3000, independent_replicates=300)  # lifelines: ~40 ms per test


@pytest.mark.slow
def test_textbook_log_rank_power_large(tmp_path):
    _check(tmp_path, replicates=20000, independent_replicates=10000)


def test_textbook_design_is_what_the_formulas_assume(tmp_path):
    s = _simulated(tmp_path, 200)
    for name, months in (("control", 2.5), ("rechallenge", 4.5)):
        assert s["configured"][f"median_pfs_true_{name}"] == pytest.approx(months)
        # Continuous assessment: the analysed PFS median is the true one.
        assert metric(s, f"median_pfs_observed_{name}")["estimate"] == metric(s, f"median_pfs_true_{name}")["estimate"]
    assert metric(s, "n_randomized")["estimate"] == 60 and metric(s, "accrual_months")["estimate"] == pytest.approx(24)
    assert s["configured"]["log_hr_pfs"] == pytest.approx(-math.log(4.5 / 2.5), abs=1e-6)
