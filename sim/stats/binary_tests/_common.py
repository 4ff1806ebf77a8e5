"""What several test families share: the table grid, degenerate tables, the default prior."""
from __future__ import annotations

import numpy as np

#: Beta(1, 1) (uniform) prior on both arms: the default for tests that take a prior.
DEFAULT_PRIOR = ((1.0, 1.0), (1.0, 1.0))


def tables(n1: int, n2: int) -> tuple[np.ndarray, np.ndarray]:
    """x1 as a column and x2 as a row, broadcasting to the (n1 + 1, n2 + 1) table grid."""
    return np.arange(n1 + 1)[:, None], np.arange(n2 + 1)[None, :]


def degenerate(n1: int, n2: int) -> np.ndarray:
    """Tables with no successes or no failures at all carry no evidence either way."""
    x1, x2 = tables(n1, n2)
    return (x1 + x2 == 0) | (x1 + x2 == n1 + n2)


def read_only(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
