"""chisq_cc, boschloo, barnard and bayes checked against scipy, brute force and known theory.

scipy's tables for boschloo_exact / barnard_exact have the samples as columns:
[[x1, x2], [n1 - x1, n2 - x2]], and alternative="greater" is p1 > p2 (arm 1 = rechallenge).

Two known, checked differences from scipy (README-level detail in the module docstrings):
- scipy maximises over the nuisance parameter with shgo on 32 Sobol points and can stop
  short of the supremum; where our p-value is larger, a brute-force dense grid confirms it.
- barnard_exact compares floating-point statistics, so rounding can split tables whose
  statistics are mathematically equal; we keep such ties together, and a brute-force sum
  over the exact "at least as extreme" set confirms our value.
"""

import csv
import math
from functools import cache

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import betainc, betaincinv, betaln
from scipy.stats import barnard_exact, binom, boschloo_exact, chi2_contingency, hypergeom

from sim.stats.binary import DEFAULT_PRIOR, PRIOR_TESTS, TESTS, p_value_matrix, reject, rejection_region
from sim.stats.exact import exact_grid, exact_power
from sim.cli import main

UNCONDITIONAL = ("boschloo", "barnard")
SMALL_ARMS = [(8, 8), (7, 10)]
# |p - scipy p| allowed where scipy's maximisation and tie handling are not at issue.
AGREE = 1e-10
# Accuracy required of our supremum against the brute-force dense grid.
SUP_ACCURACY = 1e-10
DECISIONS = [("one", 0.025), ("two", 0.05), ("one", 0.10)]


# --- references -------------------------------------------------------------------------


def _scipy_p_value(test, sided, n1, n2, x1, x2):
    columns = [[x1, x2], [n1 - x1, n2 - x2]]  # scipy's unconditional tests: samples are columns
    alternative = "greater" if sided == "one" else "two-sided"
    if test == "boschloo":
        return boschloo_exact(columns, alternative=alternative).pvalue
    if test == "barnard":
        return barnard_exact(columns, alternative=alternative, pooled=True).pvalue
    assert test == "chisq_cc" and sided == "two"
    if x1 + x2 in (0, n1 + n2):
        return 1.0  # chi2_contingency refuses tables with a zero margin
    return chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=True).pvalue


@cache
def _scipy_p_values(test, sided, n1, n2, tables):
    return {table: _scipy_p_value(test, sided, n1, n2, *table) for table in tables}


def _all_tables(n1, n2):
    return tuple((x1, x2) for x1 in range(n1 + 1) for x2 in range(n2 + 1))


def _sample_tables(n1, n2, size, seed=20240601):
    tables = _all_tables(n1, n2)
    chosen = np.random.default_rng(seed).choice(len(tables), size=size, replace=False)
    return tuple(tables[i] for i in sorted(chosen))


def _tail(n1, n2, mask, pi):
    pmf1, pmf2 = binom.pmf(np.arange(n1 + 1), n1, pi[:, None]), binom.pmf(np.arange(n2 + 1), n2, pi[:, None])
    return ((pmf1 @ mask) * pmf2).sum(axis=1)


@cache
def _dense_pmfs(n1, n2, points=4001):
    pi = np.linspace(0.0, 1.0, points)
    return pi, binom.pmf(np.arange(n1 + 1), n1, pi[:, None]), binom.pmf(np.arange(n2 + 1), n2, pi[:, None])


def _brute_force_sup(n1, n2, extreme):
    """max over pi of P_pi(table in `extreme`), by plain grids, independent of the module's method.

    A 4001-point grid on [0, 1], then around each of its 5 best points two successive
    401-point zooms (spacing 1.6e-9 at the end): the maximum of a smooth function is found
    to about f'' * 1e-18.
    """
    pi, pmf1, pmf2 = _dense_pmfs(n1, n2)
    mask = extreme.astype(float)
    tail = ((pmf1 @ mask) * pmf2).sum(axis=1)
    best = tail.max()
    for g in np.argsort(tail)[-5:]:
        centre, step = pi[g], pi[1] - pi[0]
        for _ in range(2):
            fine = np.clip(np.linspace(centre - step, centre + step, 401), 0.0, 1.0)
            values = _tail(n1, n2, mask, fine)
            centre, step = fine[values.argmax()], fine[1] - fine[0]
            best = max(best, values.max())
    return best


