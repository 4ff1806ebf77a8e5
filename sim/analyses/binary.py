"""Two-arm binary comparison tests expressed as rejection regions.

A binary test's decision depends only on the arm sizes and the success counts, so
each test is evaluated once for all (n1 + 1)(n2 + 1) outcome tables; the resulting
rejection region is cached and reused by every simulated replicate.

Conventions: arm 1 is rechallenge (experimental), arm 2 is control; matrices are
indexed [x1, x2]; the one-sided alternative is p1 > p2; reject when p <= alpha
(``bayes``: when p < alpha, see ``_bayes``).

Tests: ``fisher`` (exact conditional), ``chisq`` and ``chisq_cc`` (Pearson chi-square
without / with Yates' correction), ``boschloo`` and ``barnard`` (exact unconditional,
maximised over the common success probability) and ``bayes`` (posterior probability
that p1 > p2 under independent beta priors).

Adding a test means writing one function ``(n1, n2, sided) -> p-value matrix``
decorated with ``@_register("name")``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy.special import betainc, betaincinv, gammaln
from scipy.stats import binom, chi2, hypergeom, norm

SIDED = ("one", "two")

# scipy.stats.fisher_exact's relative tolerance for "at most as likely as observed".
_FISHER_RTOL = 1e-14

# scipy.stats.boschloo_exact's relative tolerance for "Fisher p-value at most the observed one".
_BOSCHLOO_RTOL = 1e-13

#: Beta(1, 1) (uniform) prior on both arms: the default for ``bayes``.
DEFAULT_PRIOR = ((1.0, 1.0), (1.0, 1.0))

_P_VALUE_FUNCTIONS: dict[str, Callable[..., np.ndarray]] = {}
_STRICT_TESTS: set[str] = set()  # reject when p < alpha rather than p <= alpha
_PRIOR_TESTS: list[str] = []  # take a `prior` keyword argument


def _register(name: str, *, strict: bool = False, takes_prior: bool = False):
    def add(function):
        _P_VALUE_FUNCTIONS[name] = function
        if strict:
            _STRICT_TESTS.add(name)
        if takes_prior:
            _PRIOR_TESTS.append(name)
        return function

    return add


def _tables(n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """x1 as a column and x2 as a row, broadcasting to the (n1 + 1, n2 + 1) table grid."""
    return np.arange(n1 + 1)[:, None], np.arange(n2 + 1)[None, :]


def _degenerate(n1: int, n2: int) -> np.ndarray:
    """Tables with no successes or no failures at all carry no evidence either way."""
    x1, x2 = _tables(n1, n2)
    return (x1 + x2 == 0) | (x1 + x2 == n1 + n2)


@_register("fisher")
def _fisher(n1: int, n2: int, sided: str) -> np.ndarray:
    """Fisher's exact test: x1 given s = x1 + x2 is hypergeometric under H0."""
    if sided == "one":
        # P(X >= x1), written as fisher_exact(alternative="greater") computes it
        # (lower tail of the failures column) so the values are bitwise equal to scipy's.
        x1, x2 = _tables(n1, n2)
        p = hypergeom.cdf(n1 - x1, n1 + n2, n1, (n1 - x1) + (n2 - x2))
    else:
        p = _fisher_two_sided(n1, n2)
    return np.where(_degenerate(n1, n2), 1.0, p)


