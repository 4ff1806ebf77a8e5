"""Group-sequential z boundaries against rpact, and exact multi-look binomial figures against
independent computations (scipy's Barnard test, brute-force enumeration and simulation)."""
from __future__ import annotations

import itertools
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import barnard_exact, binom

from sim.stats import sequential as seq
from sim.stats import spending as sp

DATA = Path(__file__).parent / "data"


def _rpact_rows(text: str) -> list[dict]:
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    head = lines[0].split(",")
    rows = []
    for ln in lines[1:]:
        r = dict(zip(head, ln.split(",")))
        rows.append({"family": r["design"], "sided": "one" if r["sided"] == "1" else "two", "alpha": float(r["alpha"]),
                     "gamma": float(r["gamma"]) if r["gamma"] else None,
                     "t": [float(v) for v in r["information"].split(";")],
                     "b": [float(v) for v in r["critical_values"].split(";")],
                     "spent": [float(v) for v in r["cumulative_alpha"].split(";")]})
    return rows


REFERENCE = _rpact_rows((DATA / "rpact_boundaries.csv").read_text())


def test_the_rpact_reference_covers_the_acceptance_designs():
    names = {(r["family"], len(r["t"])) for r in REFERENCE}
    assert {(f, k) for f in ("obrien_fleming", "pocock") for k in (2, 3, 4)} <= names
    assert any(r["family"] == "hsd" and len(set(np.diff(r["t"]).round(6))) > 1 for r in REFERENCE)


@pytest.mark.parametrize("ref", REFERENCE, ids=lambda r: f"{r['family']}-{r['sided']}-{len(r['t'])}-{r['gamma']}")
def test_boundaries_equal_rpact(ref):
    b = sp.design(ref["t"], ref["alpha"], ref["family"], ref["sided"], gamma=ref["gamma"])
    assert np.allclose(b.efficacy, ref["b"], atol=1e-6, rtol=0), (b.efficacy, ref["b"])
    # rpact reports the total spent over both sides of a two-sided design.
    spent = np.asarray(b.cumulative_alpha) * (2 if ref["sided"] == "two" else 1)
    assert np.allclose(spent, ref["spent"], atol=2e-8)
    # The boundaries spend what they should: the crossing probabilities under H0 add up to alpha.
    crossed = np.cumsum(b.crossing(0.0)["reject"])
    assert np.allclose(crossed, spent, atol=1e-8)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R with rpact is not installed")
def test_the_committed_rpact_reference_is_what_rpact_prints():
    try:
        out = subprocess.run(["Rscript", str(DATA / "rpact_boundaries.R")], capture_output=True, text=True,
                             timeout=300, check=True).stdout
    except subprocess.CalledProcessError as e:   # R without rpact
        pytest.skip(f"rpact not available: {e.stderr[-200:]}")
    live = _rpact_rows(out)
    assert len(live) == len(REFERENCE)
    for a, b in zip(live, REFERENCE):
        assert np.allclose(a["b"], b["b"], atol=1e-12)


def test_one_look_is_the_fixed_z_test_and_the_spending_families_end_at_alpha():
    b = sp.design([1.0], 0.025, "pocock")
    assert b.efficacy[0] == pytest.approx(1.959963985, abs=1e-8)
    t = np.array([0.2, 0.5, 1.0])
    for fam, kw in (("obrien_fleming", {}), ("pocock", {}), ("hsd", {"gamma": -4}), ("hsd", {"gamma": 0})):
        s = sp.spent(fam, 0.05, t, **kw)
        assert np.all(np.diff(s) > 0) and s[-1] == pytest.approx(0.05, abs=1e-15)
    assert sp.spent("hsd", 0.05, t, gamma=0) == pytest.approx(0.05 * t)


def test_binding_futility_lowers_the_efficacy_bounds_and_keeps_alpha():
    free = sp.design([0.5, 1.0], 0.025, "obrien_fleming")
    bound = sp.design([0.5, 1.0], 0.025, "obrien_fleming", futility=[0.0, -math.inf], binding=True)
    assert bound.efficacy[0] == pytest.approx(free.efficacy[0], abs=1e-9)
    assert bound.efficacy[1] < free.efficacy[1]
    assert bound.crossing(0.0)["reject"].sum() == pytest.approx(0.025, abs=1e-9)
    # Brute force: simulate the canonical joint distribution and count crossings.
    rng = np.random.default_rng(1)
    n = 400_000
    z1 = rng.standard_normal(n)
    z2 = (z1 * math.sqrt(0.5) + rng.standard_normal(n) * math.sqrt(0.5))
    rate = np.mean((z1 >= bound.efficacy[0]) | ((z1 > 0) & (z1 < bound.efficacy[0]) & (z2 >= bound.efficacy[1])))
    assert abs(rate - 0.025) < 4 * math.sqrt(0.025 * 0.975 / n)


