"""Kaplan-Meier median pooled over replicates, with bootstrap replicates over clusters.

Used for medians pooled over all patients of all replicates; resampling whole replicates gives
their Monte Carlo error (engine/summarize.py).
"""
from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def km_median_bootstrap(time, event, cluster, n_boot: int = 200, seed: int = 0) -> tuple[float, np.ndarray]:
    """Median of the pooled Kaplan-Meier curve and its bootstrap replicates over clusters.

    Clusters (replicates) are resampled with replacement: a cluster drawn m times weighs m.
    Weighted Kaplan-Meier in one pass over the sorted data: processing tied events before
    tied censorings, prod(1 - w_i / n_i) telescopes to the usual product over distinct times,
    with n_i the weight still at risk.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    order = np.lexsort((~event, time))
    t, e = time[order], event[order]
    ids, members = np.unique(np.asarray(cluster)[order], return_inverse=True)

    def median_with(weights: np.ndarray) -> float:
        at_risk = np.cumsum(weights[::-1])[::-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(e & (at_risk > 0), 1.0 - weights / at_risk, 1.0)
        idx = np.flatnonzero(np.cumprod(step) <= 0.5)
        return float(t[idx[0]]) if len(idx) else math.nan

    estimate = median_with(np.ones(len(t)))
    rng = np.random.default_rng(seed)
    uniform = np.full(len(ids), 1.0 / len(ids))
    # One resample at a time: memory stays O(patients), not O(n_boot x clusters).
    boots = np.array([median_with(rng.multinomial(len(ids), uniform).astype(float)[members]) for _ in range(n_boot)])
    return estimate, boots
