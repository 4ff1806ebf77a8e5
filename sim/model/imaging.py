"""Imaging: RECIST 1.1 category at a scan, and the calendar grid of follow-up scans."""
from __future__ import annotations

import math

from ..table import CR, PD, PR, SD


def recist(t: float, progression: float, responder: bool, complete: bool) -> int:
    """Category seen at relative day t: PD once truly progressed, else the patient's response level."""
    if progression <= t:
        return PD
    if responder:
        return CR if complete else PR
    return SD


def next_calendar_scan(last_assessment: float, not_before: float, interval: float) -> float:
    """First point of the grid last_assessment + k*interval (k >= 1) at or after not_before."""
    k = max(1, math.ceil((not_before - last_assessment) / interval - 1e-12))
    return last_assessment + k * interval
