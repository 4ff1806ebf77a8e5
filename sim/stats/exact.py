"""Exact power of two-arm binary tests by enumerating every outcome table.

With independent binomial arms, power is the probability mass of the rejection
region: sum over rejected (x1, x2) of binom(x1; n1, p1) * binom(x2; n2, p2). It has
no Monte Carlo error, so it is the reference for simulated binary-endpoint power.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy.stats import binom

from .binary import PRIOR_TESTS, _check_arm_size, rejection_region

GRID_COLUMNS = ("n_per_arm", "p_control", "p_rechallenge", "test", "sided", "alpha", "power")


def _check_probabilities(name: str, p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"{name} must be probabilities in [0, 1], got {p.tolist()!r}")
    return p


def _binomial_pmfs(n: int, p: np.ndarray) -> np.ndarray:
    """Row i is the pmf of Binomial(n, p[i]) over 0..n."""
    return binom.pmf(np.arange(n + 1), n, p[:, None])


def exact_power(
    n1: int, n2: int, p1: float, p2: float, test: str, alpha: float, sided: str, prior=None
) -> float:
    """Probability that `test` rejects when arm 1 (rechallenge) ~ Bin(n1, p1), arm 2 ~ Bin(n2, p2).

    `prior` is the beta prior of a Bayesian test (see binary.p_value_matrix).
    """
    region = rejection_region(n1, n2, test, alpha, sided, prior)
    p1 = _check_probabilities("p1", [p1])
    p2 = _check_probabilities("p2", [p2])
    return float((_binomial_pmfs(n1, p1) @ region @ _binomial_pmfs(n2, p2).T).item())


def _axis(values) -> list:
    """Let each grid axis be given as a single value or a sequence."""
    return [values] if isinstance(values, (str, numbers.Number)) else list(values)


def exact_grid(
    n_per_arm,
    p_control,
    p_rechallenge,
    tests=("fisher",),
    alphas=(0.025,),
    sided=("one",),
    prior=None,
) -> pd.DataFrame:
    """Exact power over the full cross product, equal arms n1 = n2 = n_per_arm.

    One row per combination, columns GRID_COLUMNS, nested in column order (n
    outermost). Each rejection region is computed once per (n, test, alpha, sided)
    and each binomial pmf once per (n, p); all (p_control, p_rechallenge) pairs for
    a region come from one matrix product. `prior` (see binary.p_value_matrix) goes
    to the tests that take one (binary.PRIOR_TESTS) and is not used by the others.
    """
    ns, tests, sided, alphas = _axis(n_per_arm), _axis(tests), _axis(sided), _axis(alphas)
    for n in ns:
        _check_arm_size("n_per_arm", n)
    p_control = _check_probabilities("p_control", _axis(p_control))
    p_rechallenge = _check_probabilities("p_rechallenge", _axis(p_rechallenge))

    power = np.empty((len(ns), len(p_control), len(p_rechallenge), len(tests), len(sided), len(alphas)))
    for i, n in enumerate(ns):
        control = _binomial_pmfs(n, p_control)  # arm 2, rows indexed by p_control
        rechallenge = _binomial_pmfs(n, p_rechallenge)  # arm 1, rows indexed by p_rechallenge
        for j, test in enumerate(tests):
            for k, side in enumerate(sided):
                for m, alpha in enumerate(alphas):
                    test_prior = prior if test in PRIOR_TESTS else None
                    region = rejection_region(n, n, test, alpha, side, test_prior)  # [x1, x2]
                    power[i, :, :, j, k, m] = control @ region.T @ rechallenge.T

    index = pd.MultiIndex.from_product(
        [ns, p_control, p_rechallenge, tests, sided, alphas], names=GRID_COLUMNS[:-1]
    )
    return pd.DataFrame({"power": power.ravel()}, index=index).reset_index()


def sample_size(grid: pd.DataFrame, target: float) -> pd.DataFrame:
    """Sample size under an exact test, whose power is a saw-tooth in n (the counts are discrete).

    For each design of ``grid`` (every column but n_per_arm and power), over the n in the grid:
    ``first_n``, the smallest n whose power reaches ``target``; ``stable_n``, the smallest n from
    which power stays at or above ``target`` for every larger n in the range (NaN where none);
    and ``dips``, the n whose power is below that of some smaller n, with the drop.
    """
    keys = [c for c in grid.columns if c not in ("n_per_arm", "power")]
    rows = []
    for key, g in grid.groupby(keys, sort=False, dropna=False) if keys else [((), grid)]:
        g = g.sort_values("n_per_arm")
        n, power = g["n_per_arm"].to_numpy(), g["power"].to_numpy()
        reach = power >= target
        first = int(n[reach.argmax()]) if reach.any() else None
        # Stable: every n from here to the end of the range reaches the target.
        tail_ok = np.flip(np.logical_and.accumulate(np.flip(reach)))
        stable = int(n[tail_ok.argmax()]) if tail_ok.any() else None
        best_before = np.maximum.accumulate(np.r_[-np.inf, power[:-1]])
        dip = power < best_before - 1e-12
        dips = "; ".join(f"{m}: {p:.4f} < {b:.4f}" for m, p, b in zip(n[dip], power[dip], best_before[dip]))
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
        row.update(target_power=target, first_n=first, stable_n=stable, n_dips=int(dip.sum()), dips=dips)
        rows.append(row)
    return pd.DataFrame(rows)
