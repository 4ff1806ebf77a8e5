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
from scipy.optimize import minimize_scalar
from scipy.stats import binom

#: Refined local maxima of the type I error per look, and the grid size (arcsine spacing).
_CANDIDATES = 4


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


def pooled_z(n1: int, n2: int) -> np.ndarray:
    """The pooled z statistic of p1 - p2 over every table [x1, x2]; 0 where the pooled variance is 0."""
    x1 = np.arange(n1 + 1)[:, None]
    x2 = np.arange(n2 + 1)[None, :]
    if n1 == 0 or n2 == 0:
        return np.zeros((n1 + 1, n2 + 1))
    pbar = (x1 + x2) / (n1 + n2)
    var = pbar * (1 - pbar) * (1.0 / n1 + 1.0 / n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x1 / n1 - x2 / n2) / np.sqrt(var)
    return np.round(np.where(var > 0, z, 0.0), 10)


def _pmfs(n: int, p: np.ndarray) -> np.ndarray:
    return binom.pmf(np.arange(n + 1)[None, :], n, p[:, None])


def _step(n_from: int, n_to: int, p: np.ndarray) -> np.ndarray:
    """B[p, x, y] = binom(y - x; n_to - n_from, p)."""
    inc = _pmfs(n_to - n_from, p)                       # (P, d + 1)
    B = np.zeros((p.size, n_from + 1, n_to + 1))
    for x in range(n_from + 1):
        B[:, x, x:x + n_to - n_from + 1] = inc
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
    return _refine(curve, pi, lambda q: float(_rejection_curve(looks, np.array([q]), obey_futility)[0]))


def _rejection_curve(looks, pi, obey_futility):
    total = np.zeros(pi.size)
    for k, D in densities(looks, pi, pi, obey_futility):
        total += (D * looks[k].reject[None]).sum(axis=(1, 2))
    return total


def _refine(curve, pi, f) -> tuple[float, float]:
    """The maximum of f over [0, 1] from its values ``curve`` on the grid ``pi``: the best local maxima
    of the grid are refined by bounded maximization between their neighbours (never below the grid)."""
    best = int(np.argmax(curve))
    value, where = float(curve[best]), float(pi[best])
    inner = np.flatnonzero((curve[1:-1] >= curve[:-2]) & (curve[1:-1] >= curve[2:])) + 1
    for i in inner[np.argsort(-curve[inner])][:_CANDIDATES]:
        r = minimize_scalar(lambda q: -f(q), bounds=(pi[i - 1], pi[i + 1]), method="bounded",
                            options={"xatol": 1e-10})
        if -r.fun > value:
            value, where = float(-r.fun), float(r.x)
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
        key = np.abs(stat) if sided == "two" else stat
        candidates = np.unique(key[~fut_obeyed])[::-1]          # most extreme first
        # Error on the grid for each candidate: before + mass of {key >= c} (a prefix of candidates).
        mass = np.stack([(D * (key >= c)[None] * ~fut_obeyed[None]).sum(axis=(1, 2)) for c in candidates], axis=1) \
            if candidates.size else np.zeros((pi.size, 0))
        err = before[:, None] + mass
        ok = np.flatnonzero(err.max(axis=0) <= cumulative_alpha[k] + 1e-15)
        j = int(ok.max()) if ok.size else -1   # the error grows with the region: ok is a prefix
        # The largest region whose grid maximum fits; confirm the refined maximum fits too.
        while j >= 0:
            c = float(candidates[j])
            reject = _region(stat, c, sided) & ~fut_obeyed
            trial = obeyed + [Look(m1, m2, reject, fut_obeyed)]
            value, _ = _refine(err[:, j], pi, lambda q, t=trial: float(_rejection_curve(t, np.array([q]), True)[0]))
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
