"""The outcome model: configured figures hold exactly, contradictions are refused by name."""
import math

import numpy as np
import pytest

from conftest import SCENARIOS
from sim.outcomes.laws import IncoherentEffects, build_arm_law, weibull_from_dcr_and_median
from sim.scenario.schema import ArmEffect
from sim.units import DAYS_PER_MONTH


def effect(**kw):
    base = dict(dcr=0.7, orr=0.15, median_pfs_true_months=4.5, median_os_months=8.4)
    base.update(kw)
    return ArmEffect(**base)


@pytest.mark.parametrize("dcr,median", [(0.45, 1.6), (0.7, 4.5), (0.8, 6.4), (0.35, 1.21), (0.6, 2.5)])
def test_weibull_passes_through_both_figures(dcr, median):
    law = build_arm_law(effect(dcr=dcr, orr=0.05, median_pfs_true_months=median, median_os_months=12), 56.0, "x")
    assert float(law.pfs_survival(56.0)) == pytest.approx(dcr, abs=1e-12)
    assert float(law.pfs_survival(median * DAYS_PER_MONTH)) == pytest.approx(0.5, abs=1e-12)
    implied = law.implied()
    assert implied["orr"] == pytest.approx(0.05)
    assert implied["median_os_months"] == pytest.approx(12, rel=1e-8)


def test_median_os_from_post_progression_survival_by_simulation():
    law = build_arm_law(effect(), 56.0, "rechallenge")
    rng = np.random.default_rng(0)
    n = 200_000
    pfs = law.pfs_days(rng.random(n))
    death_first = rng.random(n) < law.p_death_first
    os_ = np.where(death_first, pfs, pfs + law.pps_days(rng.random(n)))
    se = 1 / (2 * 0.5 * math.sqrt(n))  # binomial se of the share below the median
    assert abs((os_ <= 8.4 * DAYS_PER_MONTH).mean() - 0.5) <= 3 * se


def test_median_pps_instead_of_median_os():
    law = build_arm_law(effect(median_os_months=None, median_pps_months=5.0), 56.0, "x")
    assert law.pps_rate_per_day == pytest.approx(math.log(2) / (5.0 * DAYS_PER_MONTH))
    assert law.implied()["median_os_months"] > 4.5


def test_parameters_md_control_arm_is_refused_naming_both_figures():
    with pytest.raises(IncoherentEffects) as e:
        weibull_from_dcr_and_median(0.45, 56.0, 2.5 * DAYS_PER_MONTH, "control")
    msg = str(e.value)
    assert "dcr 0.45" in msg and "median_pfs_true_months 2.5" in msg
    assert "below 1.84 months" in msg
    assert e.value.field == "effects.control.median_pfs_true_months"


def test_high_dcr_with_early_median_is_refused():
    with pytest.raises(IncoherentEffects, match="above 1.84 months"):
        weibull_from_dcr_and_median(0.7, 56.0, 1.5 * DAYS_PER_MONTH, "rechallenge")


def test_death_first_too_common_for_the_median_os_is_refused():
    with pytest.raises(IncoherentEffects, match="death_as_first_event_prob"):
        build_arm_law(effect(death_as_first_event_prob=0.95, median_os_months=30), 56.0, "control")


def test_pfs_hazard_ratio_is_proportional_hazards_against_control():
    control = build_arm_law(effect(dcr=0.45, orr=0.05, median_pfs_true_months=1.6, median_os_months=7.5), 56.0,
                            "control")
    hr = 0.55
    law = build_arm_law(ArmEffect(orr=0.15, pfs_hazard_ratio=hr, median_os_months=9.0), 56.0, "rechallenge",
                        control)
    t = np.array([10.0, 56.0, 100.0, 300.0])
    assert np.allclose(law.pfs_survival(t), control.pfs_survival(t) ** hr, rtol=1e-12)
    assert law.implied()["dcr"] == pytest.approx(0.45**hr)
    assert law.implied()["orr"] == pytest.approx(0.15)


def test_os_hazard_ratio_sets_the_median_where_control_survival_is_half_to_the_power_1_over_hr():
    control = build_arm_law(effect(dcr=0.45, orr=0.05, median_pfs_true_months=1.6, median_os_months=7.5), 56.0,
                            "control")
    law = build_arm_law(ArmEffect(dcr=0.7, orr=0.15, median_pfs_true_months=4.5, os_hazard_ratio=0.7), 56.0,
                        "rechallenge", control)
    m = law.median_os_days()
    assert 1 - control.os_cdf(m) == pytest.approx(0.5 ** (1 / 0.7), abs=1e-9)


def test_orr_above_the_dcr_a_hazard_ratio_implies_is_refused():
    control = build_arm_law(effect(dcr=0.45, orr=0.05, median_pfs_true_months=1.6, median_os_months=7.5), 56.0,
                            "control")
    with pytest.raises(IncoherentEffects, match="orr 0.6 is above the dcr 0.45"):
        build_arm_law(ArmEffect(orr=0.6, pfs_hazard_ratio=1.0, median_os_months=9.0), 56.0, "rechallenge", control)


@pytest.mark.parametrize("endpoint", ["pfs", "os"])
def test_implied_log_hazard_ratio_is_what_cox_converges_to(endpoint):
    """The truth the Cox estimates are judged against: a Cox fit on 200,000 patients per arm drawn
    from the laws (complete follow-up) lands within 3 standard errors of it."""
    from sim.stats.survival import cox_two_arm
    from sim.outcomes.laws import arm_laws, implied_log_hazard_ratio
    from sim.inputs import load_scenario

    laws, _ = arm_laws(load_scenario(SCENARIOS / "expected.yaml"))
    rng = np.random.default_rng(1)
    times, arms = [], []
    for code in (0, 1):
        law, n = laws[code], 200_000
        t = law.pfs_days(rng.random(n))
        if endpoint == "os":
            progressed = rng.random(n) >= law.p_death_first
            t = t + np.where(progressed, law.pps_days(rng.random(n)), 0.0)
        times.append(t)
        arms.append(np.full(n, code, dtype=np.int8))
    fit = cox_two_arm(np.concatenate(times), np.ones(400_000, dtype=bool), np.concatenate(arms))
    truth = implied_log_hazard_ratio(laws[1], laws[0], endpoint)
    assert abs(fit.log_hr - truth) <= 3 * fit.se, (fit, truth)
