"""Kaplan-Meier median with a distribution-free confidence interval, on plain numpy arrays.

Used for medians pooled over all patients of all replicates (their Monte Carlo error comes from
batch means over groups of replicates: engine/summarize.py).
"""
from __future__ import annotations

import math

import numpy as np

Z95 = 1.959963984540054


def km_curve(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct event times, S(t) just after each, and Greenwood's variance of S(t)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    order = np.argsort(time, kind="stable")
    t, e = time[order], event[order]
    uniq, first = np.unique(t, return_index=True)
    n_at_risk = len(t) - first
    deaths = np.add.reduceat(e.astype(np.int64), first) if len(t) else np.zeros(0, np.int64)
    keep = deaths > 0
    uniq, n_at_risk, deaths = uniq[keep], n_at_risk[keep], deaths[keep]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - deaths / n_at_risk)
        terms = np.where(n_at_risk > deaths, deaths / (n_at_risk * (n_at_risk - deaths)), np.inf)
        var = np.where(surv > 0, surv**2 * np.cumsum(terms), 0.0)
    return uniq, surv, var


def km_median(time, event) -> tuple[float, float, float]:
    """Median and Brookmeyer-Crowley 95% interval; NaN where the curve does not reach them.

    The interval is the set of t with |S(t) - 1/2| <= 1.96 se(S(t)) (Greenwood), read off
    the step function: its ends are where S first drops to 1/2 + 1.96 se and below 1/2 - 1.96 se.
    """
    t, s, v = km_curve(time, event)
    se = np.sqrt(v)

    def first(mask) -> float:
        idx = np.flatnonzero(mask)
        return float(t[idx[0]]) if len(idx) else math.nan

    return first(s <= 0.5), first(s <= 0.5 + Z95 * se), first(s < 0.5 - Z95 * se)


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
    counts = rng.multinomial(len(ids), np.full(len(ids), 1.0 / len(ids)), size=n_boot).astype(float)
    boots = np.array([median_with(c[members]) for c in counts])
    return estimate, boots
