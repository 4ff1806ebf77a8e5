"""Jung's (2008) randomized two-stage design (sim.stats.two_stage) against ph2rand's documented designs,
a brute-force enumeration of outcomes, a Monte Carlo simulation of the rule and a brute-force search.

Sources of the reference numbers (ph2rand by M. J. Grayling, github.com/mjg211/ph2rand, snapshot at
commit 9712c73, version 0.1.0):
  [README]   README.md lines 39-59: ``des_jung <- des_two_stage()`` (all defaults), its ``$nC``, ``$nE``
             and ``$opchar`` tibble; the same output is in docs/reference/summary.ph2rand_des.html
             (line 175: n1C = n2C = n1E = n2E = 17, e1 = Inf, f1 = 0, e2 = 4).
  [CACHE]    vignettes/validation_cache/html/default_2ce191c281f9f668a2514dd3e37409ee.rdb: knitr's cache
             of the object ``des_jung`` of vignettes/validation.Rmd line 36 (``des_two_stage()``), read with
             R's lazyLoad(); it holds the full-precision opchar and the 419-row ``$feasible`` table.
  [VIGNETTE] vignettes/ph2rand.Rmd lines 681-688 (chunk eg44_1, ``binomial``) and 745-775 (chunk
             eg45_1, ``binomial_1``, ``binomial_2``, ``binomial_3``: efficacy stopping), with their printed
             ``$nC``, ``$boundaries`` and ``$opchar`` in docs/articles/ph2rand.html (lines ~670-680 and
             ~780-850).
  [RUN]      ph2rand built from that snapshot (R CMD INSTALL) and run here; the R calls are quoted at
             each use. Used for the interval-null cases, which no document prints.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom

from sim.stats.two_stage import (
    two_stage_designs,
    two_stage_max_type_one,
    two_stage_min_power,
    two_stage_oc,
)

INF = math.inf


# ---------------------------------------------------------------------------------------------
# Independent references: plain loops over outcomes with scipy.stats.binom
# ---------------------------------------------------------------------------------------------

def pmf(n, p):
    """[P(X = x) for x = 0..n], X ~ Bin(n, p), from scipy.stats.binom."""
    return list(binom.pmf(range(n + 1), n, p))


def brute_oc(n1, n2, f1, e1, e2, pc, pe, ratio=1):
    """Reject / PET / ESS by summing over every (xC1, xE1[, xC2, xE2]) of the two stages."""
    n1e, n2e = n1 * ratio, n2 * ratio
    c1, e1p, c2, e2p = pmf(n1, pc), pmf(n1e, pe), pmf(n2, pc), pmf(n2e, pe)
    reject = pet = ess = 0.0
    for xc1 in range(n1 + 1):
        for xe1 in range(n1e + 1):
            p1 = c1[xc1] * e1p[xe1]
            d1 = xe1 - xc1
            if d1 <= f1 or d1 >= e1:
                pet += p1
                ess += p1 * (n1 + n1e)
                reject += p1 * (d1 >= e1)
                continue
            ess += p1 * (n1 + n1e + n2 + n2e)
            for xc2 in range(n2 + 1):
                for xe2 in range(n2e + 1):
                    if d1 + xe2 - xc2 >= e2:
                        reject += p1 * c2[xc2] * e2p[xe2]
    return {"reject": reject, "pet": pet, "ess": ess}


def diff_dist(nc, ne, pc, pe):
    """{d: P(X_E - X_C = d)} by a double loop."""
    out = {}
    bc, be = pmf(nc, pc), pmf(ne, pe)
    for xc in range(nc + 1):
        for xe in range(ne + 1):
            out[xe - xc] = out.get(xe - xc, 0.0) + bc[xc] * be[xe]
    return out


def upper_tail(dist):
    """k -> P(D >= k) for every k where it is neither 0 nor 1 (callers clip outside)."""
    lo, hi = min(dist), max(dist)
    tail, acc = {}, 0.0
    for d in range(hi, lo - 1, -1):
        acc += dist.get(d, 0.0)
        tail[d] = acc
    return lambda k: 1.0 if k <= lo else (0.0 if k > hi else tail[k])


def brute_search(alpha, beta, delta, p0, nmax, equal, futility, efficacy):
    """ph2rand's search space (src/binomial.cpp lines 768-855: n1C <= nCmax/2 with equal stages, else
    n1C < nCmax and n1C + n2C <= nCmax; f1 from -n1C (or -n1C - 1 without futility) to n1E - 1
    (n1E - 2 with efficacy); e1 from f1 + 2 to n1E (or n1E + 1 = none); e2 from f1 + 2 - n2C to
    e1 - 1 + n2E), every design evaluated at the point null p0 and alternative (p0, p0 + delta).
    Returns the feasible designs in ph2rand's loop order, each (key, type I, power, ESS0, maxN)."""
    out = []
    for n1 in range(1, nmax + 1):
        if (equal and n1 > nmax / 2) or (not equal and n1 >= nmax):
            continue
        a1, b1 = diff_dist(n1, n1, p0, p0), diff_dist(n1, n1, p0, p0 + delta)
        f1s = range(-n1, n1 - 1 if efficacy else n1) if futility else [-n1 - 1]
        for f1 in f1s:
            for e1 in (range(f1 + 2, n1 + 1) if efficacy else [n1 + 1]):
                go = sum(p for d, p in a1.items() if f1 < d < e1)
                for n2 in ([n1] if equal else range(1, nmax - n1 + 1)):
                    a2 = upper_tail(diff_dist(n2, n2, p0, p0))
                    b2 = upper_tail(diff_dist(n2, n2, p0, p0 + delta))
                    for e2 in range(f1 + 2 - n2, e1 - 1 + n2 + 1):
                        def rej(p1, t2, f1=f1, e1=e1, e2=e2):
                            total = 0.0
                            for d, p in p1.items():
                                if d >= e1:
                                    total += p
                                elif d > f1:
                                    total += p * t2(e2 - d)
                            return total
                        t1, pw = rej(a1, a2), rej(b1, b2)
                        if t1 <= alpha and pw >= 1 - beta:
                            key = (n1, n2, f1 if futility else -INF, e1 if efficacy else INF, e2)
                            out.append((key, t1, pw, 2 * n1 + go * 2 * n2, 2 * (n1 + n2)))
    return out