def _exact_barnard_key(n1, n2):
    """sign(d) d^2 / (s (N - s)) as exact fractions: equal exactly when the pooled T's are equal."""
    from fractions import Fraction

    key = np.empty((n1 + 1, n2 + 1), dtype=object)
    for x1 in range(n1 + 1):
        for x2 in range(n2 + 1):
            d, s = x1 * n2 - x2 * n1, x1 + x2
            key[x1, x2] = Fraction(0) if d == 0 else Fraction(d * abs(d), s * (n1 + n2 - s))
    return key


def _scipy_float_barnard_statistic(n1, n2):
    """barnard_exact(pooled=True)'s floating-point statistic, computed the way scipy does."""
    x1, x2 = np.arange(n1 + 1)[:, None], np.arange(n2 + 1)[None, :]
    p1, p2, pooled = x1 / n1, x2 / n2, (x1 + x2) / (n1 + n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    t[p1 == p2] = 0
    return t


def _extreme_sets(test, sided, n1, n2, x1, x2):
    """The exact 'at least as extreme' set(s) of one table (two for two-sided Boschloo)."""
    if test == "barnard":
        key = _exact_barnard_key(n1, n2)
        if sided == "two":
            key = np.abs(key)
        return [key >= key[x1, x2]]
    a, b = np.arange(n1 + 1)[:, None], np.arange(n2 + 1)[None, :]
    greater = hypergeom.cdf(b, n1 + n2, a + b, n2)  # scipy's statistics and tolerance
    sets = [greater <= greater[x1, x2] * (1 + 1e-13)]
    if sided == "two":
        less = hypergeom.cdf(a, n1 + n2, a + b, n1)
        sets.append(less <= less[x1, x2] * (1 + 1e-13))
    return sets


def _brute_force_p_value(test, sided, n1, n2, x1, x2):
    sups = [_brute_force_sup(n1, n2, extreme) for extreme in _extreme_sets(test, sided, n1, n2, x1, x2)]
    return sups[0] if len(sups) == 1 else min(1.0, 2 * min(sups))


def _scipy_splits_a_tie(test, sided, n1, n2, x1, x2):
    """True where barnard_exact's rounding leaves out a table whose exact statistic ties this one's."""
    if test != "barnard":
        return False
    t = _scipy_float_barnard_statistic(n1, n2)
    if sided == "two":
        t = np.abs(t)
    (exact,) = _extreme_sets(test, sided, n1, n2, x1, x2)
    return bool(np.any(exact & ~(t >= t[x1, x2])))


def _compare_with_scipy(test, sided, n1, n2, tables):
    """Assert agreement with scipy; return the tables where scipy differs, each confirmed by brute force."""
    ours = p_value_matrix(n1, n2, test, sided)
    scipy_p = _scipy_p_values(test, sided, n1, n2, tables)
    differences = {"shgo": [], "tie": []}
    for (x1, x2), reference in scipy_p.items():
        p = ours[x1, x2]
        tie = _scipy_splits_a_tie(test, sided, n1, n2, x1, x2)
        if abs(p - reference) <= AGREE and not tie:
            continue
        # scipy can only be lower (a shorter maximisation or a smaller set) ...
        assert p > reference - AGREE, (test, sided, n1, n2, x1, x2, p, reference)
        # ... and ours is the supremum over the exact set.
        assert p == pytest.approx(_brute_force_p_value(test, sided, n1, n2, x1, x2), abs=SUP_ACCURACY)
        if abs(p - reference) > AGREE:
            differences["tie" if tie else "shgo"].append((x1, x2, p, reference))
    return differences


# --- chisq_cc ---------------------------------------------------------------------------


@pytest.mark.parametrize("n1, n2", [*SMALL_ARMS, (25, 25), (12, 17), (1, 6)])
def test_chisq_cc_matches_scipy_on_every_table(n1, n2):
    tables = _all_tables(n1, n2)
    two = p_value_matrix(n1, n2, "chisq_cc", "two")
    expected = _scipy_p_values("chisq_cc", "two", n1, n2, tables)
    np.testing.assert_allclose([two[t] for t in tables], [expected[t] for t in tables], rtol=1e-10, atol=0)
    # One-sided p is P(Z >= z_cc) with z_cc the signed root of scipy's corrected statistic:
    # half the two-sided p when rechallenge does better, 1 - half otherwise (0.5 at z_cc = 0).
    one = p_value_matrix(n1, n2, "chisq_cc", "one")
    for x1, x2 in tables:
        if x1 + x2 in (0, n1 + n2):
            assert one[x1, x2] == 1.0
        elif x1 * n2 > x2 * n1:
            assert one[x1, x2] == pytest.approx(expected[x1, x2] / 2, rel=1e-10)
        else:
            assert one[x1, x2] == pytest.approx(1 - expected[x1, x2] / 2, rel=1e-10)


def test_chisq_cc_textbook_values():
    # 3/4 vs 1/4: |O - E| = 1, corrected 0.5, chi2 = 0.25 * 4 * (1 / 2) = 0.5.
    assert p_value_matrix(4, 4, "chisq_cc", "two")[3, 1] == pytest.approx(math.erfc(0.5), rel=1e-12)
    # 2/4 vs 1/4: |O - E| = 0.5 is fully absorbed (correction min(0.5, |O - E|)), so p = 1 and z = 0.
    assert p_value_matrix(4, 4, "chisq_cc", "two")[2, 1] == 1.0
    assert p_value_matrix(4, 4, "chisq_cc", "one")[2, 1] == 0.5
    # Never more significant than the uncorrected test (one-sided: where rechallenge does better).
    assert np.all(p_value_matrix(30, 22, "chisq_cc", "two") >= p_value_matrix(30, 22, "chisq", "two") - 1e-15)
    better = np.arange(31)[:, None] * 22 > np.arange(23)[None, :] * 30
    one_cc, one = p_value_matrix(30, 22, "chisq_cc", "one"), p_value_matrix(30, 22, "chisq", "one")
    assert np.all(one_cc[better] >= one[better] - 1e-15)
    assert np.all(one_cc[better] <= 0.5) and np.all(one_cc[~better] >= 0.5)


# --- boschloo and barnard against scipy -----------------------------------------------------


@pytest.mark.parametrize("n1, n2", SMALL_ARMS)
@pytest.mark.parametrize("sided", ("one", "two"))
@pytest.mark.parametrize("test", UNCONDITIONAL)
def test_unconditional_tests_match_scipy_on_every_small_table(test, sided, n1, n2):
    differences = _compare_with_scipy(test, sided, n1, n2, _all_tables(n1, n2))
    assert differences["shgo"] == []
    if test == "barnard" and (n1, n2, sided) == (7, 10, "two"):
        # T and -T of a table and its mirror (n1 - x1, n2 - x2) round differently in scipy,
        # which then leaves the mirror out of the larger one's set: 23 of the 88 tables.
        assert len(differences["tie"]) == 23
    else:
        assert differences["tie"] == []


@pytest.mark.parametrize("sided", ("one", "two"))
@pytest.mark.parametrize("test", UNCONDITIONAL)
def test_unconditional_tests_match_scipy_on_sampled_tables_25(test, sided):
    differences = _compare_with_scipy(test, sided, 25, 25, _sample_tables(25, 25, 40))
    # The few tables where scipy's shgo falls short are confirmed above by brute force.
    assert len(differences["shgo"]) <= 2
    if test == "boschloo":
        assert differences["tie"] == []


def test_scipy_barnard_splits_mathematical_ties():
    """Barnard two-sided at (7, 10), table (5, 3): |T| of (2, 7) is equal, but scipy's floats say smaller."""
    exact = _extreme_sets("barnard", "two", 7, 10, 5, 3)[0]
    t = np.abs(_scipy_float_barnard_statistic(7, 10))
    assert exact[2, 7] and t[2, 7] < t[5, 3]
    ours = p_value_matrix(7, 10, "barnard", "two")[5, 3]
    assert ours == pytest.approx(_brute_force_sup(7, 10, exact), abs=SUP_ACCURACY)
    assert ours == pytest.approx(0.1172943115234376, abs=1e-12)
    scipy_p = _scipy_p_value("barnard", "two", 7, 10, 5, 3)
    assert scipy_p == pytest.approx(_brute_force_sup(7, 10, t >= t[5, 3]), abs=1e-8)
    assert scipy_p < ours - 0.01


@pytest.mark.parametrize("sided, x1, x2", [("one", 6, 0), ("one", 16, 7), ("two", 0, 6)])
def test_scipy_boschloo_stops_short_of_the_supremum(sided, x1, x2):
    """At 25/25 scipy's shgo (32 Sobol points) misses the top for 6 one-sided and 8 two-sided tables."""
    ours = p_value_matrix(25, 25, "boschloo", sided)[x1, x2]
    scipy_p = _scipy_p_value("boschloo", sided, 25, 25, x1, x2)
    assert ours == pytest.approx(_brute_force_p_value("boschloo", sided, 25, 25, x1, x2), abs=SUP_ACCURACY)
    assert 1e-7 < ours - scipy_p < 2e-6


@pytest.mark.parametrize("n1, n2, size", [(25, 25, 6), (13, 31, 6)])
@pytest.mark.parametrize("sided", ("one", "two"))
@pytest.mark.parametrize("test", UNCONDITIONAL)
def test_unconditional_p_values_are_the_supremum(test, sided, n1, n2, size):
    ours = p_value_matrix(n1, n2, test, sided)
    for x1, x2 in _sample_tables(n1, n2, size, seed=n1 * 100 + n2):
        assert ours[x1, x2] == pytest.approx(_brute_force_p_value(test, sided, n1, n2, x1, x2), abs=SUP_ACCURACY)


@pytest.mark.slow
@pytest.mark.parametrize("sided", ("one", "two"))
@pytest.mark.parametrize("test", UNCONDITIONAL)
def test_unconditional_p_values_are_the_supremum_60(test, sided):
    ours = p_value_matrix(60, 60, test, sided)
    for x1, x2 in _sample_tables(60, 60, 40, seed=60):
        assert ours[x1, x2] == pytest.approx(_brute_force_p_value(test, sided, 60, 60, x1, x2), abs=SUP_ACCURACY)


@pytest.mark.slow
@pytest.mark.parametrize("sided", ("one", "two"))
@pytest.mark.parametrize("test", UNCONDITIONAL)
def test_unconditional_tests_match_scipy_on_every_table_25(test, sided):
    differences = _compare_with_scipy(test, sided, 25, 25, _all_tables(25, 25))
    assert len(differences["shgo"]) <= 10


@pytest.mark.parametrize("n1, n2", [(8, 8), (7, 10), (25, 25)])
@pytest.mark.parametrize("test", ("chisq_cc", *UNCONDITIONAL))
def test_decisions_agree_with_scipy(test, n1, n2):
    tables = _all_tables(n1, n2) if n1 < 25 else _sample_tables(25, 25, 40)
    near_alpha = 0
    for sided, alpha in DECISIONS:
        if test == "chisq_cc" and sided == "one":
            continue  # scipy has no one-sided corrected chi-square; checked through the two-sided p above
        region = rejection_region(n1, n2, test, alpha, sided)
        for table, p in _scipy_p_values(test, sided, n1, n2, tables).items():
            if abs(p - alpha) < 1e-6:
                near_alpha += 1
            else:
                assert region[table] == (p <= alpha), (sided, alpha, table, p)
    assert near_alpha == 0


# --- theory -------------------------------------------------------------------------------


@pytest.mark.parametrize("test", ("fisher", *UNCONDITIONAL))
@pytest.mark.parametrize("sided, alpha", DECISIONS)
def test_size_at_most_alpha_under_the_null(test, sided, alpha):
    """Rejection probability at p1 = p2 = pi never exceeds alpha (unconditional: sup over pi = size)."""
    size = max(exact_power(25, 25, pi, pi, test, alpha, sided) for pi in np.linspace(0.0, 1.0, 201))
    assert size <= alpha + 1e-9
    if test != "fisher":
        assert size > 0.5 * alpha  # and the test is not trivially conservative


@pytest.mark.parametrize("n1, n2", [(10, 10), (25, 25), (12, 17), (40, 33)])
@pytest.mark.parametrize("alpha", (0.025, 0.05, 0.10))
def test_boschloo_contains_fisher_one_sided(n1, n2, alpha):
    """Boschloo's one-sided p never exceeds Fisher's (P(Fisher p <= c) <= c given s), so its region contains Fisher's."""
    boschloo, fisher = p_value_matrix(n1, n2, "boschloo", "one"), p_value_matrix(n1, n2, "fisher", "one")
    assert np.all(boschloo <= fisher * (1 + 1e-12))
    smaller, larger = rejection_region(n1, n2, "fisher", alpha, "one"), rejection_region(n1, n2, "boschloo", alpha, "one")
    assert np.all(larger >= smaller)
    assert larger.sum() > smaller.sum()


@pytest.mark.parametrize("test", UNCONDITIONAL)
@pytest.mark.parametrize("sided", ("one", "two"))
def test_unconditional_p_values_are_symmetric(test, sided):
    """n1 = n2: a table and its successes/failures mirror (n - x2, n - x1) tie exactly."""
    p = p_value_matrix(25, 25, test, sided)
    np.testing.assert_array_equal(p, p[::-1, ::-1].T)
    if sided == "two":
        np.testing.assert_array_equal(p, p.T)


@pytest.mark.parametrize("test", UNCONDITIONAL)
def test_unconditional_degenerate_tables_and_monotone_one_sided(test):
    p = p_value_matrix(12, 17, test, "one")
    assert p[0, 0] == 1.0 and p[12, 17] == 1.0
    assert np.all(p[1:, :] <= p[:-1, :] + 1e-12)  # more rechallenge successes: more significant
    assert np.all(p[:, 1:] >= p[:, :-1] - 1e-12)
    assert p_value_matrix(12, 17, test, "two")[0, 0] == 1.0


# --- bayes --------------------------------------------------------------------------------


def _closed_form_superiority(a1, b1, a2, b2):
    """P(p1 > p2), p_i ~ Beta(a_i, b_i), for whole-number a2 (Evan Miller's sum)."""
    i = np.arange(round(a2))
    below = np.exp(betaln(a1 + i, b1 + b2) - np.log(b2 + i) - betaln(1 + i, b2) - betaln(a1, b1)).sum()
    return 1 - below


@pytest.mark.parametrize(
    "n1, n2, prior",
    [(25, 25, DEFAULT_PRIOR), (40, 33, ((0.5, 0.5), (2.0, 1.0))), (12, 30, ((2.0, 3.0), (1.0, 4.5)))],
)
def test_bayes_matches_closed_form(n1, n2, prior):
    (a1, b1), (a2, b2) = prior
    expected = np.array(
        [[_closed_form_superiority(a1 + x1, b1 + n1 - x1, a2 + x2, b2 + n2 - x2) for x2 in range(n2 + 1)]
         for x1 in range(n1 + 1)]
    )
    one = p_value_matrix(n1, n2, "bayes", "one", prior)
    np.testing.assert_allclose(1 - one, expected, rtol=0, atol=1e-10)
    two = p_value_matrix(n1, n2, "bayes", "two", prior)
    np.testing.assert_allclose(two, np.minimum(expected, 1 - expected), rtol=0, atol=1e-10)


def test_bayes_jeffreys_matches_quad():
    n1, n2, prior = 30, 24, ((0.5, 0.5), (0.5, 0.5))
    one = p_value_matrix(n1, n2, "bayes", "one", prior)
    for x1, x2 in [(0, 0), (30, 0), (0, 24), (30, 24), (15, 12), (20, 8), (9, 14), (29, 1), (3, 3), (27, 22)]:
        def integrand(u):
            return betainc(0.5 + x2, 0.5 + n2 - x2, betaincinv(0.5 + x1, 0.5 + n1 - x1, u))

        superiority = quad(integrand, 0, 1, epsabs=1e-13, epsrel=1e-12, limit=400)[0]
        assert 1 - one[x1, x2] == pytest.approx(superiority, abs=1e-9)


@pytest.mark.parametrize("prior", [DEFAULT_PRIOR, ((0.5, 0.5), (0.5, 0.5)), ((3.0, 1.0), (1.0, 2.0))])
def test_bayes_posterior_probability_is_monotone(prior):
    superiority = 1 - p_value_matrix(30, 22, "bayes", "one", prior)
    rising, falling = np.diff(superiority, axis=0), np.diff(superiority, axis=1)
    assert np.all(rising >= 0) and np.all(falling <= 0)
    # Strictly, wherever the probability is not saturated at 0 or 1 in double precision.
    inside = (superiority > 1e-12) & (superiority < 1 - 1e-12)
    assert np.all(rising[inside[:-1, :] & inside[1:, :]] > 0)
    assert np.all(falling[inside[:, :-1] & inside[:, 1:]] < 0)


def test_bayes_rejects_only_strictly_above_the_threshold():
    p = p_value_matrix(20, 20, "bayes", "one")
    alpha = float(p[14, 6])  # exactly this table's 1 - posterior probability
    assert not rejection_region(20, 20, "bayes", alpha, "one")[14, 6]
    assert rejection_region(20, 20, "bayes", float(np.nextafter(alpha, 1)), "one")[14, 6]
    fisher = p_value_matrix(20, 20, "fisher", "one")
    assert rejection_region(20, 20, "fisher", float(fisher[14, 6]), "one")[14, 6]  # the others: p <= alpha


def test_bayes_symmetric_prior_gives_one_half_on_equal_tables():
    assert p_value_matrix(15, 15, "bayes", "one")[7, 7] == pytest.approx(0.5, abs=1e-12)
    assert p_value_matrix(15, 15, "bayes", "two")[7, 7] == pytest.approx(0.5, abs=1e-12)


def test_prior_is_normalised_cached_and_passed_through():
    assert PRIOR_TESTS == ("bayes",)
    default = rejection_region(18, 21, "bayes", 0.025, "one")
    assert rejection_region(18, 21, "bayes", 0.025, "one", [[1, 1], [1, 1]]) is default
    jeffreys = ((0.5, 0.5), (0.5, 0.5))
    region = rejection_region(18, 21, "bayes", 0.025, "one", jeffreys)
    assert not np.array_equal(region, default)
    assert reject(18, 21, 15, 8, "bayes", 0.025, "one", jeffreys) == region[15, 8]
    pmf1, pmf2 = binom.pmf(np.arange(19), 18, 0.6), binom.pmf(np.arange(22), 21, 0.3)
    assert exact_power(18, 21, 0.6, 0.3, "bayes", 0.025, "one", jeffreys) == pytest.approx(pmf1 @ region @ pmf2, abs=1e-14)
    grid = exact_grid(18, 0.3, 0.6, tests=("fisher", "bayes"), prior=jeffreys)
    square = rejection_region(18, 18, "bayes", 0.025, "one", jeffreys)
    pmf = binom.pmf(np.arange(19), 18, 0.6), binom.pmf(np.arange(19), 18, 0.3)
    assert grid["power"].iloc[1] == pytest.approx(pmf[0] @ square @ pmf[1], abs=1e-14)
    assert grid["power"].iloc[0] == pytest.approx(exact_power(18, 18, 0.6, 0.3, "fisher", 0.025, "one"), abs=1e-14)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: p_value_matrix(10, 10, "fisher", "one", DEFAULT_PRIOR), "prior applies only to"),
        (lambda: rejection_region(10, 10, "bayes", 0.025, "one", ((0, 1), (1, 1))), "prior"),
        (lambda: rejection_region(10, 10, "bayes", 0.025, "one", ((1, 1), (1, float("inf")))), "prior"),
        (lambda: rejection_region(10, 10, "bayes", 0.025, "one", (1, 1)), "prior"),
        (lambda: rejection_region(10, 10, "bayes", 0.025, "one", ((1, 1), (True, 1))), "prior"),
        (lambda: rejection_region(10, 10, "bayes", 0.025, "one", ((1, 1), ("a", 1))), "prior"),
        (lambda: exact_power(10, 10, 0.5, 0.3, "chisq", 0.025, "one", DEFAULT_PRIOR), "prior"),
    ],
)
def test_bad_priors_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- command line -------------------------------------------------------------------------


