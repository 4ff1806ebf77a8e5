"""Treatment cycles of one patient: cycle c starts at s_c = s_{c-1} + L + delay_c (s_1 = 0).

A toxicity delay before cycle c pushes every later cycle and every scan tied to them.
Cycles are arithmetic, not SimPy events: a patient's events are scans and the end of follow-up. The starts
of a block of patients' first cycles are computed at once (``block_starts``); a patient followed
longer reuses the delay columns in turn, a period at a time. Only the period the patient's events
last reached is kept: a patient on daily cycles for decades (or told to stop after cycle 10**9, by a
per-cycle probability of 1e-9) takes the memory of one period, not of every cycle (a list of 10**6
starts per patient took 1 GB for two trials of 50 patients). A period is computed from the one before
in the same way whichever periods were asked for before, so the starts do not depend on the order of
the questions.
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
    __slots__ = ("length", "first", "delays", "period", "before", "starts")

    def __init__(self, length: float, starts: np.ndarray, delays: np.ndarray):
        self.length = length
        self.first = starts     # first[c - 1]: day cycle c starts (precomputed for the block)
        self.delays = delays    # delays[j]: delay before cycle j + 2, then before cycle j + 2 + K, ...
        self.period = -1        # the period of later starts kept (period p: cycles len(first) + p K + 1 ...)
        self.before = float(starts[-1])  # the start just before it
        self.starts: list[float] = []    # its K starts

    def _go_to(self, p: int) -> None:
        """Keep period ``p``, computed from period 0 on (only the latest is kept)."""
        if p < self.period:
            self.period, self.starts = -1, []
        while self.period < p:
            self.before = self.starts[-1] if self.starts else float(self.first[-1])
            self.starts = np.cumsum(np.concatenate(([self.before], self.length + self.delays)))[1:].tolist()
            self.period += 1

    def start(self, c: int) -> float:
        """Day (since first treatment) cycle c (1-based) starts."""
        n = len(self.first)
        if c <= n:
            return float(self.first[c - 1])
        p, i = divmod(c - 1 - n, len(self.delays))
        self._go_to(p)
        return self.starts[i]

    def end(self, c: int) -> float:
        """Day cycle c ends: a scan tied to cycle c happens then."""
        return self.start(c) + self.length

    def ends_before(self, c: int, t: float) -> bool:
        """Whether cycle c ends before day t, computing no cycle beyond day t: each cycle lasts at
        least ``length`` days (delays are not negative), so cycle c ends on day c * length at the
        earliest (exactly so in floating point too: the starts are sums of terms of at least
        ``length``, a whole number of days)."""
        return c * self.length < t and self.end(c) < t

    def started_before(self, t: float) -> int:
        """Number of cycles that start before day t (t finite)."""
        if float(self.first[-1]) >= t:
            return int(np.searchsorted(self.first, t, side="left"))
        if self.period < 0 or self.before >= t:  # t is in an earlier period than the one kept
            self._go_to(0)
        while self.starts[-1] < t:
            self._go_to(self.period + 1)
        return len(self.first) + self.period * len(self.delays) + bisect_left(self.starts, t)