def key_of(d):
    return (d["n1"], d["n2"], d["f1"], d["e1"], d["e2"])


# ---------------------------------------------------------------------------------------------
# 1. Published cells
# ---------------------------------------------------------------------------------------------

#: [CACHE] the first 15 rows of ``des_jung$feasible`` (sorted as ph2rand sorts: ESS(0.1, 0.1), then
#: larger power), printed with print(..., digits = 10): n1C (= n2C), f1, e2, max alpha, min power,
#: ESS(piO, piO). e1 = Inf throughout. 419 rows in all.
DEFAULT_FEASIBLE_HEAD = [
    (17, 0, 4, 0.07018437010, 0.8126632175, 47.02823244),
    (20, 1, 4, 0.06872942252, 0.8115899591, 48.33793441),
    (18, 0, 4, 0.07540126075, 0.8336342196, 49.92028651),
    (21, 1, 4, 0.07271995431, 0.8290299740, 51.00347022),
    (16, -1, 4, 0.06943854272, 0.8166396570, 51.86112454),
    (19, 0, 4, 0.08043907414, 0.8520222601, 52.81487286),
    (24, 2, 2, 0.09164326594, 0.8038043323, 53.31107025),
    (24, 2, 3, 0.07591902481, 0.8008611615, 53.31107025),
    (22, 1, 4, 0.07658725478, 0.8447036394, 53.67797648),
    (22, 1, 5, 0.04397910809, 0.8165713525, 53.67797648),
    (17, -1, 4, 0.07536947050, 0.8401004735, 54.97176756),
    (20, 0, 4, 0.08529825945, 0.8681671865, 55.71184334),
    (20, 0, 5, 0.04340760520, 0.8199112573, 55.71184334),
    (25, 2, 2, 0.09536308972, 0.8190628139, 55.77326153),
    (25, 2, 3, 0.07926148960, 0.8164686467, 55.77326153),
]


@pytest.fixture(scope="module")
def default_search():
    # ph2rand's defaults: alpha 0.1, beta 0.2, delta 0.2, Pi0 = Pi1 = piO = 0.1, nCmax 50, equal stages,
    # w = (1, 0, 0, 0, 0), futility only.
    return two_stage_designs(alpha=0.1, beta=0.2, delta=0.2, pi0=0.1, nmax_per_arm=50)


