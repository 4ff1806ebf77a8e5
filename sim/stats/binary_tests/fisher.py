"""Fisher's exact test (conditional on the total number of successes)."""
from __future__ import annotations

import numpy as np
from scipy.stats import hypergeom

from . import register
from ._common import degenerate as _degenerate, tables as _tables

# scipy.stats.fisher_exact's relative tolerance for "at most as likely as observed".
_FISHER_RTOL = 1e-14


@register("fisher", order=0, description="Fisher's exact test, conditional on the total successes")
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
