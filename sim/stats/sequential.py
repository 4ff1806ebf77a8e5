"""Exact operating characteristics of multi-look two-arm binomial designs, and exact-binomial boundaries.

A design with K looks analyses, at look k, the first m1_k rechallenge and m2_k control patients
(cumulative, non-decreasing). With independent arms, the counts (X1_k, X2_k) at look k are the
counts at look k-1 plus independent binomial increments, so the sub-probability of reaching look k
at table (x1, x2) without having stopped is carried exactly from look to look:

    D_1 = b(m1_1, p1) b(m2_1, p2)^T,
    D_{k+1} = B1_k^T (D_k * continue_k) B2_k,      B_i[x, y] = binom(y - x; m_i,k+1 - m_i,k, p_i),

and the design's operating characteristics are sums of D_k over its regions at look k: P(reject at
k), P(stop for futility at k), the expected number of patients analysed, power. These are exact (no
Monte Carlo error; floating-point sums only).

Exact-binomial boundaries. Each look's rejection region is a level set of the pooled z statistic of
the difference in proportions, {T_k >= c_k} (two-sided: |T_k| >= c_k), and c_k is the least value
for which the exact cumulative type I error through look k,

    max over pi in [0, 1] of P_pi(reject at one of looks 1..k),    both arms Binomial(., pi),

does not exceed the spent level alpha(t_k). The maximum over the common rate pi (the nuisance
parameter) is taken on an arcsine-spaced grid and refined by bounded scalar maximization around the
grid's best local maxima, so the exact type I error over the whole nuisance range is controlled, as
exact unconditional tests control it (Barnard, Boschloo). A binding futility region is part of the
continuation region when the levels are computed; a non-binding one is ignored there.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import gammaln, xlog1py, xlogy

#: Local maxima of the type I error refined per look, and the dense grid across each.
_CANDIDATES = 4
_LOCAL = 101


def nuisance_grid(n: int) -> np.ndarray:
    """Common rates pi = sin^2(theta), theta evenly spaced: equal resolution of the binomial spread."""
    pi = np.sin(np.linspace(0.0, np.pi / 2, 65 + math.ceil(24 * math.sqrt(max(n, 1))))) ** 2
    pi[0], pi[-1] = 0.0, 1.0
    return pi


@dataclass(frozen=True)
class Look:
    """Look k: cumulative arm sizes and its regions over the tables [x1, x2] (rechallenge, control)."""

    n_rechallenge: int
    n_control: int
    reject: np.ndarray        # bool (n_rechallenge + 1, n_control + 1)
    futility: np.ndarray      # bool, same shape (never overlapping reject)


def pooled_z_of(x1, n1, x2, n2) -> np.ndarray:
    """The pooled z statistic of p1 - p2 (arrays broadcast); 0 where an arm is empty or the pooled
    variance is 0. Rounded to 1e-10 so that ties between tables are exact ties."""
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        pbar = (x1 + x2) / (n1 + n2)
        var = pbar * (1 - pbar) * (1.0 / n1 + 1.0 / n2)
        z = (x1 / n1 - x2 / n2) / np.sqrt(var)
    return np.round(np.where((var > 0) & (n1 > 0) & (n2 > 0), z, 0.0), 10)


def pooled_z(n1: int, n2: int) -> np.ndarray:
    """The pooled z statistic over every table [x1, x2] of arms n1, n2."""
    return pooled_z_of(np.arange(n1 + 1)[:, None], n1, np.arange(n2 + 1)[None, :], n2)


@lru_cache(maxsize=1024)
def _log_comb(n: int) -> np.ndarray:
    k = np.arange(n + 1)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _pmfs(n: int, p: np.ndarray) -> np.ndarray:
    """Binomial(n, p[i]) pmfs over 0..n, one row per rate (xlogy: exact zeros and ones at p = 0 or 1)."""
    k = np.arange(n + 1)[None, :]
    p = p[:, None]
    return np.exp(_log_comb(n)[None, :] + xlogy(k, p) + xlog1py(n - k, -p))


def _step(n_from: int, n_to: int, p: np.ndarray) -> np.ndarray:
    """B[p, x, y] = binom(y - x; n_to - n_from, p)."""
    d = n_to - n_from
    inc = _pmfs(d, p)                                   # (P, d + 1)
    B = np.zeros((p.size, n_from + 1, n_to + 1))
    x = np.arange(n_from + 1)[:, None]
    B[:, x, x + np.arange(d + 1)[None, :]] = inc[:, None, :]
    return B


def densities(looks, p1, p2, obey_futility: bool = True):
    """Yield (k, D_k) for every look: the sub-probabilities [P, x1, x2] of reaching look k at each table.

    ``p1``, ``p2``: arrays of equal length (P rate pairs)."""
    p1, p2 = np.atleast_1d(np.asarray(p1, dtype=float)), np.atleast_1d(np.asarray(p2, dtype=float))
    D = _pmfs(looks[0].n_rechallenge, p1)[:, :, None] * _pmfs(looks[0].n_control, p2)[:, None, :]
    for k, look in enumerate(looks):
        yield k, D
        if k + 1 == len(looks):
            return
        stop = look.reject | look.futility if obey_futility else look.reject
        C = np.where(stop[None], 0.0, D)
        nxt = looks[k + 1]
        D = np.swapaxes(_step(look.n_rechallenge, nxt.n_rechallenge, p1), 1, 2) @ C @ _step(
            look.n_control, nxt.n_control, p2)


def operating(looks, p_rechallenge: float, p_control: float) -> dict:
    """Exact P(reject), P(stop for efficacy/futility per look), expected patients analysed."""
    K = len(looks)
    rej, fut = np.zeros(K), np.zeros(K)
    for k, D in densities(looks, [p_rechallenge], [p_control]):
        rej[k] = float((D[0] * looks[k].reject).sum())
        fut[k] = float((D[0] * looks[k].futility).sum())
    stop = rej + fut
    stop[-1] = 1.0 - stop[:-1].sum()                  # the last look ends every trial that reaches it
    sizes = np.array([lk.n_rechallenge + lk.n_control for lk in looks], dtype=float)
    return {"power": float(rej.sum()), "reject_at": rej, "futility_at": fut, "stop_at": stop,
            "expected_n": float((stop * sizes).sum())}


def type_one_error(looks, grid: np.ndarray | None = None, obey_futility: bool = True) -> tuple[float, float]:
    """(max over the common rate pi of P_pi(reject), the pi where it is reached): grid, then refined."""
    n = looks[-1].n_rechallenge + looks[-1].n_control
    pi = nuisance_grid(n) if grid is None else grid
    curve = _rejection_curve(looks, pi, obey_futility)
    return _refine(curve, pi, lambda q: _rejection_curve(looks, q, obey_futility))


def _rejection_curve(looks, pi, obey_futility):
    total = np.zeros(pi.size)
    for k, D in densities(looks, pi, pi, obey_futility):
        total += (D * looks[k].reject[None]).sum(axis=(1, 2))
    return total


def _refine(curve, pi, f) -> tuple[float, float]:
    """The maximum over [0, 1] of a smooth function with values ``curve`` on the grid ``pi``: each of the
    grid's best local maxima is refined on a dense grid between its neighbours (``f`` takes an array
    of rates), then by parabolic steps; the result is never below the grid's maximum."""
    best = int(np.argmax(curve))
    value, where = float(curve[best]), float(pi[best])
    inner = np.flatnonzero((curve[1:-1] >= curve[:-2]) & (curve[1:-1] >= curve[2:])) + 1
    top = inner[np.argsort(-curve[inner])][:_CANDIDATES]
    if not top.size:
        return value, where
    local = np.concatenate([np.linspace(pi[i - 1], pi[i + 1], _LOCAL) for i in top])
    values = f(local)
    j = int(np.argmax(values))
    if values[j] > value:
        value, where = float(values[j]), float(local[j])
        # Parabolic refinement through the dense grid's best point and its neighbours.
        h = local[1] - local[0] if j % _LOCAL == 0 else local[j] - local[j - 1]
        for _ in range(3):
            q = np.clip(np.array([where - h, where, where + h]), 0.0, 1.0)
            y = f(q)
            den = y[0] - 2 * y[1] + y[2]
            step = 0.5 * h * (y[0] - y[2]) / den if den < 0 else 0.0
            cand = float(np.clip(where + step, 0.0, 1.0))
            yc = float(f(np.array([cand]))[0])
            if yc > value:
                value, where = yc, cand
            h /= 10.0
    return value, where


