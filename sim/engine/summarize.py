"""Operating characteristics from the replicate table, each with its Monte Carlo standard error.

Every metric is a row {design, metric, estimate, mcse, ci_low, ci_high}:
* proportions over replicates (power): MCSE sqrt(p(1-p)/R), Wilson 95% interval;
* proportions pooled over patients (DCR, ORR among truly wild-type): binomial MCSE over the
  pooled patients, Wilson interval;
* means over replicates (numbers screened, durations): MCSE sd/sqrt(R), normal interval;
* medians pooled over patients: Kaplan-Meier median, Brookmeyer-Crowley 95% interval,
  MCSE = half-width / 1.96.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from ..analyses.design import Design
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


def summarize(scenario: Scenario, records: pd.DataFrame, pooled: dict[str, np.ndarray],
              configured: dict[str, float]) -> tuple[list, list]:
    """Metric rows and notes for the primary design (``configured``: what the scenario implies)."""
    design = Design.from_analysis(scenario.analysis)
    label = design.label
    R = len(records)
    rows, notes = [], []
    if R == 0:
        return rows, ["no replicate finished"]
    rows.append(proportion(label, "power", int(records["reject"].sum()), R))
    sizes = fixed_arm_sizes(scenario)
    if sizes is not None:
        ep = exact_power(sizes[0], sizes[1], configured["dcr_rechallenge"], configured["dcr_control"], design.test,
                         design.alpha, design.sided)
        rows.append(_row(label, "exact_power", ep, 0.0, ep, ep))
        departures = plain_binary_departures(scenario)
        if departures:
            notes.append("exact_power is the power of a plain two-arm binomial comparison at the configured "
                         f"DCRs with {sizes[0]} vs {sizes[1]} patients; this scenario departs from it: "
                         + "; ".join(departures))
    else:
        notes.append("exact_power not shown: arm sizes vary between trials (strata, or a target that is not "
                     "a multiple of the block size)")
    for name in ARMS.values():
        rows.append(proportion(label, f"dcr_{name}", int(records[f"wt_controlled_at_ref_{name}"].sum()),
                               int(records[f"n_wt_{name}"].sum())))
    for name in ARMS.values():
        rows.append(proportion(label, f"orr_{name}", int(records[f"wt_responding_at_ref_{name}"].sum()),
                               int(records[f"n_wt_{name}"].sum())))
    for name in ARMS.values():
        rows.append(proportion(label, f"dcr_observed_{name}", int(records[f"dcr_successes_{name}"].sum()),
                               int(records[f"n_{name}"].sum())))
    for name in ARMS.values():
        rows.append(proportion(label, f"orr_observed_{name}", int(records[f"orr_successes_{name}"].sum()),
                               int(records[f"n_{name}"].sum())))
    for code, name in ARMS.items():
        arm = pooled["arm"] == code
        n = int(arm.sum())
        always = np.ones(n, dtype=bool)
        rep = pooled["replicate"][arm]
        rows.append(median(label, f"median_pfs_true_{name}", pooled["pfs_true"][arm], always, rep, DAYS_PER_MONTH))
        rows.append(median(label, f"median_pfs_observed_{name}", pooled["pfs_obs_time"][arm],
                           pooled["pfs_obs_event"][arm], rep, DAYS_PER_MONTH))
        rows.append(median(label, f"median_os_{name}", pooled["os_true"][arm], always, rep, DAYS_PER_MONTH))
    for metric in ("n_screened", "n_randomized", "accrual_months", "time_to_primary_analysis_months"):
        rows.append(mean(label, metric, records[metric]))
    incomplete = int((~records["accrual_complete"].astype(bool)).sum())
    rows.append(proportion(label, "accrual_completed", R - incomplete, R))
    if incomplete:
        notes.append(f"{incomplete} of {R} trials did not reach the target within accrual.max_months; "
                     "power counts them as trials that did not reject, and exact_power (which assumes full "
                     "accrual) overstates the design's power")
    return rows, notes