def _fisher_two_sided(n1: int, n2: int) -> np.ndarray:
    """Two-sided Fisher p-values reproducing scipy.stats.fisher_exact branch for branch.

    scipy sums the probabilities of all tables with the observed margins whose pmf is
    at most pmf(observed) * (1 + 1e-14): the whole tail on the observed side of the
    mode plus the opposite tail beyond the last table above that threshold. Making the
    same scipy calls keeps p-values bitwise equal, so decisions agree even when a
    (rational) hypergeometric p-value equals alpha exactly.
    """
    x1, x2 = _tables(n1, n2)
    s = x1 + x2
    dist = hypergeom(n1 + n2, n1, s)
    p_observed = dist.pmf(x1)
    mode = (s + 1) * (n1 + 1) // (n1 + n2 + 2)
    p_mode = dist.pmf(mode)
    threshold = p_observed * (1 + _FISHER_RTOL)
    below_mode = x1 < mode

    boundary = _opposite_tail_boundary(p_observed, threshold, n1, n2)
    tail = np.where(below_mode, dist.cdf(x1), dist.sf(x1 - 1))
    opposite_tail = np.where(below_mode, dist.sf(boundary), dist.cdf(boundary))
    far_end = np.where(below_mode, dist.pmf(s), dist.pmf(0))
    p = np.where(far_end > threshold, tail, np.minimum(tail + opposite_tail, 1.0))
    at_mode = np.abs(p_observed - p_mode) / np.maximum(p_observed, p_mode) <= _FISHER_RTOL
    return np.where(at_mode, 1.0, p)


def _opposite_tail_boundary(
    p_observed: np.ndarray, threshold: np.ndarray, n1: int, n2: int
) -> np.ndarray:
    """The index scipy's binary search finds on the far side of the mode.

    For x1 below the mode: the last k in [mode, s] with pmf(k) >= threshold (the
    opposite tail is k > boundary). Otherwise: the last k in [0, mode] with
    pmf(k) <= threshold (the opposite tail is k <= boundary). The pmf is monotone on
    each side of the mode, so a sorted search over the margin's pmf row is the same
    search scipy does; the pmf row of margin s is the anti-diagonal x1 + x2 = s.
    """
    boundary = np.zeros(p_observed.shape, dtype=np.int64)
    for s in range(n1 + n2 + 1):
        k = np.arange(max(0, s - n2), min(n1, s) + 1)  # support of x1 given s
        margin = (k, s - k)
        pmf, t = p_observed[margin], threshold[margin]
        low = k[0]
        mode = (s + 1) * (n1 + 1) // (n1 + n2 + 2)
        falling, rising = pmf[mode - low :], pmf[: mode - low + 1]
        boundary[margin] = np.where(
            k < mode,
            mode - 1 + np.searchsorted(-falling, -t, side="right"),
            low - 1 + np.searchsorted(rising, t, side="right"),  # k < low has pmf 0
        )
    return boundary


@_register("chisq")
def _chisq(n1: int, n2: int, sided: str) -> np.ndarray:
    """Pearson chi-square without continuity correction, via its signed root z.

    z > 0 favours rechallenge. One-sided p = P(Z >= z); two-sided p = P(chi2_1 >= z^2),
    the p-value of scipy.stats.chi2_contingency(correction=False).
    """
    x1, x2 = _tables(n1, n2)
    degenerate = _degenerate(n1, n2)
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    z = (x1 / n1 - x2 / n2) / np.sqrt(np.where(degenerate, 1.0, variance))
    p = norm.sf(z) if sided == "one" else chi2.sf(z**2, df=1)
    return np.where(degenerate, 1.0, p)


@_register("chisq_cc")
def _chisq_cc(n1: int, n2: int, sided: str) -> np.ndarray:
    """Pearson chi-square with Yates' continuity correction, via its signed root.

    All four cells of a 2x2 table share |O - E| = |x1 n2 - x2 n1| / N. As in
    scipy.stats.chi2_contingency(correction=True), the correction lowers it by
    min(0.5, |O - E|), so it never overshoots past zero. With that corrected gap g,
    chi2_cc = g^2 sum(1 / E) = g^2 N^3 / (s (N - s) n1 n2) (s = x1 + x2, N = n1 + n2).

    Its signed root z_cc = sign(p1_hat - p2_hat) sqrt(chi2_cc) is the textbook corrected
    z, max(|p1_hat - p2_hat| - (1/n1 + 1/n2) / 2, 0) / SE_pooled with the sign of the
    observed difference. One-sided p = P(Z >= z_cc): 0.5 when the correction absorbs the
    whole difference, above 0.5 when rechallenge does worse. Two-sided p =
    P(chi2_1 >= chi2_cc), the p-value of chi2_contingency(correction=True).
    """
    x1, x2 = _tables(n1, n2)
    n = n1 + n2
    degenerate = _degenerate(n1, n2)
    difference = x1 * n2 - x2 * n1
    gap = np.abs(difference) / n
    corrected = gap - np.minimum(0.5, gap)
    margins = (x1 + x2) * (n - x1 - x2) * float(n1 * n2)
    statistic = corrected**2 * float(n) ** 3 / np.where(degenerate, 1.0, margins)
    if sided == "one":
        p = norm.sf(np.sign(difference) * np.sqrt(statistic))
    else:
        p = chi2.sf(statistic, df=1)
    return np.where(degenerate, 1.0, p)


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


