"""Analysis designs evaluated on the same simulated trials: tests, levels, DCR definitions,
populations, and the interim futility look.

Tolerances are Monte Carlo errors: a simulated rate against an exact figure within 3 MCSE; a type
I error at most alpha + 2 MCSE (the acceptance rule of the issue).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

import sim
from conftest import SCENARIOS, metric
from sim.analyses.plan import AnalysisPlan
from sim.stats.exact import exact_power
from sim.engine import chunk

EXACT_TESTS = ("fisher", "boschloo", "barnard")
LEVELS = (("one", 0.025), ("one", 0.10), ("two", 0.05))


def _variants(items: list[dict]) -> str:
    return "analysis.variants=" + json.dumps(items)


def _type_one_error(tmp_path, replicates: int):
    variants = [{"test": t, "sided": s, "alpha": a} for t in EXACT_TESTS for s, a in LEVELS]
    sc = sim.load_scenario(SCENARIOS / "null.yaml", [_variants(variants[1:]), "analysis.test=fisher",
                                                     "analysis.sided=one", "analysis.alpha=0.025"])
    s = sim.run(sc, tmp_path / "null", replicates=replicates, report=False, seed=2024).summary
    assert len(s["designs"]) == 9
    for i, v in enumerate(variants):
        row = metric(s, "type_I_error", i)
        assert row["estimate"] <= v["alpha"] + 2 * row["mcse"], (v, row)
    return s


def test_exact_tests_keep_their_level_under_the_null(tmp_path):
    _type_one_error(tmp_path, 2000)


@pytest.mark.slow
def test_exact_tests_keep_their_level_under_the_null_large(tmp_path):
    _type_one_error(tmp_path, 20000)


def test_unconditional_tests_match_their_exact_power(tmp_path):
    """plain_binary is a plain binomial comparison: simulated power = exact enumeration within 3 MCSE,
    for the DCR and (same tests on the responses) the ORR comparison."""
    variants = [{"test": "boschloo"}, {"test": "barnard"}, {"test": "chisq_cc"}, {"test": "bayes"}]
    sc = sim.load_scenario(SCENARIOS / "plain_binary.yaml", [_variants(variants)])
    s = sim.run(sc, tmp_path / "plain", replicates=3000, report=False, seed=99).summary
    conf = s["configured"]
    plan = AnalysisPlan.from_scenario(sc)
    for i, d in enumerate(plan.designs):
        test, alpha, sided, prior = d.binary_rule()
        power = metric(s, "power", i)
        exact = exact_power(25, 25, conf["dcr_rechallenge"], conf["dcr_control"], test, alpha, sided, prior)
        assert metric(s, "exact_power_plain_binomial", i)["estimate"] == pytest.approx(exact, abs=1e-12)
        assert abs(power["estimate"] - exact) <= 3 * power["mcse"], (d.display, power, exact)
        orr = metric(s, "power_orr", i)
        exact_orr = exact_power(25, 25, conf["orr_rechallenge"], conf["orr_control"], test, alpha, sided, prior)
        assert abs(orr["estimate"] - exact_orr) <= 3 * max(orr["mcse"], 1e-3), (d.display, orr, exact_orr)


def test_adding_variants_does_not_rerun_or_change_the_simulation(monkeypatch):
    base = sim.load_scenario(SCENARIOS / "expected.yaml", ["analysis.variants=[]"])
    ten = sim.load_scenario(SCENARIOS / "expected.yaml", [_variants(
        [{"test": t} for t in ("chisq", "chisq_cc", "boschloo", "barnard", "bayes")]
        + [{"dcr_definition": "controlled"}, {"dcr_definition": "best_response"}, {"population": "evaluable"},
           {"interim": {"after_first_scans": 25}}])])
    import sim.model.trial as model_trial

    calls = []
    real = model_trial.run_trial
    monkeypatch.setattr(model_trial, "run_trial", lambda *a: calls.append(a) or real(*a))
    one = chunk.run_chunk(base.model_dump_json(), 3, 0, 6)
    many = chunk.run_chunk(ten.model_dump_json(), 3, 0, 6)
    assert len(calls) == 12  # one simulation per replicate, however many designs
    assert len(many.analyses) == 10 * 6
    shared = [c for c in one.records.columns if not c.startswith(("k", "look"))]
    assert one.records[shared].equals(many.records[shared])
    primary = many.analyses[many.analyses["design"] == 0].reset_index(drop=True)
    assert one.analyses.equals(primary)


def test_dcr_definitions_nest_and_controlled_matches_its_law(tmp_path):
    """In plain_binary (one 14-day backbone, nobody stops), 'controlled through cycle 12' is the true
    PFS beyond the cycle-12 scan on day 168: its rate is S(168), which the outcome law gives exactly."""
    from sim.outcomes.laws import arm_laws

    sc = sim.load_scenario(SCENARIOS / "plain_binary.yaml", [_variants(
        [{"dcr_definition": "best_response"}, {"dcr_definition": "controlled"}, {"population": "evaluable"}])])
    r = sim.run(sc, tmp_path / "defs", replicates=1500, report=False, seed=5)
    a = r.analyses
    by = {d: a[a["design"] == d].set_index("replicate") for d in range(4)}
    for arm in ("rechallenge", "control"):
        first, best, controlled = (by[d][f"dcr_successes_{arm}"] for d in (0, 1, 2))
        assert (controlled <= first).all() and (best == first).all()  # responses show from the first scan on
        assert (by[3][f"n_{arm}"] <= by[0][f"n_{arm}"]).all()
    laws, _ = arm_laws(sc)
    for code, arm in ((1, "rechallenge"), (0, "control")):
        row = metric(r.summary, f"dcr_observed_{arm}", 2)
        truth = float(laws[code].pfs_survival(168.0))
        assert abs(row["estimate"] - truth) <= 3 * row["mcse"], (arm, row, truth)
    assert metric(r.summary, "power", 2)["estimate"] != metric(r.summary, "power", 0)["estimate"]


def test_futility_look_stops_early_and_only_removes_rejections(tmp_path):
    sc = sim.load_scenario(SCENARIOS / "expected.yaml", [_variants([
        {"interim": {"after_first_scans": 25, "rule": "predictive_probability", "stop_below": 0.2}},
        {"interim": {"after_first_scans": 25, "rule": "dcr_difference", "stop_below": 0.0}},
        {"interim": {"after_first_scans": 25, "rule": "dcr_difference", "stop_below": -1.0}},
    ])])
    r = sim.run(sc, tmp_path / "look", replicates=600, report=False, seed=11)
    a = r.analyses
    base = a[a["design"] == 0].set_index("replicate")
    for d in (1, 2):
        look = a[a["design"] == d].set_index("replicate")
        assert (look["reject"] <= base["reject"]).all()
        stopped = look["stopped"]
        assert 0.02 < stopped.mean() < 0.6
        assert (look.loc[stopped, "n_screened"] <= base.loc[stopped, "n_screened"]).all()
        assert (look.loc[stopped, "duration_months"] < base.loc[stopped, "duration_months"]).all()
        assert not look.loc[stopped, "reject"].any()
        # A stopped trial's estimates are what the look saw.
        rec = r.replicates.set_index("replicate")
        assert (look.loc[stopped, "n_rechallenge"] == rec.loc[stopped[stopped].index, "look0_m_rechallenge"]).all()
        assert (look.loc[stopped, "dcr_successes_control"] == rec.loc[stopped[stopped].index, "look0_y_control"]).all()
        p_stop = metric(r.summary, "prob_stop_early", d)
        assert p_stop["estimate"] == pytest.approx(stopped.mean()) and p_stop["mcse"] > 0
    never = a[a["design"] == 3].set_index("replicate")
    assert not never["stopped"].any() and never["reject"].equals(base["reject"])
    # The observed-difference rule stops exactly when the look's first-scan DCRs favour control.
    rec = r.replicates.set_index("replicate")
    m1, y1, m2, y2 = (rec[f"look0_{x}"] for x in ("m_rechallenge", "y_rechallenge", "m_control", "y_control"))
    favour_control = (y1 / m1 < y2 / m2) & (rec["look0_day"] < rec["k0_day"])
    assert a[a["design"] == 2].set_index("replicate")["stopped"].equals(favour_control.rename("stopped"))


def test_predictive_probability_matches_brute_force():
    from scipy.stats import betabinom

    from sim.stats.binary import rejection_region
    from sim.stats.predictive import predictive_success

    m1, m2, n1, n2 = 6, 7, 12, 12
    table = predictive_success(m1, m2, n1, n2, "fisher", 0.1, "one", None, (1.0, 1.0))
    region = rejection_region(n1, n2, "fisher", 0.1, "one")
    for y1, y2 in ((0, 0), (3, 2), (6, 1), (2, 7)):
        total = 0.0
        for z1 in range(n1 - m1 + 1):
            for z2 in range(n2 - m2 + 1):
                p = betabinom.pmf(z1, n1 - m1, 1 + y1, 1 + m1 - y1) * betabinom.pmf(z2, n2 - m2, 1 + y2, 1 + m2 - y2)
                total += p * region[y1 + z1, y2 + z2]
        assert table[y1, y2] == pytest.approx(total, abs=1e-12)
    assert np.all(np.diff(table, axis=0) >= -1e-12)  # more successes on rechallenge: more likely to win


def test_two_sided_futility_counts_only_wins_for_rechallenge():
    from sim.stats.predictive import predictive_success

    two = predictive_success(12, 12, 25, 25, "fisher", 0.05, "two", None, (1.0, 1.0))
    one = predictive_success(12, 12, 25, 25, "fisher", 0.025, "one", None, (1.0, 1.0))
    assert two[2, 10] < 1e-3 and one[2, 10] < 1e-3  # control far ahead: no hope of success
    assert two[10, 2] > 0.95


def test_variants_change_nested_sections_field_by_field():
    from sim.scenario.schema import Scenario

    sc = sim.load_scenario(SCENARIOS / "expected.yaml", [
        "analysis.bayes.prior_control=[2, 3]",
        "analysis.interim={after_first_scans: 20, rule: dcr_difference, stop_below: 0.05}",
        _variants([{"test": "bayes", "bayes": {"threshold": 0.8}}, {"interim": {"after_first_scans": 30}},
                   {"interim": None}])])
    again = Scenario.model_validate_json(sc.model_dump_json())  # as the workers receive it
    primary, bayes, later, none = again.designs()
    assert bayes.bayes.threshold == 0.8 and bayes.prior == ((1.0, 1.0), (2.0, 3.0))
    assert (primary.kind, bayes.kind, later.kind, none.kind) == ("futility", "futility", "futility", "fixed")
    assert later.interim.after_first_scans == 30 and later.interim.rule == "dcr_difference"
    assert later.interim.stop_below == 0.05 and "interim" not in type(none).model_fields


def test_a_dcr_comparison_is_null_only_when_the_pfs_laws_are_equal(tmp_path):
    """Equal DCR at the reference day but different medians: later scans and 'controlled through
    cycle 12' differ between the arms, so the rejection rate is a power, not a type I error."""
    sc = sim.load_scenario(SCENARIOS / "null.yaml", ["effects.rechallenge.median_pfs_true_months=1.0",
                                                     _variants([{"dcr_definition": "controlled"}])])
    s = sim.run(sc, tmp_path / "r", replicates=100, report=False, seed=1).summary
    assert metric(s, "power", 1)["estimate"] > 0.3
    assert not [r for r in s["metrics"] if r["metric"] == "type_I_error"]
    null = sim.run(SCENARIOS / "null.yaml", tmp_path / "n", replicates=50, report=False, seed=1).summary
    assert metric(null, "type_I_error")["estimate"] is not None