def test_exact_command_runs_the_new_tests(capsys):
    argv = ["exact", "--n-per-arm", "20", "--p-control", "0.3", "--p-rechallenge", "0.3", "0.6",
            "--test", "boschloo,barnard", "bayes", "chisq_cc", "--threshold", "0.975", "0.99",
            "--prior", "0.5", "0.5", "--format", "csv"]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "n_per_arm,p_control,p_rechallenge,test,sided,alpha,threshold,prior,power"
    rows = list(csv.DictReader(lines))
    assert [r["test"] for r in rows] == ["boschloo", "barnard", "bayes", "bayes", "chisq_cc"] * 2
    bayes = [r for r in rows if r["test"] == "bayes"]
    assert [(r["alpha"], r["threshold"], r["prior"]) for r in bayes[:2]] == [
        ("0.025", "0.975", "beta(0.5,0.5)"), ("0.01", "0.99", "beta(0.5,0.5)")]
    jeffreys = ((0.5, 0.5), (0.5, 0.5))
    assert bayes[3]["p_rechallenge"] == "0.6"
    assert float(bayes[3]["power"]) == pytest.approx(exact_power(20, 20, 0.6, 0.3, "bayes", 1 - 0.99, "one", jeffreys), abs=1e-9)
    barnard = [r for r in rows if r["test"] == "barnard"]
    assert (barnard[0]["threshold"], barnard[0]["prior"]) == ("", "")
    assert float(barnard[1]["power"]) == pytest.approx(exact_power(20, 20, 0.6, 0.3, "barnard", 0.025, "one"), abs=1e-9)


