"""Interval censoring by the scan schedule: the observed median PFS against its derivation.

With scans every 8 weeks (day 56, 112, 168, ...: 14-day cycles, scans after cycles 4, 8, 12, then
every 56 days), no delays, no treatment stops and no clinical detection, a progression is seen at
the first scan after it, while a death without progression (probability d) is seen the day it
happens. With S the true PFS survival and s_0 = 0 < s_1 < ... the scan days, the observed PFS
survival is, for t in [s_{k-1}, s_k),

    S_obs(t) = S(s_{k-1}) - d (S(s_{k-1}) - S(t)),       S_obs(s_k) = S(s_k).

Let k be the interval with S(s_{k-1}) > 1/2 >= S(s_k). The observed median is the t in it where
S(t) = S* = S(s_{k-1}) - (S(s_{k-1}) - 1/2) / d, if S* > S(s_k); otherwise the scan day s_k. So
the observed median is never below the true one, and exceeds it by up to one scan interval.
"""
from __future__ import annotations

import math

import pytest

import sim
from conftest import SCENARIOS, metric
from sim.outcomes.laws import arm_laws
from sim.units import DAYS_PER_MONTH

SCAN_INTERVAL = 56.0


def derived_observed_median(law, d: float) -> float:
    """Observed median PFS in days under scans every SCAN_INTERVAL days (see the module docstring)."""
    prev, s_prev = 0.0, 1.0
    while True:
        nxt = prev + SCAN_INTERVAL
        s_next = float(law.pfs_survival(nxt))
        if s_next <= 0.5:
            break
        prev, s_prev = nxt, s_next
    target = s_prev - (s_prev - 0.5) / d if d > 0 else -math.inf
    if target > s_next:
        return law.scale_days * (-math.log(target)) ** (1 / law.shape)  # S^-1(target)
    return nxt


@pytest.mark.parametrize("death_first", [0.1, 0.6])
def test_observed_median_pfs_follows_the_scan_schedule(tmp_path, death_first):
    overrides = [f"effects.{arm}.death_as_first_event_prob={death_first}" for arm in ("control", "rechallenge")]
    overrides += ["effects.control.median_os_months=3", "effects.rechallenge.median_os_months=6"]
    sc = sim.load_scenario(SCENARIOS / "plain_binary.yaml", overrides)
    laws, _ = arm_laws(sc)
    s = sim.run(sc, tmp_path / "run", replicates=1500, report=False, seed=8).summary
    for code, name in ((0, "control"), (1, "rechallenge")):
        true, observed = metric(s, f"median_pfs_true_{name}"), metric(s, f"median_pfs_observed_{name}")
        derived = derived_observed_median(laws[code], death_first) / DAYS_PER_MONTH
        configured = s["configured"][f"median_pfs_true_{name}"]
        # Direction and size: later than the true median, by what the derivation says.
        assert derived > configured
        assert abs(observed["estimate"] - derived) <= 3 * (observed["mcse"] or 0) + 1e-9, (name, observed, derived)
        assert abs(true["estimate"] - configured) <= 3 * true["mcse"]
        assert observed["estimate"] - true["estimate"] == pytest.approx(
            derived - configured, abs=3 * math.hypot(observed["mcse"] or 0, true["mcse"]) + 1e-9)


def test_the_derivation_lands_on_scan_days_or_inside_intervals():
    sc = sim.load_scenario(SCENARIOS / "plain_binary.yaml")
    laws, _ = arm_laws(sc)
    # 2.5-month rechallenge median (76 days): seen at the day-112 scan when deaths are rare ...
    assert derived_observed_median(laws[1], 0.1) == 112.0
    # ... and between scans when most PFS events are deaths, seen the day they happen.
    assert 76.1 < derived_observed_median(laws[1], 0.6) < 112.0
