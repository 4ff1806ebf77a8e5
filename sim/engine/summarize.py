"""Operating characteristics from the replicate table, each with its Monte Carlo standard error.

Every metric is a row {design, metric, estimate, mcse, ci_low, ci_high}:
* proportions over replicates (power): MCSE sqrt(p(1-p)/R), Wilson 95% interval;
* proportions pooled over patients (DCR, ORR among truly wild-type): binomial MCSE over the
  pooled patients, Wilson interval;
* means over replicates (numbers screened, durations): MCSE sd/sqrt(R), normal interval;
* medians pooled over patients: Kaplan-Meier median, bootstrap over replicates;
* quantiles over replicates (durations): distribution-free order-statistic 95% interval,
  MCSE = its width / (2 x 1.96);
* bias and RMSE of an estimate against the scenario's truth: mean error with sd/sqrt(R), and
  sqrt(mean squared error) with the delta-method MCSE se(MSE) / (2 RMSE); coverage is a proportion.

Rows that describe the simulated trials whatever the analysis (validation against the configured
figures, screening, the Cox estimates) have design None; the rest are repeated for every design.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from ..analyses.design import AnalysisPlan, Design
from ..analyses.endpoints import ARMS
from ..analyses.exact import exact_power
from ..analyses.km import Z95, km_median_bootstrap
from ..model import durations
from ..scenario.schema import DAYS_PER_MONTH, Scenario


BOOTSTRAP = 200       # bootstrap resamples of replicates for the MCSE of pooled medians
BOOTSTRAP_SEED = 0    # fixed: a summary is a deterministic function of the replicates


def _row(design, metric, estimate, mcse, lo, hi) -> dict:
    f = lambda x: None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)  # noqa: E731
    return {"design": design, "metric": metric, "estimate": f(estimate), "mcse": f(mcse),
            "ci_low": f(lo), "ci_high": f(hi)}


def proportion(design, metric, k: int, n: int) -> dict:
    if n == 0:
        return _row(design, metric, None, None, None, None)
    p = k / n
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=0.95, method="wilson")
    return _row(design, metric, p, math.sqrt(p * (1 - p) / n), ci.low, ci.high)


def mean(design, metric, values) -> dict:
    v = np.asarray(values, dtype=float)
    v = v[~np.isnan(v)]
    if len(v) == 0:
        return _row(design, metric, None, None, None, None)
    m = float(v.mean())
    se = float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
    return _row(design, metric, m, se, m - Z95 * se, m + Z95 * se)


def median(design, metric, time, event, replicate, scale=1.0) -> dict:
    """Kaplan-Meier median pooled over replicates; MCSE and 95% interval by bootstrapping replicates.

    Resampling whole replicates keeps within-trial dependence, and, unlike the Greenwood
    interval of the pooled curve or batch means, stays honest where scan-based times bunch on
    scan days and the curve is flat around 1/2 (checked: docs/model.md, Monte Carlo error).
    """
    if len(time) == 0:
        return _row(design, metric, None, None, None, None)
    est, boots = km_median_bootstrap(time, event, replicate, n_boot=BOOTSTRAP, seed=BOOTSTRAP_SEED)
    boots = boots[~np.isnan(boots)]
    if len(np.unique(replicate)) < 2 or len(boots) < BOOTSTRAP // 2:
        return _row(design, metric, est / scale, None, None, None)
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return _row(design, metric, est / scale, float(np.std(boots, ddof=1)) / scale, lo / scale, hi / scale)


def quantile(design, metric, values, q: float) -> dict:
    """The q-quantile over replicates with a distribution-free order-statistic interval."""
    v = np.sort(np.asarray(values, dtype=float)[~np.isnan(np.asarray(values, dtype=float))])
    R = len(v)
    if R < 2:
        return _row(design, metric, None, None, None, None)
    est = float(np.quantile(v, q))
    half = Z95 * math.sqrt(R * q * (1 - q)) / R
    # Interpolated between order statistics: whole ranks would widen the interval at small R.
    lo, hi = np.quantile(v, [max(0.0, q - half), min(1.0, q + half)])
    return _row(design, metric, est, (hi - lo) / (2 * Z95), lo, hi)


def error_rows(design, name: str, estimate, low, high, truth: float) -> list[dict]:
    """Bias, RMSE and 95% interval coverage of a per-replicate estimate against the truth."""
    est, low, high = (np.asarray(x, dtype=float) for x in (estimate, low, high))
    ok = np.isfinite(est)
    err = est[ok] - truth
    R = len(err)
    if R < 2:
        return [_row(design, f"{m}_{name}", None, None, None, None) for m in ("bias", "rmse", "coverage")]
    bias = mean(design, f"bias_{name}", err)
    mse = float(np.mean(err ** 2))
    rmse = math.sqrt(mse)
    se_mse = float(np.std(err ** 2, ddof=1) / math.sqrt(R))
    se = se_mse / (2 * rmse) if rmse > 0 else math.nan
    covered = int(np.sum((low[ok] <= truth) & (truth <= high[ok])))
    return [bias, _row(design, f"rmse_{name}", rmse, se, rmse - Z95 * se, rmse + Z95 * se),
            proportion(design, f"coverage_{name}", covered, R)]


def fixed_arm_sizes(scenario: Scenario) -> tuple[int, int] | None:
    """(n_rechallenge, n_control) when permuted blocks make them the same in every trial."""
    r, target = scenario.randomization, scenario.accrual.target_randomized
    if r.strata or target % r.block_size:
        return None
    a, b = r.ratio
    return target * a // (a + b), target * b // (a + b)


def plain_binary_departures(scenario: Scenario) -> list[str]:
    """Ways in which the simulated primary outcome departs from Bernoulli(configured DCR)."""
    s, t, im, e = scenario.screening, scenario.treatment, scenario.imaging, scenario.effects
    out = []
    if s.ras_mutant.prob_at_reference > 0 and s.assay_sensitivity < 1:
        out.append("truly RAS-mutant patients let in by assay sensitivity < 1 dilute the effect")
    first_scans = {b.cycle_days * im.scan_after_cycles[0] for b in t.backbones}
    if first_scans != {e.reference_assessment_day}:
        out.append(f"first scans fall on day(s) {sorted(first_scans)}, not the reference day "
                   f"{e.reference_assessment_day:g}")
    if t.delay.prob_per_cycle > 0 and im.scan_after_cycles[0] > 1 and durations.mean(t.delay.days) > 0:
        out.append("toxicity delays push the first scan later")
    if t.withdrawal_prob_per_cycle > 0:
        out.append("withdrawal before the first scan counts as failure")
    if t.discontinuation_toxicity_prob_per_cycle > 0 and (first_scans | {im.follow_up_interval_days}) != {
            e.reference_assessment_day}:
        out.append("toxicity stops before the first scan move it to the calendar schedule")
    return out


def null_endpoints(configured: dict) -> dict[str, bool]:
    """Which comparisons the scenario makes null (their rejection rate is a type I error).

    Every DCR definition reads the whole PFS law (later scans, controlled through cycle 12), so the
    DCR comparison is null only when the arms' PFS laws are equal, not merely their DCR at the
    reference day; ORR needs the responder probability equal as well."""
    return {"dcr": configured["pfs_laws_equal"], "orr": configured["orr_laws_equal"],
            "pfs": configured["pfs_laws_equal"], "os": configured["os_laws_equal"]}


def rate_name(endpoint: str, null: bool) -> str:
    head = "type_I_error" if null else "power"
    return head if endpoint == "dcr" else f"{head}_{endpoint}"


def scenario_rows(records: pd.DataFrame, pooled: dict[str, np.ndarray], configured: dict) -> list[dict]:
    """What the simulated trials show whatever the analysis: the configured figures, screening, Cox."""
    rows = []
    for what, num in (("dcr", "wt_controlled_at_ref"), ("orr", "wt_responding_at_ref")):
        for name in ARMS.values():
            rows.append(proportion(None, f"{what}_{name}", int(records[f"{num}_{name}"].sum()),
                                   int(records[f"n_wt_{name}"].sum())))
    for code, name in ARMS.items():
        arm = pooled["arm"] == code
        always = np.ones(int(arm.sum()), dtype=bool)
        rep = pooled["replicate"][arm]
        rows.append(median(None, f"median_pfs_true_{name}", pooled["pfs_true"][arm], always, rep, DAYS_PER_MONTH))
        rows.append(median(None, f"median_pfs_observed_{name}", pooled["pfs_obs_time"][arm],
                           pooled["pfs_obs_event"][arm], rep, DAYS_PER_MONTH))
        rows.append(median(None, f"median_os_{name}", pooled["os_true"][arm], always, rep, DAYS_PER_MONTH))
    for endpoint in ("pfs", "os"):
        est, se = records[f"{endpoint}_log_hr"].to_numpy(float), records[f"{endpoint}_log_hr_se"].to_numpy(float)
        ok = np.isfinite(est) & np.isfinite(se)
        # Trials with no events in an arm have no finite Cox estimate; the Cox rows leave them out.
        rows.append(proportion(None, f"cox_not_estimable_{endpoint}", int((~ok).sum()), len(ok)))
        est, se = np.where(ok, est, np.nan), np.where(ok, se, np.nan)
        rows.append(mean(None, f"log_hr_{endpoint}", est))
        rows += error_rows(None, f"log_hr_{endpoint}", est, est - Z95 * se, est + Z95 * se,
                           configured[f"log_hr_{endpoint}"])
        rows.append(mean(None, f"events_{endpoint}", records[f"{endpoint}_events"]))
    for column in records.columns:
        if column.startswith("n_") and column not in ("n_screened", "n_randomized", "n_rechallenge", "n_control") \
                and not column.startswith("n_wt_"):
            rows.append(mean(None, column, records[column]))
    return rows


def design_rows(scenario: Scenario, d: Design, a: pd.DataFrame, configured: dict) -> tuple[list, list]:
    """Operating characteristics of one design from its rows of the analyses table."""
    label, R = d.label, len(a)
    rows, notes = [], []
    nulls = null_endpoints(configured)
    for endpoint, column in (("dcr", "reject"), ("orr", "reject_orr"), ("pfs", "reject_pfs"), ("os", "reject_os")):
        rows.append(proportion(label, rate_name(endpoint, nulls[endpoint]), int(a[column].sum()), R))
    sizes = fixed_arm_sizes(scenario)
    plain = (d.population == "itt" and d.interim is None and d.dcr_definition != "controlled"
             and d.primary_analysis_months is None)
    if sizes is not None and plain:
        extra = {} if d.prior is None else {"prior": d.prior}
        ep = exact_power(sizes[0], sizes[1], configured["dcr_rechallenge"], configured["dcr_control"], d.test,
                         d.region_alpha, d.sided, **extra)
        rows.append(_row(label, "exact_power", ep, 0.0, ep, ep))
    for what in ("dcr", "orr"):
        for name in ARMS.values():
            rows.append(proportion(label, f"{what}_observed_{name}", int(a[f"{what}_successes_{name}"].sum()),
                                   int(a[f"n_{name}"].sum())))
    rows.append(mean(label, "dcr_difference", a["dcr_difference"]))
    rows += error_rows(label, "dcr_difference", a["dcr_difference"], a["dcr_difference_low"],
                       a["dcr_difference_high"], configured["dcr_rechallenge"] - configured["dcr_control"])
    for name in ARMS.values():
        rows.append(mean(label, f"n_evaluable_{name}", a[f"n_evaluable_{name}"]))
    if d.interim is not None:
        rows.append(proportion(label, "prob_interim_look", int(a["looked"].sum()), R))
        rows.append(proportion(label, "prob_stop_early", int(a["stopped"].sum()), R))
    for metric, column in (("n_screened", "n_screened"), ("n_randomized", "n_randomized"),
                           ("accrual_months", "accrual_months"),
                           ("time_to_primary_analysis_months", "duration_months")):
        rows.append(mean(label, metric, a[column]))
        if metric in ("accrual_months", "time_to_primary_analysis_months"):
            for q in (0.1, 0.5, 0.9):
                rows.append(quantile(label, f"{metric}_q{int(q * 100)}", a[column], q))
    return rows, notes


def summarize(scenario: Scenario, records: pd.DataFrame, analyses: pd.DataFrame, pooled: dict[str, np.ndarray],
              configured: dict) -> tuple[list, list]:
    """Metric rows and notes for every design of the scenario (``configured``: what the scenario implies)."""
    plan = AnalysisPlan.from_scenario(scenario)
    R = len(records)
    if R == 0:
        return [], ["no replicate finished"]
    rows, notes = [], []
    for index, d in enumerate(plan.designs):
        r, n = design_rows(scenario, d, analyses[analyses["design"] == index], configured)
        rows += r
        notes += n
    departures = plain_binary_departures(scenario)
    sizes = fixed_arm_sizes(scenario)
    if departures and any(r["metric"] == "exact_power" for r in rows):
        notes.append(f"exact_power is the power of a plain two-arm binomial comparison at the configured DCRs "
                     f"with {sizes[0]} vs {sizes[1]} patients; this scenario departs from it: " + "; ".join(departures))
    if sizes is None:
        notes.append("exact_power not shown: arm sizes vary between trials (strata, or a target that is not "
                     "a multiple of the block size)")
    rows += scenario_rows(records, pooled, configured)
    incomplete = int((~records["accrual_complete"].astype(bool)).sum())
    rows.append(proportion(None, "accrual_completed", R - incomplete, R))
    if incomplete:
        notes.append(f"{incomplete} of {R} trials did not reach the target within accrual.max_months; "
                     "power counts them as trials that did not reject, and exact_power (which assumes full "
                     "accrual) overstates the design's power")
    return rows, notes
