"""Pearson chi-square tests, without and with Yates' continuity correction."""
from __future__ import annotations

import numpy as np
from scipy.stats import chi2, norm

from . import register
from ._common import degenerate as _degenerate, tables as _tables


@register("chisq", order=1, description="Pearson chi-square without continuity correction (signed root z)")
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


@register("chisq_cc", order=2, description="Pearson chi-square with Yates' continuity correction")
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
