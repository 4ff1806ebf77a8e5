"""Inverse CDFs of the configured durations, vectorized over uniforms."""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from ..scenario.schema import Duration


def quantile(d: Duration, u: np.ndarray) -> np.ndarray:
    """Duration quantile at u; monotone in u so that common random numbers stay paired."""
    u = np.asarray(u, dtype=float)
    if d.distribution == "fixed":
        return np.full(u.shape, d.mean)
    if d.distribution == "uniform":
        return d.low + (d.high - d.low) * u
    if d.distribution == "lognormal":
        sigma2 = math.log1p((d.sd / d.mean) ** 2)
        mu = math.log(d.mean) - sigma2 / 2.0
        return np.exp(mu + math.sqrt(sigma2) * special.ndtri(u))
    # gamma with the given mean and sd
    shape = (d.mean / d.sd) ** 2
    scale = d.sd**2 / d.mean
    return scale * special.gammaincinv(shape, u)


def mean(d: Duration) -> float:
    return (d.low + d.high) / 2.0 if d.distribution == "uniform" else float(d.mean)