def test_ph2rand_default_design_and_its_printed_operating_characteristics(default_search):
    opt = default_search["optimal"]
    # [README] lines 44-48 and summary.ph2rand_des.html line 175: nC = nE = (17, 17), e1 = Inf, f1 = 0, e2 = 4.
    assert key_of(opt) == (17, 17, 0, INF, 4)
    assert (opt["n1_rechallenge"], opt["n2_rechallenge"], opt["max_n"]) == (17, 17, 68)
    null = two_stage_oc(17, 17, 0, INF, 4, 0.1, 0.1)
    alt = two_stage_oc(17, 17, 0, INF, 4, 0.1, 0.3)
    # [README] lines 58-59, to their printed precision (tolerance: half a unit of the last printed digit):
    #   piC piE  P(pi)  ESS(pi) ... E1(pi) E2(pi) F1(pi)
    #   0.1 0.1  0.0702  47.0        0     0.0702  0.617
    #   0.1 0.3  0.813   64.7        0     0.813   0.0972
    for got, printed, half in [(null["reject"], 0.0702, 5e-5), (null["ess"], 47.0, 0.05),
                               (null["stop_futility"], 0.617, 5e-4), (null["stop_efficacy"], 0.0, 0.0),
                               (alt["reject"], 0.813, 5e-4), (alt["ess"], 64.7, 0.05),
                               (alt["stop_futility"], 0.0972, 5e-5)]:
        assert abs(got - printed) <= half, (got, printed)
    # [CACHE] des_jung$opchar at full precision (P(pi), ESS(pi), F1(pi) = S1(pi)): to 1e-12.
    assert null["reject"] == pytest.approx(0.0701843700976254, abs=1e-12)
    assert null["ess"] == pytest.approx(47.0282324380266, abs=1e-10)
    assert null["pet"] == pytest.approx(0.6168166929992194, abs=1e-12)
    assert alt["reject"] == pytest.approx(0.8126632174586804, abs=1e-12)
    assert alt["ess"] == pytest.approx(64.6951275202401, abs=1e-10)
    assert alt["pet"] == pytest.approx(0.0972021317576445, abs=1e-12)
    assert opt["max_type_one"] == pytest.approx(0.0701843700976254, abs=1e-12)
    assert opt["min_power"] == pytest.approx(0.8126632174586804, abs=1e-12)
    assert opt["ess_null"] == pytest.approx(47.0282324380266, abs=1e-10)
    assert opt["ess_alt"] == pytest.approx(64.6951275202401, abs=1e-10)


def test_ph2rand_default_feasible_table(default_search):
    # [CACHE] nrow(des_jung$feasible) == 419, and its first 15 rows (10 significant digits).
    assert default_search["n_feasible"] == 419
    f = default_search["feasible"]
    for i, (n1, f1, e2, alpha, power, ess) in enumerate(DEFAULT_FEASIBLE_HEAD):
        assert (f["n1"][i], f["n2"][i], f["f1"][i], f["e1"][i], f["e2"][i]) == (n1, n1, f1, INF, e2)
        assert f["max_type_one"][i] == pytest.approx(alpha, abs=1e-10)
        assert f["min_power"][i] == pytest.approx(power, abs=1e-10)
        assert f["ess_null"][i] == pytest.approx(ess, abs=1e-7)
    assert np.all(f["max_type_one"] <= 0.1) and np.all(f["min_power"] >= 0.8)
    assert np.all(np.diff(f["objective"]) >= 0)
    # Minimax: the smallest maxN among the 419, then smallest ESS -- 16 + 16 per arm, f1 = -1, e2 = 4
    # (row 5 above; [RUN] des_two_stage(w = c(1e-6, 0, 0, 0, 1))$boundaries: e2 4, f1 -1; nC 16 16).
    assert key_of(default_search["minimax"]) == (16, 16, -1, INF, 4)
    assert default_search["minimax"]["max_n"] == 64 == f["max_n"].min()


