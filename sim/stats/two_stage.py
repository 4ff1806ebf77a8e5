"""Exact operating characteristics and design search for Jung's (2008) randomized two-stage phase II design.

The design (Jung SH, "Randomized phase II trials with a prospective control", Stat Med 2008;
27:568-583), as the R package ph2rand (Grayling & Mander) implements it in
``des_two_stage(type = "binomial")``. Arm C (control) has n1C patients in stage 1 and n2C in stage 2;
arm E (rechallenge) has n1E = r n1C and n2E = r n2C (r: ``ratio``, 1 by default). Responses are
independent, X_Ck ~ Bin(nkC, pi_C), X_Ek ~ Bin(nkE, pi_E). The test statistic is the difference in
the NUMBER of responders (not of proportions) -- stage-wise D_k = X_Ek - X_Ck, cumulative D1 + D2:

    stage 1:  D1 <= f1            stop, H0 (piE <= piC) not rejected      (futility)
              D1 >= e1            stop, H0 rejected                       (efficacy; e1 = +inf: none)
              f1 < D1 < e1        continue to stage 2
    stage 2:  D1 + D2 >= e2       reject H0, else do not.

All boundaries are integers on the difference of counts; every comparison is inclusive as written
(ph2rand: ``statistic <= f1``, ``statistic >= e1``, ``statistic >= e2``). Jung's (2008) own notation
(n, n1, a1, a) is n = n1C + n2C, n1 = n1C, a1 = f1 + 1 (continue iff D1 >= a1) and a = e2.
Without futility stopping f1 = -inf (ph2rand: -n1C - 1); without efficacy stopping e1 = +inf
(ph2rand: n1E + 1). ph2rand's default is futility only, as in Jung (2008).

Exact operating characteristics. D1 and D2 are independent, and the pmf of each is the convolution
P(D = d) = sum_x b(x; nC, pi_C) b(x + d; nE, pi_E). Hence, with T2(k) = P(D2 >= k),

    P(reject) = P(D1 >= e1) + sum_{f1 < d < e1} P(D1 = d) T2(e2 - d),
    PET       = P(D1 <= f1) + P(D1 >= e1)                  (probability of stopping after stage 1),
    ESS       = n1C + n1E + (1 - PET)(n2C + n2E)           (expected total patients, both arms).

These are finite sums of binomial probabilities: no Monte Carlo error, floating-point sums only.

Type I error and power. H0 is composite (piE = piC = pi, pi unknown). ph2rand's ``Pi0`` is either a
point (the type I error is P_pi(reject) at that pi) or an interval [a, b], over which the type I
error is the maximum of P_pi(reject); power is likewise the minimum over ``Pi1`` of
P(reject | piC = pi, piE = pi + delta). P_pi(reject) is a polynomial in pi of degree
n1C + n1E + n2C + n2E; here its maximum over an interval is taken on an arcsine-spaced grid
(pi = sin^2(theta), theta evenly spaced, as ``sequential.nuisance_grid``), and each of the grid's
best local maxima is refined by golden-section search between its neighbours, so the reported value
is never below any grid value (the global maximum up to the grid resolving the peaks). ph2rand
itself runs one local Brent search started at pi = 0.5 (or the interval's midpoint), which can miss
a maximum away from 0.5; with ``Pi0`` a point the two coincide. With equal arms (r = 1) the
rejection curve is symmetric about pi = 0.5 (swap responders and non-responders).

Design search (``two_stage_designs``), as ph2rand's ``binomial_des_two_stage``: for every n1C, n2C
with n1C + n2C <= nCmax (``equal_stages``: n2C = n1C <= nCmax / 2), every f1 in [-n1C, n1E - 1]
(futility only), e1 in [f1 + 2, n1E] (if efficacy stopping), and every e2 in
[f1 + 2 - n2C, e1 - 1 + n2E] (so that after continuing the final decision is not certain), a design
is feasible when its type I error is <= alpha and its power >= 1 - beta. The "optimal" design
minimizes ph2rand's weighted criterion w1 ESS(piO, piO) + w2 ESS(piO, piO + delta) +
w3 max_pi ESS(pi, pi) + w4 max_{piC, piE} ESS(piC, piE) + w5 maxN (default w = (1, 0, 0, 0, 0)),
ties broken by larger power, then by ph2rand's loop order (n1C, f1, e1, n2C, e2 ascending);
"minimax" minimizes maxN = n1C + n1E + n2C + n2E, then ESS(piO, piO), then larger power (ph2rand's
validation vignette uses w = (1e-6, 0, 0, 0, 1) for Jung's minimax designs). The type I error and
power of every candidate are computed on the grids for all (f1, e1, e2) at once with numpy, and
the grid-feasible candidates are then refined as above.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
from scipy.optimize import minimize
from scipy.special import comb
from scipy.stats import binom

#: Refined local extrema of each rejection curve; golden-section iterations (bracket x 0.618^k).
_CANDIDATES = 3
_GOLDEN_STEPS = 45
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
#: Upper bound on grid x candidates x e2 values held in memory at once by the search.
_CHUNK_CELLS = 2_000_000


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------

def _positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _rechallenge_size(name: str, n: int, ratio: float) -> int:
    m = n * ratio
    if abs(m - round(m)) > 1e-9 or round(m) < 1:
        raise ValueError(f"{name} * ratio must be a positive integer, got {n} * {ratio!r}")
    return round(m)


def _check_ratio(ratio) -> float:
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not ratio > 0 \
            or not math.isfinite(ratio):
        raise ValueError(f"ratio must be a positive finite number, got {ratio!r}")
    return float(ratio)


def _boundary(name: str, value, allow: float | None) -> float:
    """An integer boundary, or the infinity ``allow`` (+inf for e1, -inf for f1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be an integer{'' if allow is None else ' or ' + str(allow)}, "
                        f"got {value!r}")
    v = float(value)
    if math.isinf(v) and allow is not None and v == allow:
        return v
    if not math.isfinite(v) or v != math.floor(v):
        raise ValueError(f"{name} must be an integer{'' if allow is None else ' or ' + str(allow)}, "
                         f"got {value!r}")
    return v


