"""Accrual: screening arrivals as a Poisson process with piecewise-constant monthly rates.

Arrival k happens when the cumulative intensity reaches the sum of k+1 unit exponentials,
so patient k's arrival depends only on patients 0..k's own uniforms. With evenly spaced
arrivals every exponential is replaced by its mean, 1.
"""
from __future__ import annotations

import numpy as np

from ..scenario.schema import Accrual
from ..units import DAYS_PER_MONTH


class ArrivalClock:
    def __init__(self, accrual: Accrual):
        self.starts = np.array([p.from_month * DAYS_PER_MONTH for p in accrual.screening_rates])
        self.rates = np.array([p.per_month / DAYS_PER_MONTH for p in accrual.screening_rates])
        widths = np.diff(self.starts)
        self.cum = np.concatenate([[0.0], np.cumsum(self.rates[:-1] * widths)])

    def days(self, cumulative_intensity: np.ndarray) -> np.ndarray:
        """Invert the cumulative intensity (flat pieces with rate 0 are skipped)."""
        j = np.searchsorted(self.cum, cumulative_intensity, side="right") - 1
        return self.starts[j] + (cumulative_intensity - self.cum[j]) / self.rates[j]
