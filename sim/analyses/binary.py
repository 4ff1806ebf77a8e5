"""Two-arm binary comparison tests expressed as rejection regions.

A binary test's decision depends only on the arm sizes and the success counts, so
each test is evaluated once for all (n1 + 1)(n2 + 1) outcome tables; the resulting
rejection region is cached and reused by every simulated replicate.

Conventions: arm 1 is rechallenge (experimental), arm 2 is control; matrices are
indexed [x1, x2]; the one-sided alternative is p1 > p2; reject when p <= alpha.

Adding a test means writing one function ``(n1, n2, sided) -> p-value matrix``
decorated with ``@_register("name")``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from functools import lru_cache

import numpy as np
from scipy.stats import chi2, hypergeom, norm

SIDED = ("one", "two")

# scipy.stats.fisher_exact's relative tolerance for "at most as likely as observed".
_FISHER_RTOL = 1e-14

_P_VALUE_FUNCTIONS: dict[str, Callable[[int, int, str], np.ndarray]] = {}


def _register(name: str):
    def add(function):
        _P_VALUE_FUNCTIONS[name] = function
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


# Names of the registered tests; keep this after the last @_register.
TESTS = tuple(_P_VALUE_FUNCTIONS)


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


def _check_counts(name: str, x: np.ndarray, n: int) -> None:
    if not np.issubdtype(x.dtype, np.integer) or np.any((x < 0) | (x > n)):
        raise ValueError(f"{name} must be integer counts between 0 and {n}, got {x!r}")


def _read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


@lru_cache(maxsize=1024)
def p_value_matrix(n1: int, n2: int, test: str, sided: str) -> np.ndarray:
    """P-values of every table, shape (n1 + 1, n2 + 1) indexed [x1, x2].

    Cached and read-only because several alphas share one matrix.
    """
    _check_arm_size("n1", n1)
    _check_arm_size("n2", n2)
    _check_test(test)
    _check_sided(sided)
    return _read_only(_P_VALUE_FUNCTIONS[test](n1, n2, sided))


@lru_cache(maxsize=1024)
def rejection_region(n1: int, n2: int, test: str, alpha: float, sided: str) -> np.ndarray:
    """Boolean matrix, indexed [x1, x2], of the tables on which the test rejects H0.

    Cached and read-only: it is computed once and shared by every replicate.
    """
    _check_alpha(alpha)
    return _read_only(p_value_matrix(n1, n2, test, sided) <= alpha)


def reject(n1: int, n2: int, x1, x2, test: str, alpha: float, sided: str):
    """Decision for observed counts; x1 and x2 may be integer arrays (e.g. one per replicate)."""
    region = rejection_region(n1, n2, test, alpha, sided)
    x1, x2 = np.asarray(x1), np.asarray(x2)
    _check_counts("x1", x1, n1)
    _check_counts("x2", x2, n2)
    return region[x1, x2]