@_register("boschloo")
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


@_register("barnard")
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


# Gauss-Legendre nodes for the posterior probability (see _posterior_superiority).
_BAYES_NODES = 128


@_register("bayes", strict=True, takes_prior=True)
def _bayes(n1: int, n2: int, sided: str, prior=DEFAULT_PRIOR) -> np.ndarray:
    """Bayesian rule: reject when the posterior probability of benefit exceeds a threshold.

    With independent priors p1 ~ Beta(a1, b1), p2 ~ Beta(a2, b2), the posteriors are
    Beta(a_i + x_i, b_i + n_i - x_i). The matrix holds 1 - P(p1 > p2 | data) (one-sided)
    or 1 - max(P(p1 > p2 | data), P(p2 > p1 | data)) (two-sided), so "posterior
    probability > threshold" is "p < alpha" with alpha = 1 - threshold: the only test
    whose rejection_region uses a strict inequality.
    """
    superiority = _posterior_superiority(n1, n2, prior)
    if sided == "one":
        return 1 - superiority
    return np.minimum(superiority, 1 - superiority)


def _posterior_superiority(n1: int, n2: int, prior) -> np.ndarray:
    """P(p1 > p2 | x1, x2) for every table.

    P(p1 > p2) = E[F2(p1)] = integral over u in (0, 1) of F2(Q1(u)), with F2 the posterior
    cdf of p2 and Q1 the posterior quantile of p1: a bounded, increasing integrand even
    for priors below 1 (Jeffreys), whose densities are unbounded. The integrand can rise
    steeply right next to u = 0 or 1 when the posteriors barely overlap, so Gauss-Legendre
    runs in v with u = v^3 (10 - 15 v + 6 v^2), du = 30 v^2 (1 - v)^2 dv, which packs
    nodes toward both ends; 128 nodes give about 1e-12 (tests check against a closed form
    and scipy.integrate.quad).
    """
    (a1, b1), (a2, b2) = prior
    t, w = np.polynomial.legendre.leggauss(_BAYES_NODES)
    v = (t + 1) / 2
    u = v**3 * (10 - 15 * v + 6 * v**2)
    weight = w / 2 * 30 * v**2 * (1 - v) ** 2
    x1 = np.arange(n1 + 1)[:, None]
    x2 = np.arange(n2 + 1)[:, None]
    quantile_1 = betaincinv(a1 + x1, b1 + n1 - x1, u)  # (n1 + 1, nodes)
    superiority = np.empty((n1 + 1, n2 + 1))
    rows = max(1, _BLOCK // ((n2 + 1) * u.size))
    for start in range(0, n1 + 1, rows):
        cdf_2 = betainc(a2 + x2, b2 + n2 - x2, quantile_1[start : start + rows, None, :])
        superiority[start : start + rows] = cdf_2 @ weight
    return np.clip(superiority, 0.0, 1.0)


# Names of the registered tests; keep this after the last @_register.
TESTS = tuple(_P_VALUE_FUNCTIONS)
#: Tests that take a beta prior (``prior=`` of p_value_matrix, rejection_region, reject).
PRIOR_TESTS = tuple(_PRIOR_TESTS)


def _check_arm_size(name: str, n) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")


def _check_test(test) -> None:
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")


def _check_sided(sided) -> None:
    if sided not in SIDED:
        raise ValueError(f"sided must be one of {SIDED}, got {sided!r}")


def _check_alpha(alpha) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number with 0 < alpha < 1, got {alpha!r}")


def _check_prior(test: str, prior):
    """The prior as hashable floats ((a1, b1), (a2, b2)); None for tests without a prior.

    A prior given to a test that has none is an error rather than silently ignored.
    """
    if test not in PRIOR_TESTS:
        if prior is not None:
            raise ValueError(f"prior applies only to tests {PRIOR_TESTS}, not to {test!r}")
        return None
    if prior is None:
        return DEFAULT_PRIOR
    message = f"prior must be ((a1, b1), (a2, b2)) with finite numbers > 0, got {prior!r}"
    try:
        (a1, b1), (a2, b2) = prior
    except (TypeError, ValueError):
        raise ValueError(message) from None
    values = (a1, b1, a2, b2)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in values):
        raise ValueError(message)
    a1, b1, a2, b2 = map(float, values)
    return ((a1, b1), (a2, b2))


