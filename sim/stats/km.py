"""Kaplan-Meier median pooled over replicates, with bootstrap replicates over clusters.

Used for medians pooled over all patients of all replicates; resampling whole replicates gives
their Monte Carlo error (summary/summarize.py).
"""
from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054

#: Rows of the sorted data per step of the Kaplan-Meier product (a memory and early-stop granularity;
#: the result does not depend on it).
BLOCK = 1 << 16


def km_median_bootstrap(time, event, cluster, n_boot: int = 200, seed: int = 0) -> tuple[float, np.ndarray]:
    """Median of the pooled Kaplan-Meier curve and its bootstrap replicates over clusters.

    Clusters (replicates) are resampled with replacement: a cluster drawn m times weighs m.
    Weighted Kaplan-Meier in one pass over the sorted data: processing tied events before
    tied censorings, prod(1 - w_i / n_i) telescopes to the usual product over distinct times,
    with n_i the weight still at risk.

    The weights are whole numbers (1, or how often a resample drew the cluster), so every partial
    sum of them is exact in float64 (below 2**53): n_i = total - (weight before row i) equals the
    sum over rows >= i however it is computed. The product is built a block of ``BLOCK`` rows at a
    time and stops in the block where it first reaches 1/2 (about half the rows): a block's first
    factor is multiplied by the product so far, which is the next multiplication of one running
    product, so every value, and the median, are those of a single cumprod over all rows.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    order = np.lexsort((~event, time))
    t, e = time[order], event[order]
    ids, members = np.unique(np.asarray(cluster)[order], return_inverse=True)
    sizes = np.bincount(members, minlength=len(ids))

    def median_with(drawn: np.ndarray) -> float:
        """The median with cluster c weighing drawn[c]."""
        total = float(np.dot(drawn.astype(np.int64), sizes))
        before, survival = 0.0, 1.0
        for start in range(0, len(t), BLOCK):
            w = drawn[members[start: start + BLOCK]].astype(float)
            through = np.cumsum(w) + before
            at_risk = total - (through - w)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = np.where(e[start: start + BLOCK] & (at_risk > 0), 1.0 - w / at_risk, 1.0)
            step[0] *= survival
            curve = np.cumprod(step)
            idx = np.flatnonzero(curve <= 0.5)
            if len(idx):
                return float(t[start + idx[0]])
            before, survival = float(through[-1]), float(curve[-1])
        return math.nan

    if len(t) == 0:
        return math.nan, np.full(n_boot, math.nan)
    estimate = median_with(np.ones(len(ids)))
    rng = np.random.default_rng(seed)
    uniform = np.full(len(ids), 1.0 / len(ids))
    # One resample at a time: memory stays O(patients), not O(n_boot x clusters).
    boots = np.array([median_with(rng.multinomial(len(ids), uniform)) for _ in range(n_boot)])
    return estimate, boots
