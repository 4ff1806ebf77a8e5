"""Treatment cycles of one patient: cycle c starts at s_c = s_{c-1} + L + delay_c (s_1 = 0).

A toxicity delay before cycle c pushes every later cycle and every scan tied to them.
Cycles are arithmetic, not SimPy events: the patient process yields at scans only.
"""
from __future__ import annotations

from collections.abc import Callable


class CycleClock:
    def __init__(self, length: float, delay: Callable[[int], float]):
        self.length = length
        self.delay = delay
        self.starts = [0.0]

    def start(self, c: int) -> float:
        """Day (since first treatment) cycle c (1-based) starts."""
        while len(self.starts) < c:
            self.starts.append(self.starts[-1] + self.length + self.delay(len(self.starts) + 1))
        return self.starts[c - 1]

    def end(self, c: int) -> float:
        """Day cycle c ends: a scan tied to cycle c happens then."""
        return self.start(c) + self.length