def _check_counts(name: str, x: np.ndarray, n: int) -> None:
    if not np.issubdtype(x.dtype, np.integer) or np.any((x < 0) | (x > n)):
        raise ValueError(f"{name} must be integer counts between 0 and {n}, got {x!r}")


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _check_design(n1, n2, test, sided, prior):
    _check_arm_size("n1", n1)
    _check_arm_size("n2", n2)
    _check_test(test)
    _check_sided(sided)
    return _check_prior(test, prior)


def p_value_matrix(n1: int, n2: int, test: str, sided: str, prior=None) -> np.ndarray:
    """P-values of every table, shape (n1 + 1, n2 + 1) indexed [x1, x2].

    `prior` is ((a1, b1), (a2, b2)), the Beta(a, b) priors of arm 1 and arm 2, for the
    tests in PRIOR_TESTS only (default DEFAULT_PRIOR); other tests refuse one.
    Cached and read-only because several alphas share one matrix.
    """
    return _p_value_matrix(n1, n2, test, sided, _check_design(n1, n2, test, sided, prior))


@lru_cache(maxsize=1024)
def _p_value_matrix(n1: int, n2: int, test: str, sided: str, prior) -> np.ndarray:
    options = {} if prior is None else {"prior": prior}
    return _read_only(_P_VALUE_FUNCTIONS[test](n1, n2, sided, **options))


def rejection_region(n1: int, n2: int, test: str, alpha: float, sided: str, prior=None) -> np.ndarray:
    """Boolean matrix, indexed [x1, x2], of the tables on which the test rejects H0.

    Rejects where p <= alpha; for ``bayes`` where p < alpha, i.e. where the posterior
    probability is strictly above the threshold 1 - alpha. `prior` as in p_value_matrix.
    Cached and read-only: it is computed once and shared by every replicate.
    """
    prior = _check_design(n1, n2, test, sided, prior)
    _check_alpha(alpha)
    return _rejection_region(n1, n2, test, alpha, sided, prior)


@lru_cache(maxsize=1024)
def _rejection_region(n1: int, n2: int, test: str, alpha: float, sided: str, prior) -> np.ndarray:
    p = _p_value_matrix(n1, n2, test, sided, prior)
    return _read_only(p < alpha if test in _STRICT_TESTS else p <= alpha)


def reject(n1: int, n2: int, x1, x2, test: str, alpha: float, sided: str, prior=None):
    """Decision for observed counts; x1 and x2 may be integer arrays (e.g. one per replicate)."""
    region = rejection_region(n1, n2, test, alpha, sided, prior)
    x1, x2 = np.asarray(x1), np.asarray(x2)
    _check_counts("x1", x1, n1)
    _check_counts("x2", x2, n2)
    return region[x1, x2]