@pytest.mark.parametrize("w, design, null, alt", [
    # [VIGNETTE] eg44_1 ``binomial``: alpha 0.05, beta 0.2, delta 0.4, ratio 2, Pi0 = Pi1 = 0.2, nCmax 10,
    # futility only. Printed: nC 4 4 (nE 8 8); opchar 0.2/0.2: P 0.0409, ESS 13.3, E1 0, F1 0.892;
    # 0.2/0.6: P 0.810, ESS 21.9, E1 0, F1 0.173. Boundaries (e2 5, f1 2) from [RUN] binomial$boundaries.
    (None, (4, 4, 2, INF, 5), (0.0409, 13.3, 0.0, 0.892), (0.810, 21.9, 0.0, 0.173)),
    # [VIGNETTE] eg45_1 ``binomial_1`` (efficacy = TRUE, w = c(1, 0, 0, 0, 0)): nC 4 4, e1 5, e2 5, f1 2;
    # 0.2/0.2: P 0.0416, ESS 13.2, E1 0.00478, F1 0.892; 0.2/0.6: P 0.811, ESS 17.3, E1 0.389, F1 0.173.
    ((1, 0, 0, 0, 0), (4, 4, 2, 5, 5), (0.0416, 13.2, 0.00478, 0.892), (0.811, 17.3, 0.389, 0.173)),
    # ``binomial_2`` (w = c(0, 1, 0, 0, 0)): nC 4 4, e1 4, e2 6, f1 1;
    # 0.2/0.2: P 0.0413, ESS 15.2, E1 0.0275, F1 0.704; 0.2/0.6: P 0.864, ESS 15.7, E1 0.633, F1 0.0621.
    ((0, 1, 0, 0, 0), (4, 4, 1, 4, 6), (0.0413, 15.2, 0.0275, 0.704), (0.864, 15.7, 0.633, 0.0621)),
    # ``binomial_3`` (w = c(1, 1, 0, 0, 1)/3): the same design as binomial_1 (printed boundaries).
    ((1 / 3, 1 / 3, 0, 0, 1 / 3), (4, 4, 2, 5, 5), (0.0416, 13.2, 0.00478, 0.892), (0.811, 17.3, 0.389, 0.173)),
])
def test_ph2rand_vignette_designs_with_ratio_two(w, design, null, alt):
    kw = {"alpha": 0.05, "beta": 0.2, "delta": 0.4, "ratio": 2, "pi0": 0.2, "nmax_per_arm": 10}
    res = two_stage_designs(**kw) if w is None else two_stage_designs(**kw, efficacy=True, w=w)
    opt = res["optimal"]
    assert key_of(opt) == design and (opt["n1_rechallenge"], opt["n2_rechallenge"]) == (8, 8)
    for (pe, printed) in ((0.2, null), (0.6, alt)):
        oc = two_stage_oc(*design, 0.2, pe, ratio=2)
        got = (oc["reject"], oc["ess"], oc["stop_efficacy"], oc["stop_futility"])
        for g, p in zip(got, printed):
            # half a unit in the last of the 3 significant digits printed (ESS: 1 decimal)
            half = 0.05 if p > 1 else (0.0 if p == 0 else 0.5 * 10 ** (math.floor(math.log10(p)) - 2))
            assert abs(g - p) <= half + 1e-15, (g, p)


def test_interval_null_matches_ph2rand_man_page_example():
    # man/des_two_stage.Rd line 150: des_range <- des_two_stage(Pi0 = c(0, 1), Pi1 = c(0, 0.8)).
    # [RUN] with the default nCmax = 50 ph2rand finds no feasible design ($feasible NULL); with
    # nCmax = 100L: nC = nE = (32, 32), e1 Inf, f1 0, e2 8; opchar: P(0.5, 0.5) = 0.0865775756711916
    # (argmax alpha 0.5), P(0.4, 0.6) = 0.8112920095890229 (argmin power 0.4), ESS(piO = 0, 0) = 64,
    # ESS(0, 0.2) = 127.949293976 (printed to 12 digits). Designs with n1C = 32 are all searched when
    # nmax_per_arm >= 64, so the optimum is the same at 64.
    kw = {"alpha": 0.1, "beta": 0.2, "delta": 0.2, "pi0": (0.0, 1.0), "pi1": (0.0, 0.8)}
    assert two_stage_designs(**kw, nmax_per_arm=50)["optimal"] is None
    res = two_stage_designs(**kw, nmax_per_arm=64)
    opt = res["optimal"]
    assert key_of(opt) == (32, 32, 0, INF, 8)
    assert opt["max_type_one"] == pytest.approx(0.0865775756711916, abs=1e-12)
    assert opt["pi_max_type_one"] == pytest.approx(0.5, abs=1e-6)
    assert opt["min_power"] == pytest.approx(0.8112920095890229, abs=1e-12)
    assert opt["pi_min_power"] == pytest.approx(0.4, abs=1e-6)
    assert opt["ess_null"] == pytest.approx(64.0, abs=1e-10)
    assert opt["ess_alt"] == pytest.approx(127.949293976, abs=1e-8)


