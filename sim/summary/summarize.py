"""Operating characteristics from the replicate table, each with its Monte Carlo standard error.

Every metric is a row {design, metric, estimate, mcse, ci_low, ci_high, note}, its metric an entry
of the catalogue (``catalogue.py``: label, unit, kind):
* proportions over replicates (power): MCSE sqrt(p(1-p)/R), Wilson 95% interval;
* proportions pooled over patients (DCR, ORR among truly wild-type): binomial MCSE over the
  pooled patients, Wilson interval;
* means over replicates (numbers screened, durations): MCSE sd/sqrt(R), normal interval;
* medians pooled over patients: Kaplan-Meier median, bootstrap over replicates; where the median
  sits on a tied time (scan-based PFS: a scan day) the bootstrap reproduces it in most resamples and
  says nothing of its error: the row then has no MCSE and a note saying why;
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

from ..analyses.plan import AnalysisPlan
from ..arms import ARMS
from ..designs import Design
from ..endpoints.dcr import REGISTRY as DCR_DEFINITIONS
from ..model import durations
from ..outcomes.laws import arm_laws, implied_log_hazard_ratio
from ..scenario.schema import Scenario
from ..stats.exact import exact_power
from ..stats.km import Z95, km_median_bootstrap
from ..table import SCREEN_OUTCOMES
from ..units import DAYS_PER_MONTH
from .catalogue import rate_metric


BOOTSTRAP = 200       # bootstrap resamples of replicates for the MCSE of pooled medians
BOOTSTRAP_SEED = 0    # fixed: a summary is a deterministic function of the replicates


#: A pooled median that this share of bootstrap resamples reproduce exactly sits on a tied time.
PINNED_SHARE = 0.5


def _row(design, metric, estimate, mcse, lo, hi, note: str | None = None) -> dict:
    f = lambda x: None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)  # noqa: E731
    return {"design": design, "metric": metric, "estimate": f(estimate), "mcse": f(mcse),
            "ci_low": f(lo), "ci_high": f(hi), "note": note}


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
        return _row(design, metric, est / scale, None, None, None, "not estimable: too few replicates with a median")
    pinned = float(np.mean(boots == est))
    if pinned >= PINNED_SHARE:
        return _row(design, metric, est / scale, None, None, None,
                    f"MCSE not estimable by bootstrap: the pooled median sits on a tied time (a scan day) that "
                    f"{pinned:.0%} of {BOOTSTRAP} resamples reproduce exactly")
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
    for name in SCREEN_OUTCOMES.values():
        if name != "randomized":
            rows.append(mean(None, f"n_{name}", records[f"n_{name}"]))
    rows.append(mean(None, "n_truly_mutant_randomized", records["n_truly_mutant_randomized"]))
    return rows


def plain_reference(scenario: Scenario, d: Design) -> tuple[int, int] | None:
    """The planned arm sizes at which the design's exact plain-binomial reference is computed, or None
    where the design has no such reference (no binary rule, a look, a definition the configured DCR at
    the reference day does not describe, a fixed-time analysis, an evaluable population)."""
    ctx = scenario.design_context()
    rule = getattr(d, "binary_rule", None)
    if rule is None or d.needs(ctx)[1] or d.population != "itt" or d.primary_analysis_months is not None \
            or not DCR_DEFINITIONS[d.dcr_definition].same_as_first_scan:
        return None
    return ctx.planned


def design_rows(scenario: Scenario, d: Design, label: str, a: pd.DataFrame, configured: dict) -> list[dict]:
    """Operating characteristics of one design from its rows of the analyses table."""
    R = len(a)
    rows = []
    nulls = null_endpoints(configured)
    for endpoint, column in (("dcr", "reject"), ("orr", "reject_orr"), ("pfs", "reject_pfs"), ("os", "reject_os")):
        rows.append(proportion(label, rate_metric(endpoint, nulls[endpoint]), int(a[column].sum()), R))
    sizes = plain_reference(scenario, d)
    if sizes is not None:
        test, alpha, sided, prior = d.binary_rule()
        ep = exact_power(sizes[0], sizes[1], configured["dcr_rechallenge"], configured["dcr_control"], test, alpha,
                         sided, prior)
        rows.append(_row(label, "exact_power_plain_binomial", ep, None, None, None,
                         f"no Monte Carlo error: enumerated; {sizes[0]} vs {sizes[1]} patients"))
    for what in ("dcr", "orr"):
        for name in ARMS.values():
            rows.append(proportion(label, f"{what}_observed_{name}", int(a[f"{what}_successes_{name}"].sum()),
                                   int(a[f"n_{name}"].sum())))
    rows.append(mean(label, "dcr_difference", a["dcr_difference"]))
    rows += error_rows(label, "dcr_difference", a["dcr_difference"], a["dcr_difference_low"],
                       a["dcr_difference_high"], configured["dcr_rechallenge"] - configured["dcr_control"])
    for name in ARMS.values():
        rows.append(mean(label, f"n_evaluable_{name}", a[f"n_evaluable_{name}"]))
    if d.needs(scenario.design_context())[1]:  # the design has a look
        rows.append(proportion(label, "prob_interim_look", int(a["looked"].sum()), R))
        rows.append(proportion(label, "prob_stop_early", int(a["stopped"].sum()), R))
    for metric, column in (("n_screened", "n_screened"), ("n_randomized", "n_randomized"),
                           ("accrual_months", "accrual_months"),
                           ("time_to_primary_analysis_months", "duration_months")):
        rows.append(mean(label, metric, a[column]))
        if metric in ("accrual_months", "time_to_primary_analysis_months"):
            for q in (0.1, 0.5, 0.9):
                rows.append(quantile(label, f"{metric}_q{int(q * 100)}", a[column], q))
    return rows


def summarize(scenario: Scenario, records: pd.DataFrame, analyses: pd.DataFrame, pooled: dict[str, np.ndarray],
              configured: dict) -> tuple[list, list]:
    """Metric rows and notes for every design of the scenario (``configured``: what the scenario implies)."""
    plan = AnalysisPlan.from_scenario(scenario)
    R = len(records)
    if R == 0:
        return [], ["no replicate finished"]
    rows, notes = [], []
    for index, (d, label) in enumerate(zip(plan.designs, plan.labels)):
        rows += design_rows(scenario, d, label, analyses[analyses["design"] == index], configured)
    departures = plain_binary_departures(scenario)
    if fixed_arm_sizes(scenario) is None:
        departures.append("arm sizes vary between trials (strata, or a target that is not a multiple of the "
                          "block size)")
    if departures and any(r["metric"] == "exact_power_plain_binomial" for r in rows):
        n1, n2 = plan.context.planned
        notes.append(f"the exact reference is the power of a plain two-arm binomial comparison at the configured "
                     f"DCRs with {n1} vs {n2} patients, not the design's power" + (
                         "; this scenario departs from it: " + "; ".join(departures) if departures else ""))
    rows += scenario_rows(records, pooled, configured)
    incomplete = int((~records["accrual_complete"].astype(bool)).sum())
    rows.append(proportion(None, "accrual_completed", R - incomplete, R))
    if incomplete:
        notes.append(f"{incomplete} of {R} trials ({incomplete / R:.1%}) did not reach the randomization target "
                     f"within accrual.max_months: every power and type I error counts them as trials that did not "
                     f"reject, and their accrual and time to analysis run to where accrual stopped")
    return rows, notes


def configured_figures(scenario: Scenario) -> dict[str, float]:
    """What the scenario says each validated metric should be (for the table and the tests)."""
    laws, _ = arm_laws(scenario)
    out = {}
    for code, name in ARMS.items():
        implied = laws[code].implied()
        out[f"dcr_{name}"] = implied["dcr"]
        out[f"orr_{name}"] = implied["orr"]
        out[f"median_pfs_true_{name}"] = implied["median_pfs_true_months"]
        out[f"median_os_{name}"] = implied["median_os_months"]
    ratio = tuple(float(x) for x in scenario.randomization.ratio)
    for endpoint in ("pfs", "os"):
        out[f"log_hr_{endpoint}"] = implied_log_hazard_ratio(laws[1], laws[0], endpoint, ratio)
    same_pfs = (laws[1].shape, laws[1].scale_days, laws[1].p_death_first) == (
        laws[0].shape, laws[0].scale_days, laws[0].p_death_first)
    out["pfs_laws_equal"] = same_pfs
    out["orr_laws_equal"] = same_pfs and laws[1].p_responder == laws[0].p_responder
    out["os_laws_equal"] = same_pfs and laws[1].pps_rate_per_day == laws[0].pps_rate_per_day
    return out