def test_beta_spending_futility_spends_beta_at_the_drift():
    b = sp.design([1 / 3, 2 / 3, 1.0], 0.025, "obrien_fleming")
    drift = 3.0
    beta = sp.spent("obrien_fleming", 0.2, np.array(b.information))
    fut = sp.beta_spending_futility(b.information, b.efficacy, beta, drift)
    cross = sp._crossing(b.information, b.efficacy, fut, drift, "one")
    assert np.allclose(np.cumsum(cross["futility"])[:-1], beta[:-1], atol=1e-8)
    assert fut[-1] == b.efficacy[-1]


# -- exact multi-look binomial designs ---------------------------------------------------------------

def test_one_exact_look_is_barnards_test_with_the_pooled_statistic():
    n1, n2, alpha = 9, 8, 0.05
    looks, crit, attained = seq.exact_bounds([(n1, n2)], [alpha])
    for x1, x2 in itertools.product(range(n1 + 1), range(n2 + 1)):
        p = barnard_exact([[x1, x2], [n1 - x1, n2 - x2]], alternative="greater", pooled=True, n=64).pvalue
        if abs(p - alpha) > 1e-6:
            assert looks[0].reject[x1, x2] == (p <= alpha), (x1, x2, p)
    assert attained[0] <= alpha


def _brute_force(looks, p1, p2):
    """P(reject) by summing over every sequence of per-look increments (small designs only)."""
    total = 0.0
    states = {(0, 0, 0, 0): 1.0}        # (prev n1, prev n2, x1, x2) -> probability of continuing there
    for look in looks:
        nxt = {}
        for (m1, m2, x1, x2), pr in states.items():
            d1, d2 = look.n_rechallenge - m1, look.n_control - m2
            for a in range(d1 + 1):
                for b in range(d2 + 1):
                    q = pr * binom.pmf(a, d1, p1) * binom.pmf(b, d2, p2)
                    y1, y2 = x1 + a, x2 + b
                    if look.reject[y1, y2]:
                        total += q
                    elif not look.futility[y1, y2]:
                        key = (look.n_rechallenge, look.n_control, y1, y2)
                        nxt[key] = nxt.get(key, 0.0) + q
        states = nxt
    return total


def test_exact_operating_characteristics_equal_brute_force():
    b = sp.design([0.4, 1.0], 0.05, "pocock", futility=[-0.5, -math.inf])
    looks = seq.z_looks([(4, 4), (10, 9)], b.efficacy, b.futility)
    for p1, p2 in ((0.3, 0.3), (0.6, 0.3), (0.1, 0.9)):
        assert seq.operating(looks, p1, p2)["power"] == pytest.approx(_brute_force(looks, p1, p2), abs=1e-12)


@pytest.mark.parametrize("family,fractions,sizes", [
    ("obrien_fleming", [0.5, 1.0], [(13, 13), (25, 25)]),
    ("pocock", [1 / 3, 2 / 3, 1.0], [(8, 8), (17, 17), (25, 25)]),
])
def test_exact_bounds_keep_the_type_I_error_over_a_dense_nuisance_grid(family, fractions, sizes):
    b = sp.design(fractions, 0.025, family)
    looks, crit, attained = seq.exact_bounds(sizes, b.cumulative_alpha)
    dense = np.linspace(0, 1, 20001)
    curve = seq._rejection_curve(looks, dense, True)
    assert curve.max() <= 0.025 + 1e-12
    assert attained[-1] == pytest.approx(seq.type_one_error(looks)[0], abs=1e-12)
    assert attained[-1] >= curve.max() - 1e-12
    # Least conservative: lowering any look's critical value to the next attainable one breaks its level.
    for k in range(len(sizes)):
        stat = seq.pooled_z(*sizes[k])
        lower = stat[stat < crit[k]].max()
        loosened = list(looks)
        loosened[k] = seq.Look(*sizes[k], stat >= lower, looks[k].futility)
        worst = max(seq._rejection_curve(loosened[:j + 1], dense, True).max() - b.cumulative_alpha[j]
                    for j in range(k, len(sizes)))
        assert worst > 0


def test_simulated_binomial_trials_match_the_exact_figures():
    b = sp.design([0.4, 1.0], 0.025, "obrien_fleming")
    looks, _, _ = seq.exact_bounds([(10, 10), (25, 25)], b.cumulative_alpha)
    ex = seq.operating(looks, 0.6, 0.35)
    rng = np.random.default_rng(7)
    R = 200_000
    a1, a2 = rng.binomial(10, 0.6, R), rng.binomial(10, 0.35, R)
    f1, f2 = a1 + rng.binomial(15, 0.6, R), a2 + rng.binomial(15, 0.35, R)
    stop = looks[0].reject[a1, a2]
    reject = stop | looks[1].reject[f1, f2]
    for sim, exact in ((reject.mean(), ex["power"]), (stop.mean(), ex["stop_at"][0])):
        assert abs(sim - exact) < 4 * math.sqrt(exact * (1 - exact) / R)
    n = np.where(stop, 20, 50).mean()
    assert n == pytest.approx(ex["expected_n"], abs=4 * 30 * math.sqrt(ex["stop_at"][0] * (1 - ex["stop_at"][0]) / R))