def _check_rate(name: str, p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {p!r}")
    return float(p)


def _check_design(n1, n2, f1, e1, e2, ratio):
    n1, n2 = _positive_int("n1", n1), _positive_int("n2", n2)
    ratio = _check_ratio(ratio)
    n1e, n2e = _rechallenge_size("n1", n1, ratio), _rechallenge_size("n2", n2, ratio)
    f1 = _boundary("f1", f1, -math.inf)
    e1 = _boundary("e1", e1, math.inf)
    e2 = _boundary("e2", e2, None)
    if not f1 < e1:
        raise ValueError(f"need f1 < e1, got f1={f1}, e1={e1}")
    return n1, n1e, n2, n2e, f1, e1, e2


def _rate_set(name: str, value, upper: float = 1.0) -> tuple[float, float]:
    """A point (float) or an interval (lo, hi) of rates in [0, upper], as (lo, hi) (lo == hi: a point)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        lo = hi = float(value)
    else:
        try:
            lo, hi = (float(v) for v in value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a rate or a pair (lo, hi), got {value!r}") from None
        if not hi > lo:
            raise ValueError(f"{name} = (lo, hi) needs hi > lo, got {value!r}")
    if not (0.0 <= lo and hi <= upper + 1e-12):
        raise ValueError(f"{name} must lie in [0, {upper:g}], got {value!r}")
    return lo, min(hi, upper)


# --------------------------------------------------------------------------------------------
# Exact distributions
# --------------------------------------------------------------------------------------------

def _binom_pmf(n: int, p: np.ndarray) -> np.ndarray:
    """Row k: the Bin(n, p[k]) pmf over 0..n, as C(n, x) p^x (1 - p)^(n - x) (0^0 = 1: exact at p = 0, 1;
    scipy's binom.pmf, slower per call, once C(n, x) would overflow)."""
    x = np.arange(n + 1)
    p = np.asarray(p, dtype=float)[:, None]
    if n > 1000:
        return binom.pmf(x[None, :], n, p)
    return comb(n, x) * p ** x * (1.0 - p) ** (n - x)


def _diff_pmf(n_c: int, n_e: int, p_c: np.ndarray, p_e: np.ndarray) -> np.ndarray:
    """Row k: pmf of X_E - X_C, X_C ~ Bin(n_c, p_c[k]), X_E ~ Bin(n_e, p_e[k]); column j is d = j - n_c."""
    bc, be = _binom_pmf(n_c, p_c), _binom_pmf(n_e, p_e)
    out = np.zeros((p_c.size, n_c + n_e + 1))
    for xc in range(n_c + 1):
        out[:, n_c - xc:n_c - xc + n_e + 1] += bc[:, xc:xc + 1] * be
    return out


def _padded_tail(pmf: np.ndarray) -> np.ndarray:
    """t[:, j] = sum_{i >= j} pmf[:, i] for j = 0..K, with t[:, K] = 0 (K = number of columns)."""
    tail = np.cumsum(pmf[:, ::-1], axis=1)[:, ::-1]
    return np.concatenate([tail, np.zeros((pmf.shape[0], 1))], axis=1)


def _reject_many(sizes, f1, e1, e2, p_c, p_e) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(reject), P(stop for efficacy at 1), P(stop for futility at 1)) of designs k with common
    stage sizes ``sizes`` = (n1C, n1E, n2C, n2E), boundaries f1[k], e1[k], e2[k], at rates p_c[k], p_e[k]."""
    n1c, n1e, n2c, n2e = sizes
    f1, e1, e2 = (np.asarray(a, dtype=float)[:, None] for a in (f1, e1, e2))
    p1 = _diff_pmf(n1c, n1e, np.asarray(p_c, float), np.asarray(p_e, float))
    t2 = _padded_tail(_diff_pmf(n2c, n2e, np.asarray(p_c, float), np.asarray(p_e, float)))
    d1 = np.arange(-n1c, n1e + 1, dtype=float)[None, :]
    eff = (p1 * (d1 >= e1)).sum(axis=1)
    fut = (p1 * (d1 <= f1)).sum(axis=1)
    go = (d1 > f1) & (d1 < e1)
    # P(D2 >= e2 - d1): column e2 - d1 + n2C of the padded tail, clipped to [0 (certain), end (never)].
    k = np.clip(e2 - d1 + n2c, 0, n2c + n2e + 1).astype(int)
    later = (p1 * np.take_along_axis(t2, k, axis=1) * go).sum(axis=1)
    return eff + later, eff, fut


# --------------------------------------------------------------------------------------------
# Public: operating characteristics of one design
# --------------------------------------------------------------------------------------------

def two_stage_oc(n1, n2, f1, e1, e2, pi_control, pi_rechallenge, *, ratio=1) -> dict:
    """Exact operating characteristics of the two-stage design at response rates (pi_control, pi_rechallenge).

    ``n1``, ``n2``: control patients in stage 1 and stage 2 (the rechallenge arm has ``ratio`` times as
    many: with the default ratio 1, n1 and n2 are per arm). ``f1``, ``e1``, ``e2``: integer boundaries on
    the difference in the number of responders, rechallenge minus control (stage 1: stop for futility
    if D1 <= f1, for efficacy if D1 >= e1; final: reject H0 if D1 + D2 >= e2). ``f1 = -inf``: no
    futility stop; ``e1 = +inf``: no efficacy stop (Jung 2008 and ph2rand's default).

    Returns ``reject`` (probability of rejecting H0), ``pet`` (probability of stopping after stage 1),
    ``ess`` (expected total number of patients, both arms, in patients), ``stop_efficacy`` and
    ``stop_futility`` (the two parts of ``pet``; ph2rand's E1 and F1).
    """
    n1c, n1e, n2c, n2e, f1, e1, e2 = _check_design(n1, n2, f1, e1, e2, ratio)
    pc = _check_rate("pi_control", pi_control)
    pe = _check_rate("pi_rechallenge", pi_rechallenge)
    rej, eff, fut = _reject_many((n1c, n1e, n2c, n2e), [f1], [e1], [e2], [pc], [pe])
    pet = float(eff[0] + fut[0])
    p1 = _diff_pmf(n1c, n1e, np.array([pc]), np.array([pe]))[0]
    d1 = np.arange(-n1c, n1e + 1)
    go = float(p1[(d1 > f1) & (d1 < e1)].sum())
    return {"reject": float(rej[0]), "pet": pet, "ess": n1c + n1e + go * (n2c + n2e),
            "stop_efficacy": float(eff[0]), "stop_futility": float(fut[0])}


# --------------------------------------------------------------------------------------------
# Extremes over the nuisance rate
# --------------------------------------------------------------------------------------------

def _rate_grid(lo: float, hi: float, n_total: int) -> np.ndarray:
    """Rates sin^2(theta), theta evenly spaced over [asin sqrt(lo), asin sqrt(hi)] (odd count, so that
    pi = 0.5 is a grid point on [0, 1]); the end points are exact. A single point if lo == hi."""
    if hi <= lo:
        return np.array([lo])
    m = 65 + math.ceil(24 * math.sqrt(max(n_total, 1)))
    m += 1 - m % 2
    grid = np.sin(np.linspace(math.asin(math.sqrt(lo)), math.asin(math.sqrt(hi)), m)) ** 2
    grid[0], grid[-1] = lo, hi
    if lo == 0.0 and hi == 1.0:
        grid[m // 2] = 0.5
    return grid


def _refine(curves: np.ndarray, grid: np.ndarray, f, maximize: bool):
    """Extreme over [grid[0], grid[-1]] of each column k of ``curves`` (values on ``grid``) of the
    function f(x, k) (vectorized over k): the grid extreme, improved by golden-section search in the
    brackets (neighbouring grid points) of the best ``_CANDIDATES`` local extremes, end points included.
    Returns (values, arguments)."""
    s = 1.0 if maximize else -1.0
    c = s * curves                                              # (G, K): maximize c
    G, K = c.shape
    best = np.argmax(c, axis=0)
    value, where = c[best, np.arange(K)], grid[best]
    if G < 3:
        return s * value, where
    pad = np.vstack([np.full((1, K), -np.inf), c, np.full((1, K), -np.inf)])
    local = (pad[1:-1] >= pad[:-2]) & (pad[1:-1] >= pad[2:])    # (G, K), end points included
    score = np.where(local, c, -np.inf)
    top = np.argsort(-score, axis=0)[:_CANDIDATES]              # (C, K) grid indices
    ok = np.take_along_axis(score, top, axis=0) > -np.inf
    idx, col = top[ok], np.broadcast_to(np.arange(K), top.shape)[ok]
    a, b = grid[np.maximum(idx - 1, 0)], grid[np.minimum(idx + 1, G - 1)]

    def g(x):
        return s * f(x, col)

    x1, x2 = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    g1, g2 = g(x1), g(x2)
    for _ in range(_GOLDEN_STEPS):
        left = g1 >= g2                     # the maximum lies in [a, x2]
        a, b = np.where(left, a, x1), np.where(left, x2, b)
        new = np.where(left, b - _INV_PHI * (b - a), a + _INV_PHI * (b - a))
        gn = g(new)
        x1, x2, g1, g2 = (np.where(left, new, x2), np.where(left, x1, new),
                          np.where(left, gn, g2), np.where(left, g1, gn))
    xb, gb = np.where(g1 >= g2, x1, x2), np.maximum(g1, g2)
    order = np.lexsort((-gb, col))                              # per column, best refined first
    first = order[np.r_[True, col[order][1:] != col[order][:-1]]]
    better = gb[first] > value[col[first]] + 1e-12 * np.abs(value[col[first]])   # not rounding noise
    value[col[first][better]], where[col[first][better]] = gb[first][better], xb[first][better]
    return s * value, where


def _null_curve(sizes, f1, e1, e2):
    def f(x, k):
        return _reject_many(sizes, f1[k], e1[k], e2[k], x, x)[0]
    return f


def _alt_curve(sizes, f1, e1, e2, delta):
    def f(x, k):
        return _reject_many(sizes, f1[k], e1[k], e2[k], x, np.minimum(x + delta, 1.0))[0]
    return f


def two_stage_max_type_one(n1, n2, f1, e1, e2, *, pi0=(0.0, 1.0), ratio=1) -> tuple[float, float]:
    """(type I error, the common rate where it is reached): max of P(reject | piC = piE = pi) over pi in
    ``pi0`` (an interval (lo, hi), by default all of [0, 1], or a single rate). Arguments as two_stage_oc."""
    n1c, n1e, n2c, n2e, f1, e1, e2 = _check_design(n1, n2, f1, e1, e2, ratio)
    lo, hi = _rate_set("pi0", pi0)
    sizes = (n1c, n1e, n2c, n2e)
    grid = _rate_grid(lo, hi, sum(sizes))
    one = np.zeros(grid.size, dtype=int)
    f1a, e1a, e2a = np.array([f1]), np.array([e1]), np.array([e2])
    curve = _reject_many(sizes, f1a[one], e1a[one], e2a[one], grid, grid)[0][:, None]
    value, where = _refine(curve, grid, _null_curve(sizes, f1a, e1a, e2a), maximize=True)
    return float(value[0]), float(where[0])


def two_stage_min_power(n1, n2, f1, e1, e2, delta, *, pi1=None, ratio=1) -> tuple[float, float]:
    """(power, the control rate where it is least): min of P(reject | piC = pi, piE = pi + delta) over
    pi in ``pi1`` (an interval, by default [0, 1 - delta], or a single control rate)."""
    n1c, n1e, n2c, n2e, f1, e1, e2 = _check_design(n1, n2, f1, e1, e2, ratio)
    delta = _check_delta(delta)
    lo, hi = _rate_set("pi1", (0.0, 1.0 - delta) if pi1 is None else pi1, 1.0 - delta)
    sizes = (n1c, n1e, n2c, n2e)
    grid = _rate_grid(lo, hi, sum(sizes))
    one = np.zeros(grid.size, dtype=int)
    f1a, e1a, e2a = np.array([f1]), np.array([e1]), np.array([e2])
    curve = _reject_many(sizes, f1a[one], e1a[one], e2a[one], grid, np.minimum(grid + delta, 1.0))[0]
    value, where = _refine(curve[:, None], grid, _alt_curve(sizes, f1a, e1a, e2a, delta), maximize=False)
    return float(value[0]), float(where[0])


def _check_delta(delta) -> float:
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    return float(delta)


# --------------------------------------------------------------------------------------------
# Expected sample size criteria
# --------------------------------------------------------------------------------------------

def _continue_prob(n1c, n1e, f1, e1, p_c, p_e) -> np.ndarray:
    """P(f1 < D1 < e1) for each rate pair (rows) and each (f1, e1) (columns)."""
    p1 = _diff_pmf(n1c, n1e, np.asarray(p_c, float), np.asarray(p_e, float))
    cum = np.concatenate([np.zeros((p1.shape[0], 1)), np.cumsum(p1, axis=1)], axis=1)  # cum[:, j] = P(D1 < j - n1c)
    lo = np.clip(np.asarray(f1, float) + 1 + n1c, 0, n1c + n1e + 1).astype(int)       # d1 >= f1 + 1
    hi = np.clip(np.asarray(e1, float) + n1c, 0, n1c + n1e + 1).astype(int)           # d1 <= e1 - 1
    return np.maximum(cum[:, hi] - cum[:, lo], 0.0)


def _max_ess_null(sizes, f1, e1) -> tuple[float, float]:
    """max over pi in [0, 1] of ESS(pi, pi), and where."""
    n1c, n1e, n2c, n2e = sizes
    grid = _rate_grid(0.0, 1.0, sum(sizes))
    curve = _continue_prob(n1c, n1e, [f1], [e1], grid, grid)

    def f(x, k):
        return _continue_prob(n1c, n1e, [f1], [e1], x, x)[:, 0]

    value, where = _refine(curve, grid, f, maximize=True)
    return n1c + n1e + float(value[0]) * (n2c + n2e), float(where[0])


def _max_ess_any(sizes, f1, e1) -> tuple[float, float, float]:
    """max over (piC, piE) in [0, 1]^2 of ESS(piC, piE): a 2-d grid, polished by L-BFGS-B."""
    n1c, n1e, n2c, n2e = sizes
    g = _rate_grid(0.0, 1.0, 1)
    pc, pe = np.repeat(g, g.size), np.tile(g, g.size)
    vals = _continue_prob(n1c, n1e, [f1], [e1], pc, pe)[:, 0]
    i = int(np.argmax(vals))
    res = minimize(lambda x: -_continue_prob(n1c, n1e, [f1], [e1], [x[0]], [x[1]])[0, 0],
                   x0=[pc[i], pe[i]], bounds=[(0.0, 1.0), (0.0, 1.0)], method="L-BFGS-B")
    best, xc, xe = float(vals[i]), float(pc[i]), float(pe[i])
    if -res.fun > best:
        best, xc, xe = float(-res.fun), float(res.x[0]), float(res.x[1])
    return n1c + n1e + best * (n2c + n2e), xc, xe


# --------------------------------------------------------------------------------------------
# Design search
# --------------------------------------------------------------------------------------------

_COLUMNS = ("n1", "n2", "n1_rechallenge", "n2_rechallenge", "f1", "e1", "e2", "max_type_one",
            "pi_max_type_one", "min_power", "pi_min_power", "ess_null", "ess_alt", "max_n")


def _stage_pairs(n1c, n1e, futility, efficacy):
    """The (f1, e1) pairs ph2rand visits, in its loop order."""
    fs = np.arange(-n1c, (n1e - 2 if efficacy else n1e - 1) + 1) if futility else np.array([-n1c - 1])
    f1, e1 = [], []
    for f in fs:
        es = np.arange(f + 2, n1e + 1) if efficacy else np.array([n1e + 1])
        f1 += [f] * es.size
        e1 += list(es)
    return np.array(f1, dtype=int), np.array(e1, dtype=int)


def _search_sizes(sizes, rates, alpha, beta, delta, futility, efficacy):
    """Every feasible (f1, e1, e2) for the stage sizes ``sizes``, with attained type I error and power."""
    n1c, n1e, n2c, n2e = sizes
    (lo0, hi0), (lo1, hi1), pi_ess = rates
    g0 = _rate_grid(lo0, hi0, sum(sizes))
    g1 = _rate_grid(lo1, hi1, sum(sizes))
    f1, e1 = _stage_pairs(n1c, n1e, futility, efficacy)
    if f1.size == 0:
        return None
    e2_all = np.arange(f1.min() + 2 - n2c, n1e + n2e + 1)
    d1 = np.arange(-n1c, n1e + 1)

    def cumulative(pc, pe):
        """Rc[g, j, i] = sum_{d1 >= j - n1C} P(D1 = d1) P(D2 >= e2_i - d1) (zero row at j = D1); S1[g, j] = P(D1 >= j - n1C)."""
        p1 = _diff_pmf(n1c, n1e, pc, pe)
        t2 = _padded_tail(_diff_pmf(n2c, n2e, pc, pe))
        k = np.clip(e2_all[None, :] - d1[:, None] + n2c, 0, n2c + n2e + 1)     # (D1, E2)
        m = p1[:, :, None] * t2[:, k]                                           # (G, D1, E2)
        rc = np.cumsum(m[:, ::-1], axis=1)[:, ::-1]
        rc = np.concatenate([rc, np.zeros((pc.size, 1, e2_all.size))], axis=1)
        return rc, _padded_tail(p1)

    rc0, s0 = cumulative(g0, g0)
    rc1, s1 = cumulative(g1, np.minimum(g1 + delta, 1.0))
    j0, j1 = f1 + 1 + n1c, np.minimum(e1, n1e + 1) + n1c
    valid_all = (e2_all[None, :] >= (f1 + 2 - n2c)[:, None]) & (e2_all[None, :] <= (e1 - 1 + n2e)[:, None])
    chunk = max(1, _CHUNK_CELLS // max(1, (g0.size + g1.size) * e2_all.size))
    found = []
    for start in range(0, f1.size, chunk):
        sl = slice(start, start + chunk)
        valid = valid_all[sl]
        r0 = s0[:, j1[sl]][:, :, None] + rc0[:, j0[sl], :] - rc0[:, j1[sl], :]   # (G0, C, E2)
        m0 = r0.max(axis=0)
        ok = valid & (m0 <= alpha)
        if not ok.any():
            continue
        r1 = s1[:, j1[sl]][:, :, None] + rc1[:, j0[sl], :] - rc1[:, j1[sl], :]
        m1 = r1.min(axis=0)
        ok &= m1 >= 1.0 - beta
        if not ok.any():
            continue
        ci, ei = np.nonzero(ok)
        found.append((ci + start, ei, r0[:, ci, ei], r1[:, ci, ei]))
    if not found:
        return None
    pair = np.concatenate([x[0] for x in found])
    e2 = e2_all[np.concatenate([x[1] for x in found])]
    c0 = np.concatenate([x[2] for x in found], axis=1)
    c1 = np.concatenate([x[3] for x in found], axis=1)
    f1c, e1c = f1[pair].astype(float), e1[pair].astype(float)
    if not efficacy:
        e1c = np.full(e1c.shape, math.inf)
    if not futility:
        f1c = np.full(f1c.shape, -math.inf)
    if g0.size > 1:
        t1, t1_at = _refine(c0, g0, _null_curve(sizes, f1c, e1c, e2), maximize=True)
    else:
        t1, t1_at = c0[0], np.full(c0.shape[1], g0[0])
    if g1.size > 1:
        pw, pw_at = _refine(c1, g1, _alt_curve(sizes, f1c, e1c, e2, delta), maximize=False)
    else:
        pw, pw_at = c1[0], np.full(c1.shape[1], g1[0])
    keep = (t1 <= alpha) & (pw >= 1.0 - beta)
    if not keep.any():
        return None
    go = _continue_prob(n1c, n1e, f1[pair], e1[pair], [pi_ess, pi_ess], [pi_ess, min(pi_ess + delta, 1.0)])
    n_total = n1c + n1e + n2c + n2e
    k = np.flatnonzero(keep)
    return {"n1": np.full(k.size, n1c), "n2": np.full(k.size, n2c),
            "n1_rechallenge": np.full(k.size, n1e), "n2_rechallenge": np.full(k.size, n2e),
            "f1": f1c[k], "e1": e1c[k], "e2": e2[k],
            "max_type_one": t1[k], "pi_max_type_one": t1_at[k], "min_power": pw[k], "pi_min_power": pw_at[k],
            "ess_null": n1c + n1e + go[0, k] * (n2c + n2e), "ess_alt": n1c + n1e + go[1, k] * (n2c + n2e),
            "max_n": np.full(k.size, n_total),
            "_order": np.column_stack([np.full(k.size, n1c), f1[pair][k], e1[pair][k],
                                       np.full(k.size, n2c), e2[k]])}


def two_stage_designs(alpha=0.1, beta=0.2, delta=0.2, pi0=(0.0, 1.0), nmax_per_arm=70, *, pi1=None,
                      pi_ess=None, ratio=1, equal_stages=True, futility=True, efficacy=False,
                      w=(1.0, 0.0, 0.0, 0.0, 0.0)) -> dict:
    """Optimal and minimax two-stage designs of Jung (2008), searched exactly as ph2rand's
    ``des_two_stage(type = "binomial")`` (see the module docstring).

    ``alpha``: type I error bound; ``1 - beta``: power required at piE = piC + ``delta``.
    ``pi0``: the common rate(s) under H0 over which the type I error is maximized -- a rate (ph2rand's
    default Pi0 = 0.1) or an interval (lo, hi); by default all of [0, 1]. ``pi1``: the control rate(s)
    over which power is minimized, in [0, 1 - delta]; default ``pi0`` when it is a point (as ph2rand),
    else (lo, min(hi, 1 - delta)) (ph2rand's default would be the point Pi0[1]). ``pi_ess``: the rate
    piO of the ESS criteria, default ``pi0`` / its lower end (as ph2rand; for pi0 = (0, 1) that is the
    ESS at pi = 0, so pass it). ``nmax_per_arm``: the largest control-arm total n1C + n2C searched
    (ph2rand's nCmax, 50 there). The default 70 finds the design for the default arguments (32 + 32
    per arm; ph2rand's Pi0 = (0, 1), Pi1 = (0, 0.8) example) in about 4 s; with ``equal_stages=False``
    the search visits every (n1C, n2C) pair and an interval pi0 refines every grid-feasible design,
    so keep nmax_per_arm to about 30 there (nmax 24: about 10 s).
    ``ratio``: rechallenge patients per control patient in each stage (n1C * ratio must be an
    integer, else that n1C is skipped, as ph2rand). ``equal_stages``: n2C = n1C (ph2rand's default
    ``equal = TRUE``). ``futility``/``efficacy``: early stopping allowed after stage 1 (ph2rand defaults
    TRUE/FALSE, Jung's design). ``w``: ph2rand's five weights of the optimality criterion.

    Returns {"optimal": design, "minimax": design, "n_feasible": int, "feasible": {column: array}}
    with the feasible designs sorted best-first by the optimality criterion; a design is a dict with
    n1, n2 (control, per stage), n1_rechallenge, n2_rechallenge, f1, e1, e2 (boundaries, -inf/+inf when
    that stop is off), max_type_one and pi_max_type_one, min_power and pi_min_power (control rate),
    ess_null = ESS(piO, piO), ess_alt = ESS(piO, piO + delta) (expected total patients, both arms),
    max_n (maximum total patients), max_ess_null (max over pi of ESS(pi, pi)), objective.
    ``optimal``/``minimax`` are None when no design is feasible.
    """
    for name, v in (("alpha", alpha), ("beta", beta)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not 0.0 < v < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {v!r}")
    delta = _check_delta(delta)
    ratio = _check_ratio(ratio)
    nmax = _positive_int("nmax_per_arm", nmax_per_arm)
    lo0, hi0 = _rate_set("pi0", pi0)
    if pi1 is None:
        pi1 = lo0 if hi0 == lo0 else (lo0, min(hi0, 1.0 - delta))
    lo1, hi1 = _rate_set("pi1", pi1, 1.0 - delta)
    pi_ess = lo0 if pi_ess is None else pi_ess
    pi_ess = _check_rate("pi_ess", pi_ess)
    if pi_ess + delta > 1.0:
        raise ValueError(f"pi_ess + delta must be at most 1, got {pi_ess} + {delta}")
    w = np.asarray(w, dtype=float)
    if w.shape != (5,) or np.any(w < 0) or not np.any(w[:4] > 0):
        raise ValueError(f"w must be 5 non-negative weights with one of the first four positive, got {w}")
    futility, efficacy, equal_stages = bool(futility), bool(efficacy), bool(equal_stages)

    ns = [n for n in range(1, nmax + 1) if abs(n * ratio - round(n * ratio)) < 1e-9]
    rates = ((lo0, hi0), (lo1, hi1), pi_ess)
    parts = []
    for n1 in ns:
        if (equal_stages and n1 > 0.5 * nmax) or (not equal_stages and n1 >= nmax):
            continue
        for n2 in ([n1] if equal_stages else [n for n in ns if n1 + n <= nmax]):
            sizes = (n1, round(n1 * ratio), n2, round(n2 * ratio))
            part = _search_sizes(sizes, rates, alpha, beta, delta, futility, efficacy)
            if part is not None:
                parts.append(part)
    out = {"alpha": alpha, "beta": beta, "delta": delta, "pi0": (lo0, hi0), "pi1": (lo1, hi1),
           "pi_ess": pi_ess, "ratio": ratio, "nmax_per_arm": nmax, "equal_stages": equal_stages,
           "futility": futility, "efficacy": efficacy, "w": tuple(w)}
    if not parts:
        return {**out, "optimal": None, "minimax": None, "n_feasible": 0,
                "feasible": {c: np.array([]) for c in (*_COLUMNS, "objective")}}
    table = {c: np.concatenate([p[c] for p in parts]) for c in (*_COLUMNS, "_order")}
    order = table.pop("_order")
    extra = np.zeros(table["n1"].size)
    if w[2] > 0 or w[3] > 0:
        cache = {}
        for i in range(extra.size):
            key = (int(table["n1"][i]), int(table["n2"][i]), float(table["f1"][i]), float(table["e1"][i]))
            if key not in cache:
                sz = (key[0], int(table["n1_rechallenge"][i]), key[1], int(table["n2_rechallenge"][i]))
                cache[key] = (w[2] * _max_ess_null(sz, key[2], key[3])[0] if w[2] > 0 else 0.0) + \
                             (w[3] * _max_ess_any(sz, key[2], key[3])[0] if w[3] > 0 else 0.0)
            extra[i] = cache[key]
    objective = w[0] * table["ess_null"] + w[1] * table["ess_alt"] + extra + w[4] * table["max_n"]
    table["objective"] = objective
    loop = tuple(order[:, i] for i in range(order.shape[1] - 1, -1, -1))   # e2, n2, e1, f1, n1 (last = primary)
    best_first = np.lexsort((*loop, -table["min_power"], objective))
    minimax_first = np.lexsort((*loop, -table["min_power"], table["ess_null"], table["max_n"]))
    feasible = {c: v[best_first] for c, v in table.items()}

    def design(i):
        d = {c: (float(table[c][i]) if c in ("f1", "e1", "max_type_one", "pi_max_type_one", "min_power",
                                               "pi_min_power", "ess_null", "ess_alt", "objective")
                 else int(table[c][i])) for c in (*_COLUMNS, "objective")}
        for c in ("f1", "e1"):
            if math.isfinite(d[c]):
                d[c] = int(d[c])
        sz = (d["n1"], d["n1_rechallenge"], d["n2"], d["n2_rechallenge"])
        d["max_ess_null"], d["pi_max_ess_null"] = _max_ess_null(sz, d["f1"], d["e1"])
        return d

    return {**out, "optimal": design(best_first[0]), "minimax": design(minimax_first[0]),
            "n_feasible": int(objective.size), "feasible": feasible}
