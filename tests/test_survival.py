"""Fast two-arm log-rank and Cox (Efron) analyses against lifelines, degenerate trials, conventions."""
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import logrank_test
from scipy.stats import chi2, norm

from sim.stats.survival import (
    CoxFit, LogRank, cox_two_arm, cox_two_arm_batch, hr_ci, logrank, logrank_and_cox,
    logrank_and_cox_batch, logrank_batch, one_sided_p,
)

N_DATASETS = 240
TOL = 1e-6
# lifelines' own Newton-Raphson tolerances made tight (its Newton-decrement test uses `precision`
# too), so that its estimate is the MLE up to the one Newton step it never applies (~1e-7).
TIGHT = dict(precision=1e-14, r_precision=1e-16)


def _trial(seed: int):
    """A simulated-like trial: scan-day ties, heavy censoring, unequal and small arms."""
    rng = np.random.default_rng(1000 + seed)
    kind = seed % 6
    n = int(rng.integers(6, 16)) if kind == 5 else int(rng.integers(20, 121))
    share = rng.uniform(0.12, 0.3) if kind == 4 else rng.uniform(0.3, 0.7)
    arm = (rng.random(n) < share).astype(np.int64)
    arm[:2], arm[2:4] = 1, 0  # both arms present
    rng.shuffle(arm)
    hazard_ratio = math.exp(rng.normal(0.0, 0.5))
    t = rng.exponential(180.0, n) / np.where(arm == 1, hazard_ratio, 1.0)
    entry = rng.uniform(0.0, 540.0, n)
    cutoff = rng.uniform(300.0, 900.0)
    c = np.minimum(cutoff - entry + 1.0, rng.exponential(600.0, n))
    if kind == 2:
        c = np.minimum(c, rng.exponential(60.0, n))  # ~75% censored
    if kind in (0, 1, 2, 5):
        t, c = np.ceil(t / 56.0) * 56.0, np.ceil(np.maximum(c, 1.0) / 56.0) * 56.0  # scan days
    elif kind == 3:
        t, c = np.ceil(t / 7.0) * 7.0, np.ceil(np.maximum(c, 1.0) / 7.0) * 7.0
    return np.minimum(t, c), t <= c, arm