def test_interval_null_feasible_set_matches_ph2rand_run():
    # [RUN] des_two_stage(alpha = 0.1, beta = 0.2, delta = 0.4, Pi0 = c(0, 1), Pi1 = c(0, 0.6),
    # nCmax = 30L, piO = 0.2): 319 feasible designs; the first three rows of $feasible (full precision):
    #   n1C e2 f1  max alpha (at 0.5)   min power (at 0.3)   ESS(piO,piO)
    #   9   4  1   0.0896281814784744   0.823381292560613    21.3165514340523
    #   8   4  0   0.0979916404467076   0.840380769068726    21.9945626778993
    #   7   4  -1  0.0911652445793152   0.804620412185183    22.8789953632666
    res = two_stage_designs(alpha=0.1, beta=0.2, delta=0.4, pi0=(0.0, 1.0), pi1=(0.0, 0.6),
                            nmax_per_arm=30, pi_ess=0.2)
    assert res["n_feasible"] == 319
    f = res["feasible"]
    rows = [(9, 1, 4, 0.0896281814784744, 0.823381292560613, 21.3165514340523),
            (8, 0, 4, 0.0979916404467076, 0.840380769068726, 21.9945626778993),
            (7, -1, 4, 0.0911652445793152, 0.804620412185183, 22.8789953632666)]
    for i, (n1, f1, e2, alpha, power, ess) in enumerate(rows):
        assert (f["n1"][i], f["n2"][i], f["f1"][i], f["e2"][i]) == (n1, n1, f1, e2)
        assert f["max_type_one"][i] == pytest.approx(alpha, abs=1e-12)
        assert f["pi_max_type_one"][i] == pytest.approx(0.5, abs=1e-6)
        assert f["min_power"][i] == pytest.approx(power, abs=1e-12)
        assert f["pi_min_power"][i] == pytest.approx(0.3, abs=1e-6)
        assert f["ess_null"][i] == pytest.approx(ess, abs=1e-10)


# ---------------------------------------------------------------------------------------------
# 2. Brute force over outcomes
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("design, ratio, rates", [
    ((17, 17, 0, INF, 4), 1, [(0.1, 0.1), (0.1, 0.3), (0.5, 0.5), (0.37, 0.81)]),
    ((4, 4, 2, 5, 5), 2, [(0.2, 0.2), (0.2, 0.6), (0.0, 1.0)]),
    ((6, 9, -INF, 3, 2), 1, [(0.3, 0.3), (0.25, 0.6), (1.0, 0.0)]),     # efficacy stop, no futility stop
    ((8, 5, -2, 4, 1), 1, [(0.0, 0.0), (1.0, 1.0), (0.45, 0.2)]),
    ((10, 7, 1, INF, -3), 1, [(0.6, 0.6), (0.05, 0.9)]),               # e2 reachable without responders
])
def test_operating_characteristics_agree_with_brute_force(design, ratio, rates):
    for pc, pe in rates:
        got = two_stage_oc(*design, pc, pe, ratio=ratio)
        ref = brute_oc(*design, pc, pe, ratio=ratio)
        for k in ("reject", "pet", "ess"):
            assert got[k] == pytest.approx(ref[k], abs=1e-12), (design, pc, pe, k)
        assert got["pet"] == pytest.approx(got["stop_efficacy"] + got["stop_futility"], abs=1e-15)


