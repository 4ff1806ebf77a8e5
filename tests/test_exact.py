"""Exact power and binary rejection regions checked against per-table scipy calls."""

import itertools
import math
from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, fisher_exact, norm

from sim.stats.binary import p_value_matrix, reject, rejection_region
from sim.stats.exact import GRID_COLUMNS, exact_grid, exact_power

GRID_N = tuple(range(20, 41))
GRID_P_CONTROL = (0.30, 0.35, 0.40, 0.45)
GRID_P_RECHALLENGE = tuple(round(0.30 + 0.05 * i, 2) for i in range(11))  # 0.30 .. 0.80
ALPHAS = (0.025, 0.05)
SIDED = ("one", "two")
# The tests this file checks against scipy; tests/test_binary_tests.py covers the others.
TESTS = ("fisher", "chisq")


def _scipy_p_value(test, sided, n1, n2, x1, x2):
    """One table's p-value straight from scipy (or the textbook z for one-sided chisq)."""
    table = [[x1, n1 - x1], [x2, n2 - x2]]
    if test == "fisher":
        alternative = "greater" if sided == "one" else "two-sided"
        return fisher_exact(table, alternative=alternative).pvalue
    if x1 + x2 in (0, n1 + n2):
        return 1.0  # chi2_contingency refuses tables with a zero margin
    if sided == "two":
        return chi2_contingency(table, correction=False).pvalue
    pooled = (x1 + x2) / (n1 + n2)
    z = (x1 / n1 - x2 / n2) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return norm.sf(z)


@cache
def _scipy_p_values(test, sided, n1, n2):
    """{(x1, x2): p} for every table; cached so each table hits scipy once per session."""
    return {
        (x1, x2): _scipy_p_value(test, sided, n1, n2, x1, x2)
        for x1 in range(n1 + 1)
        for x2 in range(n2 + 1)
    }


@cache
def _binomial_pmf(n, p):
    return [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]


@cache
def _rejected_tables(test, sided, alpha, n1, n2):
    return [table for table, p in _scipy_p_values(test, sided, n1, n2).items() if p <= alpha]


def _brute_force_power(test, sided, alpha, n1, n2, p1, p2):
    pmf1, pmf2 = _binomial_pmf(n1, p1), _binomial_pmf(n2, p2)
    return math.fsum(pmf1[x1] * pmf2[x2] for x1, x2 in _rejected_tables(test, sided, alpha, n1, n2))


def _assert_grid_matches_brute_force(grid):
    expected = [
        _brute_force_power(r.test, r.sided, r.alpha, r.n_per_arm, r.n_per_arm, r.p_rechallenge, r.p_control)
        for r in grid.itertuples()
    ]
    np.testing.assert_allclose(grid["power"], expected, rtol=0, atol=1e-9)


