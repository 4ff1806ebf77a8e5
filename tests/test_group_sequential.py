"""The group-sequential design kind on simulated trials: simulated operating characteristics against
the exact figures of the plain binomial comparison (within 3 MCSE), exact-binomial boundaries keeping
the type I error, the overrun of a stop, and bounds recomputed for the realized information."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import sim
from conftest import SCENARIOS, metric
from sim.analyses.plan import AnalysisPlan
from sim.designs import REGISTRY
from sim.errors import UserError as ScenarioError
from sim.stats import sequential as seq
from sim.stats import spending

# plain_binary with blocks of 2: a look after an even number of first scans sees equal arms, so the
# simulated looks are those of the exact computation.
BALANCED = ["randomization.block_size=2"]
TWO = {"kind": "group_sequential", "alpha": 0.025, "looks": {"after_first_scans": [26]}}
THREE = {"kind": "group_sequential", "alpha": 0.025, "looks": {"after_first_scans": [16, 34]}, "spending": "pocock"}
DESIGNS = [TWO, {**TWO, "boundary_scale": "exact"}, THREE, {**THREE, "boundary_scale": "exact"},
           {**TWO, "futility": {"z": [0.0]}, "spending": "hsd", "gamma": -2}]


def _scenario(path: str, designs: list[dict], extra=()):
    first, rest = designs[0], designs[1:]
    sets = [f"analysis={json.dumps({**first, 'variants': rest})}"] + BALANCED + list(extra)
    return sim.load_scenario(SCENARIOS / path, sets)


def _check_against_exact(s, n_designs):
    checked = 0
    for i in range(n_designs):
        for sim_id, exact_id in [("power", "exact_power_plain_binomial"),
                                 ("type_I_error", "exact_power_plain_binomial"),
                                 ("n_analysed", "exact_expected_n_analysed_plain_binomial")] + [
                (f"prob_stop_at_look_{k}", f"exact_prob_stop_at_look_{k}_plain_binomial") for k in (1, 2)]:
            try:
                ref = metric(s, exact_id, i)
            except (KeyError, StopIteration, AssertionError):
                continue
            ids = [r["metric"] for r in s["metrics"] if r["design"] == s["designs"][i]["label"]]
            if sim_id == "prob_stop_at_look_1" and sim_id not in ids:
                sim_id = "prob_stop_early"     # one look: its stops are all the early stops
            if sim_id not in ids:
                continue
            row = metric(s, sim_id, i)
            mcse = max(row["mcse"], 1e-3 if sim_id != "n_analysed" else 0.05)
            assert abs(row["estimate"] - ref["estimate"]) <= 3 * mcse, (i, sim_id, row, ref)
            checked += 1
    return checked


@pytest.mark.parametrize("replicates", [1200, pytest.param(20000, marks=pytest.mark.slow)])
def test_simulated_figures_match_the_exact_ones(tmp_path, replicates):
    sc = _scenario("plain_binary.yaml", DESIGNS)
    s = sim.run(sc, tmp_path / "gs", replicates=replicates, report=False, seed=31).summary
    assert _check_against_exact(s, len(DESIGNS)) >= 15


def test_under_the_null_exact_bounds_keep_alpha_and_the_z_bounds_may_not(tmp_path):
    sc = _scenario("plain_binary.yaml", DESIGNS[:4], ["effects.rechallenge.dcr=0.35",
                                                       "effects.rechallenge.median_pfs_true_months=1.21",
                                                       "effects.rechallenge.orr=0.05",
                                                       "effects.rechallenge.median_os_months=6.0"])
    plan = AnalysisPlan.from_scenario(sc)
    worst = []
    for d in plan.designs:
        looks = d.exact_looks(plan.context)
        worst.append(seq.type_one_error(looks)[0])
    assert worst[1] <= 0.025 and worst[3] <= 0.025          # exact bounds
    assert worst[0] > 0.025                                  # the normal approximation overshoots here
    s = sim.run(sc, tmp_path / "null", replicates=2000, report=False, seed=5).summary
    for i in range(4):
        row, ref = metric(s, "type_I_error", i), metric(s, "exact_power_plain_binomial", i)
        assert abs(row["estimate"] - ref["estimate"]) <= 3 * max(row["mcse"], 1e-3)


def test_a_stop_is_overrun_by_the_patients_randomized_meanwhile(tmp_path):
    sc = _scenario("expected.yaml", [{**TWO, "alpha": 0.1, "spending": "pocock", "looks": {"after_first_scans": [20]}}])
    r = sim.run(sc, tmp_path / "o", replicates=300, report=False, seed=3)
    a = r.analyses
    stopped = a[a["stopped"]]
    assert len(stopped) > 20
    assert (stopped["stop_look"] == 1).all()
    assert (stopped["n_rechallenge"] + stopped["n_control"] <= 20).all()
    # accrual went on while the outcomes matured
    assert (stopped["n_randomized"] > 20).mean() > 0.75 and stopped["n_randomized"].mean() > 21
    assert (a.loc[~a["stopped"], "stop_look"] == 0).all()
    assert (a["reject"] >= a["stopped_for_efficacy"]).all()


def test_bounds_follow_the_realized_information_of_calendar_looks(tmp_path):
    gs = {"kind": "group_sequential", "alpha": 0.1, "spending": "pocock",
          "looks": {"at_months": [20.0], "information": [0.5]}}
    sc = _scenario("expected.yaml", [gs, {"information": "planned"}])
    r = sim.run(sc, tmp_path / "c", replicates=300, report=False, seed=8)
    rows = r.replicates
    a = r.analyses
    realized, planned = a[a["design"] == 0].set_index("replicate"), a[a["design"] == 1].set_index("replicate")
    m1, m2 = rows["look0_m_rechallenge"].to_numpy(), rows["look0_m_control"].to_numpy()
    y1, y2 = rows["look0_y_rechallenge"].to_numpy(), rows["look0_y_control"].to_numpy()
    z = seq.pooled_z_of(y1, m1, y2, m2)
    fixed_bound = spending.design([0.5, 1.0], 0.1, "pocock").efficacy[0]
    checked = 0
    for i, rep in enumerate(rows["replicate"]):
        if not realized.loc[rep, "looked"]:
            continue
        t = min((m1[i] + m2[i]) / 50, 0.999)
        bound = spending.design([t, 1.0], 0.1, "pocock").efficacy[0]
        assert realized.loc[rep, "stop_look"] == (1 if z[i] >= bound else 0), (rep, z[i], bound)
        assert planned.loc[rep, "stop_look"] == (1 if z[i] >= fixed_bound else 0)
        checked += 1
    assert checked > 100
    assert (rows["look0_m_rechallenge"] + rows["look0_m_control"]).nunique() > 5   # the information varies


def test_boundary_table_and_label_come_from_the_fields():
    cls = REGISTRY["group_sequential"]
    d = cls.model_validate({**THREE, "futility": {"z": [0.0, 0.5]}})
    from sim.designs import DesignContext
    ctx = DesignContext((4, 8, 12), (25, 25), 50)
    rows = d.boundary_table(ctx)
    b = spending.design([16 / 50, 34 / 50, 1.0], 0.025, "pocock")
    assert [r["z_efficacy"] for r in rows] == pytest.approx(b.efficacy)
    assert [r["patients"] for r in rows] == [16, 34, 50]
    assert rows[0]["z_futility"] == 0.0 and rows[-1]["z_futility"] is None
    label = d.describe()
    assert "Pocock" in label and "16, 34 first scans" in label and "futility z <= 0, 0.5" in label
    assert "0.025" in label and "z one-sided" in label


@pytest.mark.parametrize("fields,where", [
    ({"looks": {"after_first_scans": [30, 20]}}, "increase"),
    ({"looks": {"at_months": [10.0]}}, "information"),
    ({"spending": "user"}, "cumulative_alpha"),
    ({"spending": "user", "cumulative_alpha": [0.01, 0.02]}, "end at alpha"),
    ({"sided": "two", "futility": {"z": [0.0]}}, "one-sided"),
    ({"futility": {"z": [0.0, 1.0]}}, "interim looks"),
    ({"futility": {"spending": "pocock"}}, "alternative"),
])
def test_inconsistent_fields_are_refused_with_a_reason(fields, where):
    with pytest.raises(ScenarioError) as e:
        _scenario("plain_binary.yaml", [{**TWO, **fields}])
    assert where in str(e.value)


def test_looks_after_the_target_are_refused():
    with pytest.raises(ScenarioError) as e:
        _scenario("plain_binary.yaml", [{**TWO, "looks": {"after_first_scans": [50]}}])
    assert "below accrual.target_randomized 50" in str(e.value)


def test_beta_spending_futility_and_binding_lower_the_bounds():
    cls = REGISTRY["group_sequential"]
    from sim.designs import DesignContext
    ctx = DesignContext((4, 8, 12), (25, 25), 50)
    free = cls.model_validate({**TWO, "futility": {"spending": "obrien_fleming", "alternative": [0.35, 0.6]}})
    bound = cls.model_validate({**TWO, "futility": {"spending": "obrien_fleming", "alternative": [0.35, 0.6],
                                                    "binding": True}})
    f, b = free.boundary_table(ctx), bound.boundary_table(ctx)
    assert b[-1]["z_efficacy"] < f[-1]["z_efficacy"]
    assert math.isfinite(f[0]["z_futility"])
    drift = spending.drift_for(0.35, 0.6, 25, 25)
    cross = spending._crossing((0.52, 1.0), (f[0]["z_efficacy"], f[1]["z_efficacy"]), (f[0]["z_futility"], -math.inf),
                               drift, "one")
    beta = spending.spent("obrien_fleming", 0.2, np.array([0.52]))[0]
    assert cross["futility"][0] == pytest.approx(beta, abs=1e-8)