def _region(stat: np.ndarray, c: float, sided: str) -> np.ndarray:
    return (np.abs(stat) >= c) if sided == "two" else (stat >= c)


def exact_bounds(sizes, cumulative_alpha, sided: str = "one", futility_z=None, binding: bool = False):
    """Exact-binomial looks: per look the least critical value c_k of the pooled z whose exact cumulative
    type I error (max over the common rate) is at most ``cumulative_alpha[k]``.

    ``sizes``: cumulative (n_rechallenge, n_control) per look. ``futility_z``: z at or below which a
    look stops for futility (-inf: none); binding futility is obeyed when the levels are computed.
    Returns (looks, critical values, attained cumulative type I errors)."""
    return _exact_bounds(tuple(tuple(int(v) for v in s) for s in sizes),
                         tuple(float(a) for a in cumulative_alpha), sided,
                         None if futility_z is None else tuple(float(a) for a in futility_z), bool(binding))


@lru_cache(maxsize=4096)
def _exact_bounds(sizes, cumulative_alpha, sided, futility_z, binding):
    n = sizes[-1][0] + sizes[-1][1]
    pi = nuisance_grid(n)
    looks, obeyed, crit, attained = [], [], [], []   # obeyed: the looks as the levels are computed
    for k, (m1, m2) in enumerate(sizes):
        stat = pooled_z(m1, m2)
        a = -math.inf if futility_z is None or sided == "two" else futility_z[k]
        fut_obeyed = (stat <= a) if binding else np.zeros_like(stat, dtype=bool)
        # Sub-densities of reaching this look (previous looks' regions fixed), on the grid.
        probe = obeyed + [Look(m1, m2, np.zeros_like(stat, dtype=bool), fut_obeyed)]
        before = np.zeros(pi.size)
        D = None
        for j, Dj in densities(probe, pi, pi):
            if j < k:
                before += (Dj * probe[j].reject[None]).sum(axis=(1, 2))
            else:
                D = Dj
        key = np.where(fut_obeyed, -np.inf, np.abs(stat) if sided == "two" else stat).ravel()
        candidates = np.unique(key[np.isfinite(key)])[::-1]          # most extreme first
        # Error on the grid for each candidate c: before + the mass of {key >= c}, a prefix of the
        # tables sorted from most to least extreme (one cumulative sum per rate gives every candidate's).
        order = np.argsort(-key, kind="stable")
        ends = np.searchsorted(-key[order], -candidates, side="right")
        mass = np.cumsum(D.reshape(pi.size, -1)[:, order], axis=1)[:, ends - 1] if candidates.size \
            else np.zeros((pi.size, 0))
        err = before[:, None] + mass
        ok = np.flatnonzero(err.max(axis=0) <= cumulative_alpha[k] + 1e-15)
        j = int(ok.max()) if ok.size else -1   # the error grows with the region: ok is a prefix
        # The largest region whose grid maximum fits; confirm the refined maximum fits too.
        while j >= 0:
            c = float(candidates[j])
            reject = _region(stat, c, sided) & ~fut_obeyed
            trial = obeyed + [Look(m1, m2, reject, fut_obeyed)]
            value, _ = _refine(err[:, j], pi, lambda q, t=trial: _rejection_curve(t, q, True))
            if value <= cumulative_alpha[k] + 1e-15:
                break
            j -= 1
        if j < 0:
            c, value = math.inf, float(before.max()) if k else 0.0
        fut = (stat <= a) & ~(_region(stat, c, sided))
        looks.append(Look(m1, m2, _region(stat, c, sided) & ~fut_obeyed, fut))
        obeyed.append(Look(m1, m2, looks[-1].reject, fut_obeyed))
        crit.append(c)
        attained.append(value)
    return tuple(looks), tuple(crit), tuple(attained)


def z_looks(sizes, efficacy, futility=None, sided: str = "one"):
    """Looks whose regions are the z-scale boundaries applied to the pooled z statistic."""
    out = []
    for k, (m1, m2) in enumerate(sizes):
        stat = pooled_z(m1, m2)
        reject = _region(stat, efficacy[k], sided)
        a = -math.inf if futility is None or sided == "two" else futility[k]
        out.append(Look(m1, m2, reject, (stat <= a) & ~reject))
    return tuple(out)
