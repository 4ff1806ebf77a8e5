"""Two-arm binary comparison tests expressed as rejection regions.

A binary test's decision depends only on the arm sizes and the success counts, so
each test is evaluated once for all (n1 + 1)(n2 + 1) outcome tables; the resulting
rejection region is cached and reused by every simulated replicate.

Conventions: arm 1 is rechallenge (experimental), arm 2 is control; matrices are
indexed [x1, x2]; the one-sided alternative is p1 > p2; reject when p <= alpha
(tests registered ``strict``, the Bayesian rule: when p < alpha).

The tests themselves are registered in ``binary_tests`` (one module per family: fisher,
chisq, unconditional, bayes); this module is their one interface: ``p_value_matrix``,
``rejection_region``, ``reject``, with the arguments checked.
"""

from __future__ import annotations

import math
import numbers
from functools import lru_cache

import numpy as np

from .binary_tests import REGISTRY
from .binary_tests._common import DEFAULT_PRIOR, read_only as _read_only

SIDED = ("one", "two")

#: Names of the registered tests, in registry order.
TESTS = tuple(REGISTRY)
#: Tests that take a beta prior (``prior=`` of p_value_matrix, rejection_region, reject).
PRIOR_TESTS = tuple(name for name, t in REGISTRY.items() if t.takes_prior)

__all__ = ["DEFAULT_PRIOR", "PRIOR_TESTS", "SIDED", "TESTS", "p_value_matrix", "reject", "rejection_region"]


def _check_arm_size(name: str, n) -> None:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")


def _check_test(test) -> None:
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")


def _check_sided(sided) -> None:
    if sided not in SIDED:
        raise ValueError(f"sided must be one of {SIDED}, got {sided!r}")


def _check_alpha(alpha) -> None:
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number with 0 < alpha < 1, got {alpha!r}")


def _check_prior(test: str, prior):
    """The prior as hashable floats ((a1, b1), (a2, b2)); None for tests without a prior.

    A prior given to a test that has none is an error rather than silently ignored.
    """
    if test not in PRIOR_TESTS:
        if prior is not None:
            raise ValueError(f"prior applies only to tests {PRIOR_TESTS}, not to {test!r}")
        return None
    if prior is None:
        return DEFAULT_PRIOR
    message = f"prior must be ((a1, b1), (a2, b2)) with finite numbers > 0, got {prior!r}"
    try:
        (a1, b1), (a2, b2) = prior
    except (TypeError, ValueError):
        raise ValueError(message) from None
    values = (a1, b1, a2, b2)
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in values):
        raise ValueError(message)
    a1, b1, a2, b2 = map(float, values)
    return ((a1, b1), (a2, b2))


def _check_counts(name: str, x: np.ndarray, n: int) -> None:
    if not np.issubdtype(x.dtype, np.integer) or np.any((x < 0) | (x > n)):
        raise ValueError(f"{name} must be integer counts between 0 and {n}, got {x!r}")


def _check_design(n1, n2, test, sided, prior):
    _check_arm_size("n1", n1)
    _check_arm_size("n2", n2)
    _check_test(test)
    _check_sided(sided)
    return _check_prior(test, prior)


def p_value_matrix(n1: int, n2: int, test: str, sided: str, prior=None) -> np.ndarray:
    """P-values of every table, shape (n1 + 1, n2 + 1) indexed [x1, x2].

    `prior` is ((a1, b1), (a2, b2)), the Beta(a, b) priors of arm 1 and arm 2, for the
    tests in PRIOR_TESTS only (default DEFAULT_PRIOR); other tests refuse one.
    Cached and read-only because several alphas share one matrix.
    """
    return _p_value_matrix(n1, n2, test, sided, _check_design(n1, n2, test, sided, prior))


@lru_cache(maxsize=1024)
def _p_value_matrix(n1: int, n2: int, test: str, sided: str, prior) -> np.ndarray:
    options = {} if prior is None else {"prior": prior}
    return _read_only(REGISTRY[test].p_values(n1, n2, sided, **options))


def rejection_region(n1: int, n2: int, test: str, alpha: float, sided: str, prior=None) -> np.ndarray:
    """Boolean matrix, indexed [x1, x2], of the tables on which the test rejects H0.

    Rejects where p <= alpha; for ``bayes`` where p < alpha, i.e. where the posterior
    probability is strictly above the threshold 1 - alpha. `prior` as in p_value_matrix.
    Cached and read-only: it is computed once and shared by every replicate.
    """
    prior = _check_design(n1, n2, test, sided, prior)
    _check_alpha(alpha)
    return _rejection_region(n1, n2, test, alpha, sided, prior)


@lru_cache(maxsize=1024)
def _rejection_region(n1: int, n2: int, test: str, alpha: float, sided: str, prior) -> np.ndarray:
    p = _p_value_matrix(n1, n2, test, sided, prior)
    return _read_only(p < alpha if REGISTRY[test].strict else p <= alpha)


def reject(n1: int, n2: int, x1, x2, test: str, alpha: float, sided: str, prior=None):
    """Decision for observed counts; x1 and x2 may be integer arrays (e.g. one per replicate)."""
    region = rejection_region(n1, n2, test, alpha, sided, prior)
    x1, x2 = np.asarray(x1), np.asarray(x2)
    _check_counts("x1", x1, n1)
    _check_counts("x2", x2, n2)
    return region[x1, x2]