def test_max_type_one_over_a_dense_grid():
    # The maximized type I error is reached (two_stage_oc at the argmax), is never below a dense grid,
    # and exceeds it by no more than the grid misses; equal arms give a curve symmetric about 0.5.
    for design in [(17, 17, 0, INF, 4), (6, 9, -INF, 3, 2), (12, 5, 2, 6, 3)]:
        value, where = two_stage_max_type_one(*design)
        assert two_stage_oc(*design, where, where)["reject"] == pytest.approx(value, abs=1e-14)
        grid = np.linspace(0, 1, 1001)
        curve = np.array([two_stage_oc(*design, p, p)["reject"] for p in grid])
        assert curve.max() - 1e-14 <= value <= curve.max() + 1e-6
        assert np.allclose(curve, curve[::-1], atol=1e-13)
        sub, at = two_stage_max_type_one(*design, pi0=(0.1, 0.3))
        assert 0.1 <= at <= 0.3 and sub <= value + 1e-15
        assert sub >= max(two_stage_oc(*design, p, p)["reject"] for p in np.linspace(0.1, 0.3, 201)) - 1e-14
    power, at = two_stage_min_power(17, 17, 0, INF, 4, 0.2, pi1=(0.0, 0.8))
    assert power == pytest.approx(two_stage_oc(17, 17, 0, INF, 4, at, at + 0.2)["reject"], abs=1e-14)
    assert power <= min(two_stage_oc(17, 17, 0, INF, 4, p, p + 0.2)["reject"] for p in np.linspace(0, 0.8, 801))


# ---------------------------------------------------------------------------------------------
# 3. Monte Carlo simulation of the rule
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("design, ratio, pc, pe, seed", [
    ((17, 17, 0, INF, 4), 1, 0.1, 0.3, 1),
    ((17, 17, 0, INF, 4), 1, 0.5, 0.5, 2),
    ((4, 4, 2, 5, 5), 2, 0.2, 0.6, 3),
    ((6, 9, -INF, 3, 2), 1, 0.3, 0.45, 4),
])
def test_monte_carlo_simulation_agrees_within_4_mcse(design, ratio, pc, pe, seed):
    n1, n2, f1, e1, e2 = design
    trials = 200_000
    rng = np.random.default_rng(seed)
    d1 = rng.binomial(n1 * ratio, pe, trials) - rng.binomial(n1, pc, trials)
    d2 = rng.binomial(n2 * ratio, pe, trials) - rng.binomial(n2, pc, trials)
    stop_futility, stop_efficacy = d1 <= f1, d1 >= e1
    go = ~(stop_futility | stop_efficacy)
    reject = stop_efficacy | (go & (d1 + d2 >= e2))
    size = (1 + ratio) * (n1 + go * n2)
    exact = two_stage_oc(*design, pc, pe, ratio=ratio)
    for est, p in ((reject.mean(), exact["reject"]), ((~go).mean(), exact["pet"])):
        assert abs(est - p) <= 4 * math.sqrt(p * (1 - p) / trials), (est, p)
    sd = (1 + ratio) * n2 * math.sqrt(exact["pet"] * (1 - exact["pet"]))
    assert abs(size.mean() - exact["ess"]) <= 4 * sd / math.sqrt(trials)


# ---------------------------------------------------------------------------------------------
# 4. The search: constraints, and an independent brute-force search
# ---------------------------------------------------------------------------------------------

