"""Treatment cycles of one patient: cycle c starts at s_c = s_{c-1} + L + delay_c (s_1 = 0).

A toxicity delay before cycle c pushes every later cycle and every scan tied to them.
Cycles are arithmetic, not SimPy events: a patient's events are scans and the end of follow-up. The starts
of a block of patients' first cycles are computed at once (``block_starts``); a patient followed
longer reuses the delay columns in turn, a period at a time.
"""
from __future__ import annotations

from bisect import bisect_left

import numpy as np


def block_starts(length: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """Starts of cycles 1..K+1 for a block: ``length`` per patient, ``delays[:, j]`` before cycle j + 2."""
    starts = np.zeros((len(length), delays.shape[1] + 1))
    np.cumsum(length[:, None] + delays, axis=1, out=starts[:, 1:])
    return starts


class CycleClock:
    def __init__(self, length: float, starts: np.ndarray, delays: np.ndarray):
        self.length = length
        self.first = starts     # first[c - 1]: day cycle c starts (precomputed for the block)
        self.more: list[float] = []  # later starts, added a period of delay columns at a time
        self.delays = delays    # delays[j]: delay before cycle j + 2, then before cycle j + 2 + K, ...

    def _extend(self) -> None:
        last = self.more[-1] if self.more else float(self.first[-1])
        self.more.extend(np.cumsum(np.concatenate(([last], self.length + self.delays)))[1:].tolist())

    def start(self, c: int) -> float:
        """Day (since first treatment) cycle c (1-based) starts."""
        if c <= len(self.first):
            return float(self.first[c - 1])
        while len(self.first) + len(self.more) < c:
            self._extend()
        return self.more[c - 1 - len(self.first)]

    def end(self, c: int) -> float:
        """Day cycle c ends: a scan tied to cycle c happens then."""
        return self.start(c) + self.length

    def started_before(self, t: float) -> int:
        """Number of cycles that start before day t (t finite)."""
        if float(self.first[-1]) >= t:
            return int(np.searchsorted(self.first, t, side="left"))
        while self.more[-1] < t if self.more else True:
            self._extend()
        return len(self.first) + bisect_left(self.more, t)
