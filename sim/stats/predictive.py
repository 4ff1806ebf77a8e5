"""The interim futility look: its statistic for every possible interim table, computed once.

The look sees, per arm, m patients with a known first-scan outcome of whom y had disease control.
Rule ``dcr_difference``: the observed y1/m1 - y2/m2. Rule ``predictive_probability``: the
probability, under independent beta(prior) posteriors and beta-binomial predictions of the patients
still to come, that the final analysis (n1, n2 patients, the design's test) rejects in
rechallenge's favour. The prediction is of an ITT first-scan comparison at the planned arm sizes,
whatever the design's final definition, population or timing.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.stats import betabinom

from .binary import rejection_region


def _predictive(m: int, n: int, prior: tuple[float, float]) -> np.ndarray:
    """[y, x]: P(x successes among all n | y among the first m), beta-binomial for the n - m to come."""
    a, b = prior
    y = np.arange(m + 1)[:, None]
    z = np.arange(n - m + 1)[None, :]
    pmf = betabinom.pmf(z, n - m, a + y, b + m - y)
    out = np.zeros((m + 1, n + 1))
    rows = np.broadcast_to(y, pmf.shape)
    out[rows, rows + z] = pmf
    return out


@lru_cache(maxsize=4096)
def predictive_success(m1: int, m2: int, n1: int, n2: int, test: str, alpha: float, sided: str,
                       test_prior: tuple | None, prior: tuple[float, float]) -> np.ndarray:
    """[y1, y2] -> predictive probability that the final test on (n1, n2) rejects. Read-only."""
    extra = {} if test_prior is None else {"prior": test_prior}
    region = rejection_region(n1, n2, test, alpha, sided, **extra)
    if sided == "two":  # success is a rejection in rechallenge's favour, not control's
        x1, x2 = np.arange(n1 + 1)[:, None], np.arange(n2 + 1)[None, :]
        region = region & (x1 * n2 > x2 * n1)
    region = region.astype(float)
    out = _predictive(m1, n1, prior) @ region @ _predictive(m2, n2, prior).T
    out.setflags(write=False)
    return out


def stops(rule: str, stop_below: float, m1, y1, m2, y2, final: tuple | None = None) -> np.ndarray:
    """Futility decision per replicate (arrays of interim counts). A look without patients in both arms
    does not stop. ``final``: (n1, n2, test, alpha, sided, test_prior, prior) for predictive probability."""
    m1, y1, m2, y2 = (np.asarray(v, dtype=np.int64) for v in (m1, y1, m2, y2))
    both = (m1 > 0) & (m2 > 0)
    if rule == "dcr_difference":
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = y1 / m1 - y2 / m2
        return both & (diff < stop_below)
    if rule != "predictive_probability":
        raise ValueError(f"unknown interim rule {rule!r}")
    n1, n2, test, alpha, sided, test_prior, prior = final
    out = np.zeros(len(m1), dtype=bool)
    for a, b in set(zip(m1[both].tolist(), m2[both].tolist())):
        rows = both & (m1 == a) & (m2 == b)
        pp = predictive_success(a, b, max(n1, a), max(n2, b), test, alpha, sided, test_prior, prior)
        out[rows] = pp[y1[rows], y2[rows]] < stop_below
    return out