def test_search_result_satisfies_its_constraints():
    kw = {"alpha": 0.1, "beta": 0.2, "delta": 0.4, "pi0": (0.0, 1.0), "pi1": (0.05, 0.6), "pi_ess": 0.3}
    res = two_stage_designs(**kw, nmax_per_arm=14, equal_stages=False, efficacy=True)
    assert res["n_feasible"] > 0
    for d in (res["optimal"], res["minimax"]):
        args = (d["n1"], d["n2"], d["f1"], d["e1"], d["e2"])
        assert d["n1"] + d["n2"] <= 14 and d["f1"] + 1 < d["e1"]
        assert d["f1"] + 2 - d["n2"] <= d["e2"] <= d["e1"] - 1 + d["n2"]
        t1, _ = two_stage_max_type_one(*args, pi0=(0.0, 1.0))
        pw, _ = two_stage_min_power(*args, 0.4, pi1=(0.05, 0.6))
        assert t1 == pytest.approx(d["max_type_one"], abs=1e-12) and t1 <= 0.1
        assert pw == pytest.approx(d["min_power"], abs=1e-12) and pw >= 0.8
        assert d["ess_null"] == pytest.approx(two_stage_oc(*args, 0.3, 0.3)["ess"], abs=1e-12)
        assert d["ess_alt"] == pytest.approx(two_stage_oc(*args, 0.3, 0.7)["ess"], abs=1e-12)
        assert d["max_n"] == 2 * (d["n1"] + d["n2"])
    f = res["feasible"]
    assert np.all(f["max_type_one"] <= 0.1) and np.all(f["min_power"] >= 0.8)
    assert res["optimal"]["ess_null"] == f["ess_null"].min()
    assert res["minimax"]["max_n"] == f["max_n"].min()
    # every feasible design checked against a dense grid of the rejection curve
    rng = np.random.default_rng(5)
    for i in rng.choice(f["n1"].size, size=min(10, f["n1"].size), replace=False):
        args = (int(f["n1"][i]), int(f["n2"][i]), f["f1"][i], f["e1"][i], int(f["e2"][i]))
        grid = np.linspace(0, 1, 201)
        assert max(two_stage_oc(*args, p, p)["reject"] for p in grid) <= f["max_type_one"][i] + 1e-14


@pytest.mark.parametrize("kw", [
    {"alpha": 0.1, "beta": 0.2, "delta": 0.4, "p0": 0.2, "nmax": 12, "equal": False, "futility": True, "efficacy": False},
    {"alpha": 0.1, "beta": 0.2, "delta": 0.4, "p0": 0.2, "nmax": 20, "equal": True, "futility": True, "efficacy": True},
    {"alpha": 0.1, "beta": 0.2, "delta": 0.35, "p0": 0.3, "nmax": 16, "equal": False, "futility": True, "efficacy": True},
    {"alpha": 0.1, "beta": 0.2, "delta": 0.4, "p0": 0.3, "nmax": 20, "equal": True, "futility": False, "efficacy": True},
])
def test_search_agrees_with_brute_force_search(kw):
    ref = brute_search(**kw)
    assert ref, "the brute force found no feasible design; choose other parameters"
    res = two_stage_designs(kw["alpha"], kw["beta"], kw["delta"], kw["p0"], kw["nmax"],
                            equal_stages=kw["equal"], futility=kw["futility"], efficacy=kw["efficacy"])
    f = res["feasible"]
    got = {(int(a), int(b), c, d, int(e)): (t, p, s) for a, b, c, d, e, t, p, s in
           zip(f["n1"], f["n2"], f["f1"], f["e1"], f["e2"], f["max_type_one"], f["min_power"], f["ess_null"])}
    assert set(got) == {r[0] for r in ref}
    for key, t1, pw, ess, _ in ref:
        assert got[key] == pytest.approx((t1, pw, ess), abs=1e-12)
    # optimal: least ESS(p0, p0), then larger power, then ph2rand's loop order (the list order);
    # minimax: least maxN, then ESS, then power.
    best = min(range(len(ref)), key=lambda i: (ref[i][3], -ref[i][2], i))
    mini = min(range(len(ref)), key=lambda i: (ref[i][4], ref[i][3], -ref[i][2], i))
    assert key_of(res["optimal"]) == ref[best][0]
    assert key_of(res["minimax"]) == ref[mini][0]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        two_stage_oc(0, 5, 0, INF, 2, 0.1, 0.1)
    with pytest.raises(ValueError):
        two_stage_oc(5, 5, 1.5, INF, 2, 0.1, 0.1)
    with pytest.raises(ValueError):
        two_stage_oc(5, 5, 3, 3, 2, 0.1, 0.1)          # f1 < e1 required
    with pytest.raises(ValueError):
        two_stage_oc(5, 5, 0, INF, 2, 0.1, 1.2)
    with pytest.raises(ValueError):
        two_stage_oc(5, 5, 0, INF, 2, 0.1, 0.3, ratio=0.3)   # 5 * 0.3 is not a whole number
    with pytest.raises(ValueError):
        two_stage_designs(pi0=(0.5, 0.2))
    with pytest.raises(ValueError):
        two_stage_designs(delta=0.2, pi0=0.1, pi1=0.9)       # pi1 + delta > 1
    with pytest.raises(ValueError):
        two_stage_designs(w=(0, 0, 0, 0, 1))