def _no_warnings(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


@pytest.fixture(scope="module")
def compared():
    """Ours and lifelines' results on every dataset (lifelines' fits are ~20 ms each)."""
    rows = []
    for seed in range(N_DATASETS):
        time, event, arm = _trial(seed)
        ours_lr, ours_cox = _no_warnings(logrank_and_cox, time, event, arm)
        compat = _no_warnings(cox_two_arm, time, event, arm, lifelines_compat=True)
        g1, g0 = arm == 1, arm == 0
        ref_lr = logrank_test(time[g1], time[g0], event[g1], event[g0])
        row = dict(seed=seed, events=int(event.sum()), ties=len(time) - len(np.unique(time[event])),
                   lr=ours_lr, cox=ours_cox, compat=compat, ref_lr=ref_lr, ref=None, tight=None)
        if ours_cox.converged:  # lifelines warns and drifts on monotone likelihoods: not compared
            df = pd.DataFrame({"T": time, "E": event.astype(int), "arm": arm})
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                default = CoxPHFitter().fit(df, "T", "E")
                tight = CoxPHFitter().fit(df, "T", "E", fit_options=TIGHT)
            row["ref"] = (default.params_["arm"], default.standard_errors_["arm"])
            row["tight"] = (tight.params_["arm"], tight.standard_errors_["arm"])
        rows.append(row)
    return rows


def _worst(rows, difference):
    diffs = [(difference(r), r["seed"]) for r in rows]
    return max(diffs) if diffs else (0.0, None)


def test_datasets_cover_ties_censoring_and_small_trials(compared):
    assert sum(r["ties"] > 5 for r in compared) >= 100
    assert sum(r["events"] < 0.4 * len(_trial(r["seed"])[0]) for r in compared) >= 40
    assert sum(len(_trial(r["seed"])[0]) < 16 for r in compared) >= 30
    assert sum(r["ref"] is not None for r in compared) >= 200


def test_logrank_matches_lifelines(compared):
    rows = [r for r in compared if not math.isnan(r["lr"].z)]
    assert len(rows) >= 200
    stat, seed = _worst(rows, lambda r: abs(r["lr"].chisq - r["ref_lr"].test_statistic)
                        / max(1.0, r["ref_lr"].test_statistic))
    assert stat < TOL, f"seed {seed}"
    p, seed = _worst(rows, lambda r: abs(r["lr"].p_two_sided - r["ref_lr"].p_value))
    assert p < TOL, f"seed {seed}"
    print(f"\nlog-rank vs lifelines over {len(rows)} datasets: max |d chisq| (rel. to max(1, chisq)) "
          f"{stat:.1e}, max |d p| {p:.1e}")


def test_logrank_internal_identities(compared):
    for r in compared:
        lr = r["lr"]
        if math.isnan(lr.z):
            continue
        assert lr.chisq == pytest.approx(lr.z ** 2, rel=1e-12)
        assert lr.z == pytest.approx(-lr.observed_minus_expected / math.sqrt(lr.variance), rel=1e-12)
        assert lr.p_two_sided == pytest.approx(chi2.sf(lr.chisq, 1), rel=1e-9, abs=1e-15)
        assert one_sided_p(lr) == pytest.approx(norm.sf(lr.z), rel=1e-9, abs=1e-15)
        assert lr.events == r["events"]


def test_cox_is_the_mle_lifelines_reaches_with_tight_tolerances(compared):
    rows = [r for r in compared if r["tight"] is not None]
    assert len(rows) >= 200 and all(r["cox"].converged for r in rows)
    beta, seed = _worst(rows, lambda r: abs(r["cox"].log_hr - r["tight"][0]))
    assert beta < TOL, f"seed {seed}"
    se, seed = _worst(rows, lambda r: abs(r["cox"].se - r["tight"][1]))
    assert se < TOL, f"seed {seed}"
    print(f"\nCox (exact MLE) vs lifelines with tight tolerances over {len(rows)} datasets: "
          f"max |d log HR| {beta:.1e}, max |d SE| {se:.1e}")


def test_cox_lifelines_compat_reproduces_default_lifelines(compared):
    rows = [r for r in compared if r["ref"] is not None]
    assert all(r["compat"].converged for r in rows)
    beta, seed = _worst(rows, lambda r: abs(r["compat"].log_hr - r["ref"][0]))
    assert beta < TOL, f"seed {seed}"
    se, seed = _worst(rows, lambda r: abs(r["compat"].se - r["ref"][1]))
    assert se < TOL, f"seed {seed}"
    # lifelines' default stopping rule leaves it a little short of the MLE.
    gap, _ = _worst(rows, lambda r: abs(r["cox"].log_hr - r["ref"][0]))
    assert gap < 2e-3
    print(f"\nCox lifelines_compat vs default lifelines over {len(rows)} datasets: max |d log HR| "
          f"{beta:.1e}, max |d SE| {se:.1e}; exact MLE vs default lifelines: max |d log HR| {gap:.1e}")


def test_cox_score_is_zero_at_the_estimate():
    time, event, arm = _trial(0)
    fit = cox_two_arm(time, event, arm)
    # Efron log partial likelihood by brute force (one loop over tie groups), maximised at log_hr.
    def loglik(beta):
        total = 0.0
        for u in np.unique(time[event]):
            risk = time >= u
            tied = (time == u) & event
            d = tied.sum()
            s_risk = np.exp(beta * arm[risk]).sum()
            s_tied = np.exp(beta * arm[tied]).sum()
            total += beta * arm[tied].sum() - sum(math.log(s_risk - k / d * s_tied) for k in range(d))
        return total
    h = 1e-4
    assert (loglik(fit.log_hr + h) - loglik(fit.log_hr - h)) / (2 * h) == pytest.approx(0.0, abs=1e-7)
    curvature = (loglik(fit.log_hr + h) - 2 * loglik(fit.log_hr) + loglik(fit.log_hr - h)) / h ** 2
    assert fit.se == pytest.approx(1.0 / math.sqrt(-curvature), rel=1e-5)


def test_direction_longer_survival_in_arm_1_gives_positive_z_and_negative_log_hr():
    rng = np.random.default_rng(7)
    n = 80
    arm = np.repeat([0, 1], n // 2)
    t = rng.exponential(100.0, n) * np.where(arm == 1, 3.0, 1.0)
    c = rng.uniform(50.0, 600.0, n)
    time, event = np.minimum(t, c), t <= c
    lr, fit = logrank(time, event, arm), cox_two_arm(time, event, arm)
    assert lr.z > 2.0 and lr.observed_minus_expected < 0.0
    assert one_sided_p(lr) < 0.025 < 1.0 - one_sided_p(lr)
    assert fit.converged and fit.log_hr < 0.0
    lo, hi = hr_ci(fit)
    assert lo < math.exp(fit.log_hr) < hi < 1.0
    # swapping the arms flips both signs exactly
    lr2, fit2 = logrank(time, event, 1 - arm), cox_two_arm(time, event, 1 - arm)
    assert lr2.z == pytest.approx(-lr.z, rel=1e-12)
    assert fit2.log_hr == pytest.approx(-fit.log_hr, rel=1e-9)
    assert fit2.se == pytest.approx(fit.se, rel=1e-9)


def test_hr_ci():
    fit = CoxFit(-0.5, 0.25, True)
    assert hr_ci(fit) == pytest.approx((math.exp(-0.5 - 1.959963984540054 * 0.25),
                                        math.exp(-0.5 + 1.959963984540054 * 0.25)))
    assert hr_ci(fit, 0.9) == pytest.approx((math.exp(-0.5 - norm.ppf(0.95) * 0.25),
                                             math.exp(-0.5 + norm.ppf(0.95) * 0.25)))
    for degenerate in (CoxFit(-math.inf, math.nan, False), CoxFit(math.nan, math.nan, False)):
        assert all(math.isnan(v) for v in hr_ci(degenerate))
    with pytest.raises(ValueError):
        hr_ci(fit, 1.5)


def _assert_nan_logrank(lr: LogRank, events: int):
    assert math.isnan(lr.z) and math.isnan(lr.chisq) and math.isnan(lr.p_two_sided)
    assert lr.observed_minus_expected == 0.0 and lr.variance == 0.0 and lr.events == events
    assert math.isnan(one_sided_p(lr))


def test_no_events_at_all():
    time, event, arm = np.array([5.0, 7, 9, 11]), np.zeros(4, bool), np.array([0, 1, 0, 1])
    _assert_nan_logrank(_no_warnings(logrank, time, event, arm), 0)
    fit = _no_warnings(cox_two_arm, time, event, arm)
    assert math.isnan(fit.log_hr) and math.isnan(fit.se) and not fit.converged


@pytest.mark.parametrize("empty_arm", [0, 1])
def test_one_arm_empty(empty_arm):
    time, event = np.array([5.0, 7, 9, 11, 13]), np.array([1, 1, 0, 1, 0], bool)
    arm = np.full(5, 1 - empty_arm)
    _assert_nan_logrank(_no_warnings(logrank, time, event, arm), 3)
    fit = _no_warnings(cox_two_arm, time, event, arm)
    assert math.isnan(fit.log_hr) and not fit.converged


@pytest.mark.parametrize("compat", [False, True])
def test_no_events_in_one_arm_gives_infinite_log_hr(compat):
    time = np.array([3.0, 5, 8, 13, 21, 34, 55, 89])
    event = np.array([1, 1, 1, 0, 1, 1, 1, 0], bool)
    arm = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    lr = _no_warnings(logrank, time, event, arm)
    assert lr.z < 0 and lr.events == 6  # all events in arm 1: arm 1 worse
    fit = _no_warnings(cox_two_arm, time, event, arm, lifelines_compat=compat)
    assert fit.log_hr == math.inf and math.isnan(fit.se) and not fit.converged
    fit = _no_warnings(cox_two_arm, time, event, 1 - arm, lifelines_compat=compat)
    assert fit.log_hr == -math.inf and math.isnan(fit.se) and not fit.converged
    assert all(math.isnan(v) for v in hr_ci(fit))


def test_monotone_likelihood_with_events_in_both_arms():
    # Arm 1's events all happen after arm 0 has left the risk set: while both arms were at risk
    # only arm 0 had events, so the partial likelihood increases without bound as beta -> -inf.
    time = np.array([1.0, 2, 3, 10, 11, 12])
    event = np.array([1, 1, 0, 1, 1, 0], bool)
    arm = np.array([0, 0, 0, 1, 1, 1])
    fit = _no_warnings(cox_two_arm, time, event, arm)
    assert fit.log_hr == -math.inf and not fit.converged
    assert np.isfinite(_no_warnings(logrank, time, event, arm).z)


def test_tiny_and_empty_inputs():
    for time, event, arm in [([], [], []), ([4.0], [1], [1]), ([4.0, 4.0], [1, 1], [0, 1])]:
        lr = _no_warnings(logrank, time, event, arm)
        fit = _no_warnings(cox_two_arm, time, event, arm)
        assert math.isnan(lr.z) and lr.events == int(np.sum(event))
        assert isinstance(fit, CoxFit)
    # two patients dying together, one per arm: V = 0 (everyone at risk dies), beta = 0 exactly
    fit = cox_two_arm([4.0, 4.0], [1, 1], [0, 1])
    assert fit.converged and fit.log_hr == pytest.approx(0.0, abs=1e-12)


def test_input_forms_and_invariance():
    time, event, arm = _trial(3)
    reference = logrank_and_cox(time, event, arm)
    perm = np.random.default_rng(0).permutation(len(time))
    for args in [(time[perm], event[perm], arm[perm]), (list(time), list(event.astype(int)), arm == 1),
                 (time.astype(np.float32).astype(float), event, arm.astype(float))]:
        lr, fit = logrank_and_cox(*args)
        assert lr.z == pytest.approx(reference[0].z, rel=1e-12)
        assert fit.log_hr == pytest.approx(reference[1].log_hr, rel=1e-10)
    assert logrank(time, event, arm) == reference[0]
    assert cox_two_arm(time, event, arm) == reference[1]


def test_bad_input():
    with pytest.raises(ValueError, match="arm"):
        logrank([1.0, 2.0], [1, 1], [1, 2])
    with pytest.raises(ValueError, match="arm"):
        cox_two_arm([1.0, 2.0], [1, 1], [0, -1])
    with pytest.raises(ValueError, match="equal length"):
        logrank([1.0, 2.0], [1], [0, 1])
    with pytest.raises(ValueError, match="nan"):
        cox_two_arm([1.0, math.nan, 2.0], [1, 1, 0], [0, 1, 1])
    with pytest.raises(ValueError, match="arm"):
        logrank_batch([1.0, 2.0], [1, 1], [1, 2], [0, 0])
    with pytest.raises(ValueError, match="nan"):
        cox_two_arm_batch([1.0, math.nan], [1, 1], [1, 0], [0, 0])


def test_batch_matches_per_trial_including_degenerate_trials():
    rng = np.random.default_rng(11)
    trials = [_trial(seed) for seed in range(60)]
    trials += [(np.array([5.0, 6, 7]), np.zeros(3, bool), np.array([0, 1, 1])),  # no events
               (np.array([5.0, 6, 7]), np.ones(3, bool), np.array([1, 1, 1])),  # one arm
               (np.array([3.0, 5, 8, 13]), np.array([1, 1, 0, 1], bool), np.array([1, 1, 0, 0])),
               (np.array([4.0]), np.array([True]), np.array([0]))]
    labels = rng.permutation(len(trials)) * 10 - 7  # arbitrary labels; results come sorted by label
    time, event, arm, trial = (np.concatenate(parts) for parts in zip(
        *[(t, e, a, np.full(len(t), lab)) for (t, e, a), lab in zip(trials, labels)]))
    shuffle = rng.permutation(len(time))
    lr, fit = _no_warnings(logrank_and_cox_batch, time[shuffle], event[shuffle], arm[shuffle],
                           trial[shuffle])
    assert logrank_batch(time, event, arm, trial).events.tolist() == lr.events.tolist()
    np.testing.assert_array_equal(cox_two_arm_batch(time, event, arm, trial).converged, fit.converged)
    for i, label in enumerate(np.sort(labels)):
        one_lr, one_fit = logrank_and_cox(*trials[int(np.flatnonzero(labels == label)[0])])
        for field in LogRank._fields:
            np.testing.assert_allclose(getattr(lr, field)[i], getattr(one_lr, field), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose([fit.log_hr[i], fit.se[i]], [one_fit.log_hr, one_fit.se],
                                   rtol=1e-10, atol=1e-12)
        assert fit.converged[i] == one_fit.converged
    grouped = np.argsort(trial, kind="stable")  # labels already in order: the no-sort path
    lr_grouped, fit_grouped = logrank_and_cox_batch(time[grouped], event[grouped], arm[grouped],
                                                    trial[grouped])
    np.testing.assert_allclose(lr_grouped.z, lr.z, rtol=1e-12)
    np.testing.assert_allclose(fit_grouped.log_hr, fit.log_hr, rtol=1e-12)
    empty = logrank_and_cox_batch([], [], [], [])
    assert len(empty[0].z) == 0 and len(empty[1].log_hr) == 0
