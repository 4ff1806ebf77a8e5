"""Confidence intervals computed for every replicate at once (numpy arrays in, arrays out)."""
from __future__ import annotations

import numpy as np

from .km import Z95


def wilson(x, n, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of x/n; NaN where n = 0."""
    x, n = np.asarray(x, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def newcombe_difference(x1, n1, x2, n2, z: float = Z95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """p1 - p2 and Newcombe's hybrid score interval (method 10, Newcombe 1998) from the arms' Wilson
    intervals. Returns (difference, low, high); NaN where an arm is empty."""
    x1, n1, x2, n2 = (np.asarray(v, dtype=float) for v in (x1, n1, x2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson(x1, n1, z)
    l2, u2 = wilson(x2, n2, z)
    d = p1 - p2
    return d, d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
