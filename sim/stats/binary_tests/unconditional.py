"""Exact unconditional tests (Boschloo, Barnard): p-values maximised over the common success probability."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy.special import gammaln
from scipy.stats import binom, hypergeom

from . import register
from ._common import read_only as _read_only, tables as _tables

# scipy.stats.boschloo_exact's relative tolerance for "Fisher p-value at most the observed one".
_BOSCHLOO_RTOL = 1e-13


# Largest arm a design may plan with these tests. Their p-value matrix holds a tail probability per
# nuisance grid point (16 sqrt(N) + 33) and per distinct prefix (up to every table, (n1 + 1)(n2 + 1)):
# memory and time grow as n^2.5. At 200 per arm a matrix takes 2-5 s and ~0.3 GB at its peak; at 500
# per arm it took 46-91 s and 1.3-1.8 GB.
MAX_ARM = 200

# Exact unconditional tests (Boschloo, Barnard): the p-value of table T is
#     sup over pi in [0, 1] of P_pi(tables at least as extreme as T),
# both arms Binomial(n_i, pi) under H0. See _max_over_nuisance.

# Elements per temporary array block (bounds memory for large arms).
_BLOCK = 1 << 22
# Grid local maxima refined per distinct tail function, and Newton steps per refinement.
_CANDIDATES = 3
_NEWTON_STEPS = 60
_NEWTON_TOLERANCE = 1e-11
# Refinement stays this far inside (0, 1), where log(pi) and log(1 - pi) are finite;
# a maximum squeezed closer to an end than this is within ~N^2 1e-24 of the grid's value.
_EDGE = 1e-12


def _nuisance_grid(n: int) -> np.ndarray:
    """Common success probabilities pi = sin^2(theta), theta evenly spaced over [0, pi/2].

    On the arcsine scale the binomial spread, about 1 / (2 sqrt(N)), is the same for
    every pi, so the tail probabilities vary on the same scale everywhere, near 0 and 1
    included; 16 sqrt(N) + 33 points resolve every local maximum well enough for Newton
    refinement to start from it (tests check against a brute-force dense grid).
    """
    pi = np.sin(np.linspace(0.0, np.pi / 2, 33 + math.ceil(16 * math.sqrt(n)))) ** 2
    pi[0], pi[-1] = 0.0, 1.0
    return pi


def _log_comb(n: int) -> np.ndarray:
    k = np.arange(n + 1)
    return gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1)


def _max_over_nuisance(n1: int, n2: int, extremeness: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """sup over pi of P_pi(extremeness >= threshold[x1, x2]), for every table at once.

    Sorting the tables from most to least extreme turns each table's "at least as
    extreme" set into a prefix of the sorted list, so one cumulative sum per pi gives
    every table's tail probability; tables whose sets coincide (ties) share one prefix.
    Each prefix's tail probability is a polynomial in pi. Its maximum is located on
    `_nuisance_grid` and then refined from the best few grid local maxima by safeguarded
    Newton steps (`_refine_maxima`); the result is never below the grid maximum.
    """
    n = n1 + n2
    x1, x2 = (np.broadcast_to(a, (n1 + 1, n2 + 1)).ravel() for a in _tables(n1, n2))
    order = np.argsort(-extremeness.ravel(), kind="stable")
    x1, x2 = x1[order], x2[order]
    # Tables at least as extreme as each table: a prefix of the sorted list, of this length.
    prefix = np.searchsorted(-extremeness.ravel()[order], -threshold.ravel(), side="right")
    lengths, level_of_table = np.unique(prefix, return_inverse=True)

    grid = _nuisance_grid(n)
    tails = np.empty((grid.size, lengths.size))
    rows = max(1, _BLOCK // x1.size)
    for start in range(0, grid.size, rows):
        pi = grid[start : start + rows, None]
        probability = binom.pmf(np.arange(n1 + 1), n1, pi)[:, x1] * binom.pmf(np.arange(n2 + 1), n2, pi)[:, x2]
        tails[start : start + rows] = np.cumsum(probability, axis=1)[:, lengths - 1]

    sup = np.maximum(tails.max(axis=0), _refine_maxima(tails, grid, lengths, x1, x2, n1, n2))
    return np.minimum(sup, 1.0)[level_of_table].reshape(n1 + 1, n2 + 1)


def _refine_maxima(tails, grid, lengths, x1, x2, n1, n2) -> np.ndarray:
    """Refined local maxima of each prefix's tail probability (columns of `tails`).

    A prefix of length L has tail f(pi) = sum_s a[s] Bin(s; N, pi), where a[s] is the
    hypergeometric mass of its tables with x1 + x2 = s, so f and its derivative cost
    O(N) at any pi. Around each of the _CANDIDATES highest grid local maxima, the root
    of f' is bracketed by the neighbouring grid points and found by Newton steps that
    fall back to bisection when they leave the bracket.
    """
    n = n1 + n2
    # Grid local maxima (ends included) keep their value; everything else -inf.
    score = tails.copy()
    score[1:][tails[1:] < tails[:-1]] = -np.inf
    score[:-1][tails[:-1] < tails[1:]] = -np.inf
    levels = np.arange(lengths.size)
    top = np.empty((_CANDIDATES, lengths.size), dtype=np.int64)
    top_score = np.empty((_CANDIDATES, lengths.size))
    for k in range(_CANDIDATES):
        top[k] = score.argmax(axis=0)
        top_score[k] = score[top[k], levels]
        score[top[k], levels] = -np.inf
    del score
    # Nothing to refine where the maximum is 1 already (e.g. the all-tables prefix).
    top_score[:, top_score[0] >= 1.0] = -np.inf
    candidate, level = np.nonzero(np.isfinite(top_score) & (top_score > 0))
    index = top[candidate, level]
    best = np.zeros(lengths.size)
    if level.size == 0:
        return best

    # a[level, s]: prefix hypergeometric mass per s, from each s's cumulative weights.
    s = x1 + x2
    log_comb_1, log_comb_2, log_comb = _log_comb(n1), _log_comb(n2), _log_comb(n)
    weight = np.exp(log_comb_1[x1] + log_comb_2[x2] - log_comb[s])
    positions = [np.flatnonzero(s == total) for total in range(n + 1)]  # sorted-list positions
    cumulative = [np.concatenate(([0.0], np.cumsum(weight[p]))) for p in positions]
    chunk = max(1, _BLOCK // (n + 1))
    for start in range(0, level.size, chunk):
        lv = level[start : start + chunk]
        a = np.empty((lv.size, n + 1))
        for total in range(n + 1):  # mass of the prefix's tables (positions < length) at this s
            a[:, total] = cumulative[total][np.searchsorted(positions[total], lengths[lv])]
        g = index[start : start + chunk]
        lo = np.maximum(grid[np.maximum(g - 1, 0)], _EDGE)
        hi = np.minimum(grid[np.minimum(g + 1, grid.size - 1)], 1 - _EDGE)
        value = _newton_maximum(a, lo, hi, np.clip(grid[g], lo, hi), n)
        np.maximum.at(best, lv, value)
    return best


def _newton_maximum(a, lo, hi, x, n) -> np.ndarray:
    """f at the root of f' in [lo, hi], f(pi) = sum_s a[:, s] Bin(s; n, pi) row by row.

    f'(pi) = h(pi) / (pi (1 - pi)) with h = sum_s a_s Bin_s (s - n pi), so Newton steps
    solve h = 0, using h' = sum_s a_s Bin_s ((s - n pi)^2 / (pi (1 - pi)) - n). Rows
    without h > 0 at lo and h < 0 at hi have no interior maximum to find and return f(x).
    A row stops once its step or its bracket is below _NEWTON_TOLERANCE, where f is
    within about f'' 1e-22 of its maximum.
    """
    s = np.arange(n + 1)
    log_comb = _log_comb(n)

    def evaluate(rows, pi, derivatives=True):
        pi = pi[:, None]
        terms = a[rows] * np.exp(log_comb + s * np.log(pi) + (n - s) * np.log1p(-pi))
        if not derivatives:
            return terms.sum(axis=1)
        centred = s - n * pi
        h = (terms * centred).sum(axis=1)
        dh = (terms * (centred**2 / (pi * (1 - pi)) - n)).sum(axis=1)
        return h, dh

    every = np.arange(x.size)
    h_lo, _ = evaluate(every, lo)
    h_hi, _ = evaluate(every, hi)
    rows = np.flatnonzero((h_lo > 0) & (h_hi < 0))
    x = x.copy()
    for _ in range(_NEWTON_STEPS):
        if rows.size == 0:
            break
        here = x[rows]
        h, dh = evaluate(rows, here)
        rising = h > 0
        lo[rows] = np.where(rising, here, lo[rows])
        hi[rows] = np.where(rising, hi[rows], here)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = here - h / dh
        inside = (dh < 0) & (step > lo[rows]) & (step < hi[rows])
        new = np.where(inside, step, (lo[rows] + hi[rows]) / 2)
        x[rows] = new
        done = (np.abs(new - here) <= _NEWTON_TOLERANCE) | (hi[rows] - lo[rows] <= _NEWTON_TOLERANCE)
        rows = rows[~done]
    return evaluate(every, x, derivatives=False)


@lru_cache(maxsize=16)
def _boschloo_greater(n1: int, n2: int) -> np.ndarray:
    """One-sided (p1 > p2) Boschloo p-values, read-only; cached for the two-sided test."""
    x1, x2 = _tables(n1, n2)
    # scipy.stats.boschloo_exact's statistic for "greater", the one-sided Fisher p-value
    # P(X2 <= x2 | x1 + x2) made by the same call; tables with a Fisher p-value at most
    # the observed one times (1 + 1e-13) are at least as extreme, as in scipy.
    fisher = hypergeom.cdf(x2, n1 + n2, x1 + x2, n2)
    return _read_only(_max_over_nuisance(n1, n2, -fisher, -fisher * (1 + _BOSCHLOO_RTOL)))


@register("boschloo", order=3, max_arm=MAX_ARM,
          description="Boschloo's exact unconditional test (Fisher's p-value as statistic)")
def _boschloo(n1: int, n2: int, sided: str) -> np.ndarray:
    """Boschloo's exact unconditional test: Fisher's one-sided p-value as the statistic.

    One-sided p = sup over pi of P_pi(Fisher p-value <= observed one), as
    scipy.stats.boschloo_exact(alternative="greater") with the table [[x1, x2], [n1 - x1,
    n2 - x2]]. Two-sided p = min(1, 2 min(p_greater, p_less)), scipy's definition; p_less
    is the one-sided p-value with the arms swapped (the same statistic scipy uses).
    """
    greater = _boschloo_greater(n1, n2)
    if sided == "one":
        return greater.copy()
    return np.minimum(2 * np.minimum(greater, _boschloo_greater(n2, n1).T), 1.0)


@register("barnard", order=4, max_arm=MAX_ARM, description="Barnard's exact unconditional test (pooled score statistic)")
def _barnard(n1: int, n2: int, sided: str) -> np.ndarray:
    """Barnard's exact unconditional test with the pooled (score) statistic.

    T = (p1_hat - p2_hat) / sqrt(p_hat (1 - p_hat) (1/n1 + 1/n2)) (T = 0 when
    p1_hat = p2_hat), as scipy.stats.barnard_exact(pooled=True). One-sided p = sup over
    pi of P_pi(T >= t_observed); two-sided p = sup of P_pi(|T| >= |t_observed|).

    Tables are ranked by sign(d) d^2 / (s (N - s)) = T^2 n1 n2 / N (d = x1 n2 - x2 n1,
    s = x1 + x2), a quotient of integers exact in floating point, so tables with equal T
    (e.g. a table and its successes/failures mirror when n1 = n2) compare equal and are
    all "at least as extreme". scipy compares floating-point T, whose rounding can split
    such ties and then gives one table of the pair a smaller p-value.
    """
    x1, x2 = _tables(n1, n2)
    n = n1 + n2
    difference = (x1 * n2 - x2 * n1).astype(float)
    margins = ((x1 + x2) * (n - x1 - x2)).astype(float)
    squared = difference**2 / np.where(margins == 0, 1.0, margins)
    statistic = np.sign(difference) * squared if sided == "one" else squared
    return _max_over_nuisance(n1, n2, statistic, statistic)