def test_exact_command_bayes_threshold_defaults_to_one_minus_alpha(capsys):
    assert main(["exact", "--n-per-arm", "20", "--p-control", "0.3", "--p-rechallenge", "0.6", "--test", "bayes",
                 "--alpha", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "P(p_rechallenge > p_control | data) > threshold" in out
    assert "0.95 beta(1,1)" in out


def test_exact_help_lists_every_test(capsys):
    with pytest.raises(SystemExit):
        main(["exact", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for test in TESTS:
        assert test in text


@pytest.mark.parametrize(
    "options, message",
    [
        (["--test", "bayes", "--threshold", "1"], "--threshold 1.0: a posterior probability threshold must be between 0 and 1"),
        (["--test", "bayes", "--threshold", "x"], "--threshold 'x': expected numbers"),
        (["--test", "fisher", "--threshold", "0.9"], "--threshold: applies only to --test bayes"),
        (["--test", "chisq", "--prior", "1", "1"], "--prior: applies only to --test bayes"),
        (["--test", "bayes", "--prior", "0", "1"], "--prior 0: beta prior parameters must be numbers above 0"),
        (["--test", "bayes", "--prior", "1", "nan"], "--prior nan: beta prior parameters must be numbers above 0"),
        (["--test", "bayes", "--prior", "one", "1"], "--prior 'one': expected a number"),
        (["--test", "bayes", "--prior", "1"], "argument --prior: expected 2 arguments"),
        (["--test", "boschloo", "--n-per-arm", "201"], "--n-per-arm 201: at most 200 per arm for --test boschloo"),
    ],
)
def test_exact_command_bad_bayes_and_unconditional_options(options, message, capsys):
    argv = ["exact", "--p-control", "0.3", "--p-rechallenge", "0.5", *options]
    if "--n-per-arm" not in options:
        argv += ["--n-per-arm", "20"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