def _acceptance_grid(n_per_arm, p_control, test):
    """One-sided alpha 0.025 and two-sided alpha 0.05, the trial's two design options."""
    return pd.concat(
        [
            exact_grid(n_per_arm, p_control, GRID_P_RECHALLENGE, tests=(test,), alphas=(alpha,), sided=(sided,))
            for sided, alpha in zip(SIDED, ALPHAS)
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def fisher_grid():
    return _acceptance_grid(GRID_N, GRID_P_CONTROL, "fisher")


@pytest.mark.parametrize("n", GRID_N)
def test_fisher_grid_matches_per_table_scipy(fisher_grid, n):
    _assert_grid_matches_brute_force(fisher_grid[fisher_grid["n_per_arm"] == n])


@pytest.mark.parametrize("n", (20, 27, 33, 40))
def test_chisq_grid_matches_per_table_scipy(n):
    _assert_grid_matches_brute_force(_acceptance_grid(n, (0.30, 0.45), "chisq"))


@pytest.mark.parametrize("test", TESTS)
@pytest.mark.parametrize("sided", SIDED)
def test_exact_power_unequal_arms_matches_brute_force(test, sided):
    for n1, n2, p1, p2 in [(12, 17, 0.6, 0.3), (17, 12, 0.45, 0.4), (30, 7, 0.8, 0.2)]:
        assert exact_power(n1, n2, p1, p2, test, 0.05, sided) == pytest.approx(
            _brute_force_power(test, sided, 0.05, n1, n2, p1, p2), abs=1e-9
        )


@pytest.mark.parametrize("n1, n2", [(12, 17), (17, 12), (1, 6), (30, 7), (25, 25)])
@pytest.mark.parametrize("sided", SIDED)
def test_p_value_matrix_matches_scipy_per_table(n1, n2, sided):
    for test in TESTS:
        scipy_p = _scipy_p_values(test, sided, n1, n2)
        expected = np.array([[scipy_p[x1, x2] for x2 in range(n2 + 1)] for x1 in range(n1 + 1)])
        if test == "fisher":  # same scipy calls, so bitwise equal
            np.testing.assert_array_equal(p_value_matrix(n1, n2, test, sided), expected)
        else:
            np.testing.assert_allclose(p_value_matrix(n1, n2, test, sided), expected, rtol=1e-10, atol=0)


def test_textbook_tea_tasting_p_values():
    # Fisher's lady tasting tea: 3 of 4 cups right in each direction, P = 17/70 one-sided.
    assert p_value_matrix(4, 4, "fisher", "one")[3, 1] == pytest.approx(17 / 70, rel=1e-12)
    assert p_value_matrix(4, 4, "fisher", "two")[3, 1] == pytest.approx(34 / 70, rel=1e-12)
    # Same table: Pearson chi-square = 2 on 1 df, z = sqrt(2).
    assert p_value_matrix(4, 4, "chisq", "two")[3, 1] == pytest.approx(math.erfc(1), rel=1e-12)
    assert p_value_matrix(4, 4, "chisq", "one")[3, 1] == pytest.approx(math.erfc(1) / 2, rel=1e-12)


def test_exact_power_closed_form_single_patient_arms():
    # n1 = n2 = 1: only (x1, x2) = (1, 0) has one-sided Fisher p = 1/2 <= alpha = 0.5.
    assert exact_power(1, 1, 0.7, 0.2, "fisher", 0.5, "one") == pytest.approx(0.7 * 0.8, abs=1e-15)


@pytest.mark.parametrize("n1, n2", [(5, 5), (20, 20), (33, 33), (40, 40), (12, 17), (60, 45)])
@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.8])
def test_fisher_is_conservative_under_null(n1, n2, p):
    assert exact_power(n1, n2, p, p, "fisher", 0.025, "one") <= 0.025
    assert exact_power(n1, n2, p, p, "fisher", 0.05, "two") <= 0.05


@pytest.mark.parametrize("n1, n2", [(3, 8), (20, 20), (40, 33)])
@pytest.mark.parametrize("alpha", [0.025, 0.1])
def test_one_sided_fisher_region_is_monotone(n1, n2, alpha):
    """More rechallenge or fewer control successes never undo a rejection (so power rises with p1)."""
    region = rejection_region(n1, n2, "fisher", alpha, "one")
    assert np.all(region[1:, :] >= region[:-1, :])
    assert np.all(region[:, :-1] >= region[:, 1:])


def test_grid_columns_and_nested_order():
    ns, p_control, p_rechallenge = (20, 21), (0.3, 0.4), (0.5, 0.6, 0.7)
    grid = exact_grid(ns, p_control, p_rechallenge, tests=TESTS, alphas=ALPHAS, sided=SIDED)
    assert tuple(grid.columns) == GRID_COLUMNS
    keys = list(itertools.product(ns, p_control, p_rechallenge, TESTS, SIDED, ALPHAS))
    assert list(grid[list(GRID_COLUMNS[:-1])].itertuples(index=False, name=None)) == keys
    for row in grid.itertuples():
        assert row.power == pytest.approx(
            exact_power(row.n_per_arm, row.n_per_arm, row.p_rechallenge, row.p_control, row.test, row.alpha, row.sided),
            abs=1e-14,
        )


def test_rejection_region_is_cached_and_read_only():
    region = rejection_region(20, 20, "fisher", 0.025, "one")
    assert rejection_region(20, 20, "fisher", 0.025, "one") is region
    assert region.shape == (21, 21) and region.dtype == bool
    assert not region.flags.writeable
    with pytest.raises(ValueError):
        region[0, 0] = True
    assert not p_value_matrix(20, 20, "fisher", "one").flags.writeable


def test_reject_looks_up_scalars_and_arrays():
    region = rejection_region(15, 18, "chisq", 0.05, "two")
    x1, x2 = np.array([0, 12, 3, 15]), np.array([0, 2, 15, 18])
    np.testing.assert_array_equal(reject(15, 18, x1, x2, "chisq", 0.05, "two"), region[x1, x2])
    assert reject(15, 18, 12, 2, "chisq", 0.05, "two") == region[12, 2]


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: rejection_region(0, 10, "fisher", 0.025, "one"), "n1"),
        (lambda: rejection_region(10, 2.5, "fisher", 0.025, "one"), "n2"),
        (lambda: rejection_region(10, 10, "nonsense", 0.025, "one"), "test must be one of .*fisher.*chisq"),
        (lambda: p_value_matrix(10, 10, "fisher", "greater"), "sided"),
        (lambda: rejection_region(10, 10, "fisher", 0.0, "one"), "alpha"),
        (lambda: rejection_region(10, 10, "fisher", 1.0, "one"), "alpha"),
        (lambda: rejection_region(10, 10, "fisher", True, "one"), "alpha"),
        (lambda: reject(10, 10, 11, 3, "fisher", 0.025, "one"), "x1"),
        (lambda: reject(10, 10, 3, np.array([1.0]), "fisher", 0.025, "one"), "x2"),
        (lambda: exact_power(10, 10, 1.5, 0.3, "fisher", 0.025, "one"), "p1"),
        (lambda: exact_power(10, 10, 0.5, -0.1, "fisher", 0.025, "one"), "p2"),
        (lambda: exact_grid(0, 0.3, 0.5), "n_per_arm"),
        (lambda: exact_grid(20, (0.3, 1.2), 0.5), "p_control"),
        (lambda: exact_grid(20, 0.3, (0.5, np.nan)), "p_rechallenge"),
    ],
)
def test_invalid_inputs_raise_value_error_naming_the_argument(call, argument):
    with pytest.raises(ValueError, match=argument):
        call()


def test_sample_size_reads_the_saw_tooth():
    """Fisher one-sided 0.025 at 0.35 vs 0.60: power dips below smaller n's; first_n and stable_n
    checked against a direct scan of exact_power."""
    from sim.stats.exact import exact_power, sample_size

    ns = list(range(15, 101))
    grid = exact_grid(ns, 0.35, 0.60, "fisher", 0.025, "one")
    power = {n: exact_power(n, n, 0.60, 0.35, "fisher", 0.025, "one") for n in ns}
    for target in (0.80, 0.85):
        row = sample_size(grid, target).iloc[0]
        first = min(n for n in ns if power[n] >= target)
        stable = min(n for n in ns if all(power[m] >= target for m in ns if m >= n))
        assert (row["first_n"], row["stable_n"]) == (first, stable)
        assert row["n_dips"] == sum(power[n] < max(power[m] for m in ns if m < n) for n in ns[1:])
    row = sample_size(grid, 0.85).iloc[0]
    assert row["first_n"] < row["stable_n"]  # 75 reaches 0.85, 76-79 fall below it again
    assert power[26] < power[25]
