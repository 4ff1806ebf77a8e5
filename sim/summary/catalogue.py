"""The metric catalogue: one entry per figure a run or a comparison can report.

Every metric row of summary.json names its metric by id; console, HTML, plots, compare and the API
read the label, unit, kind and formatting from here, and a test checks that every metric any run
emits has an entry. The kind says how the row's Monte Carlo standard error (MCSE) and interval
were computed (``KINDS``); ``deterministic`` figures have no Monte Carlo error at all. A row whose
MCSE cannot be estimated carries ``mcse`` None and a ``note`` saying why, never 0 with a
zero-width interval.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..arms import ARM_NAMES
from ..designs.base import MAX_LOOKS
from ..table import SCREEN_OUTCOMES

#: How each kind's MCSE and 95% interval are computed (summarize.py implements them).
KINDS = {
    "proportion": "share of replicates (or of patients pooled over replicates): MCSE sqrt(p(1-p)/n), Wilson interval",
    "mean": "mean over replicates: MCSE sd/sqrt(R), normal interval",
    "quantile": "quantile over replicates: distribution-free order-statistic interval, MCSE its width / 3.92",
    "median": "Kaplan-Meier median pooled over replicates (over the first 50,000 in longer runs, as the row's note "
              "says): MCSE and interval by bootstrapping whole replicates (not estimable when the median sits on a "
              "tied time, e.g. a scan day)",
    "error": "bias (mean error, MCSE sd/sqrt(R)) or RMSE (delta-method MCSE) of an estimate against the truth",
    "deterministic": "computed exactly (enumeration); no Monte Carlo error",
}


@dataclass(frozen=True)
class Metric:
    id: str
    label: str
    unit: str            # "" for probabilities and shares; "patients", "months", "log HR", ...
    kind: str            # a key of KINDS
    digits: int = 3
    scope: str = "design"  # design: one row per design; trial: one row per run (design None)
    reference: bool = False  # a reference figure, not an operating characteristic of the design

    def format(self, value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "—"
        return f"{value:.{self.digits}f}"


CATALOGUE: dict[str, Metric] = {}


def _add(id: str, label: str, unit: str, kind: str, digits: int = 3, scope: str = "design",
         reference: bool = False) -> None:
    if id in CATALOGUE:
        raise ValueError(f"metric {id} catalogued twice")
    if kind not in KINDS:
        raise ValueError(f"metric {id}: unknown kind {kind}")
    CATALOGUE[id] = Metric(id, label, unit, kind, digits, scope, reference)


ENDPOINTS = {"dcr": "DCR comparison", "orr": "ORR comparison", "pfs": "PFS log-rank", "os": "OS log-rank"}


def rate_metric(endpoint: str, null: bool) -> str:
    """The id of a rejection rate: a type I error when the scenario makes the comparison null."""
    head = "type_I_error" if null else "power"
    return head if endpoint == "dcr" else f"{head}_{endpoint}"


# -- per design -------------------------------------------------------------------------------
for _endpoint, _what in ENDPOINTS.items():
    _add(rate_metric(_endpoint, False), f"Power of the {_what}", "", "proportion")
    _add(rate_metric(_endpoint, True), f"Type I error of the {_what}", "", "proportion")
_add("exact_power_plain_binomial", "Reference: exact power of a plain binomial comparison (same test and level, "
     "configured DCRs, planned arm sizes)", "", "deterministic", 4, reference=True)
for _arm in ARM_NAMES:
    _add(f"dcr_observed_{_arm}", f"DCR as analysed, {_arm}", "", "proportion")
    _add(f"orr_observed_{_arm}", f"ORR as analysed, {_arm}", "", "proportion")
_add("dcr_difference", "DCR difference as analysed (mean estimate)", "", "mean")
_add("bias_dcr_difference", "  bias against the configured difference", "", "error")
_add("rmse_dcr_difference", "  RMSE", "", "error")
_add("coverage_dcr_difference", "  coverage of the Newcombe 95% CI", "", "proportion")
for _arm in ARM_NAMES:
    _add(f"n_evaluable_{_arm}", f"Evaluable patients, {_arm} (mean)", "patients", "mean", 1)
_add("exact_expected_n_analysed_plain_binomial", "Reference: exact expected patients analysed, plain binomial "
     "comparison (same boundaries, configured DCRs, planned look sizes)", "patients", "deterministic", 2,
     reference=True)
_add("n_analysed", "Patients in the DCR analysis (mean; at the look that stopped the trial, or the final)",
     "patients", "mean", 1)
_add("prob_interim_look", "Probability the (first) interim look happens", "", "proportion")
_add("prob_stop_early", "Probability of stopping at an interim look", "", "proportion")
_add("prob_stop_for_efficacy", "  of which for efficacy (rejecting)", "", "proportion")
for _k in range(1, MAX_LOOKS + 1):
    _add(f"prob_stop_at_look_{_k}", f"  stopping at interim look {_k}", "", "proportion")
    _add(f"exact_prob_stop_at_look_{_k}_plain_binomial", f"Reference: exact probability of stopping at interim look "
         f"{_k}, plain binomial comparison", "", "deterministic", 4, reference=True)
_add("n_screened", "Patients screened (mean)", "patients", "mean", 1)
_add("n_randomized", "Patients randomized (mean)", "patients", "mean", 1)
_add("accrual_months", "Accrual duration, months (mean; to where accrual stopped)", "months", "mean", 1)
_add("time_to_primary_analysis_months", "Time to primary DCR analysis, months (mean)", "months", "mean", 1)
for _stem in ("accrual_months", "time_to_primary_analysis_months"):
    for _q, _name in ((10, "10% quantile"), (50, "median"), (90, "90% quantile")):
        _add(f"{_stem}_q{_q}", f"  {_name}", "months", "quantile", 1)

# -- per run (whatever the design) ---------------------------------------------------------------
for _arm in ARM_NAMES:
    _add(f"dcr_{_arm}", f"DCR at reference day, {_arm} (truly RAS wt)", "", "proportion", scope="trial")
    _add(f"orr_{_arm}", f"ORR at reference day, {_arm} (truly RAS wt)", "", "proportion", scope="trial")
    _add(f"median_pfs_true_{_arm}", f"Median PFS, true (months), {_arm}", "months", "median", 2, "trial")
    _add(f"median_pfs_observed_{_arm}", f"Median PFS, seen at scans (months), {_arm}", "months", "median", 2, "trial")
    _add(f"median_os_{_arm}", f"Median OS (months), {_arm}", "months", "median", 2, "trial")
for _endpoint, _seen in (("pfs", "PFS as seen"), ("os", "OS")):
    _add(f"cox_not_estimable_{_endpoint}", f"Trials without a finite Cox estimate, {_endpoint.upper()}", "",
         "proportion", scope="trial")
    _add(f"log_hr_{_endpoint}", f"Cox log HR, {_seen} (mean)", "log HR", "mean", scope="trial")
    _add(f"bias_log_hr_{_endpoint}", "  bias against the true-law log HR", "log HR", "error", scope="trial")
    _add(f"rmse_log_hr_{_endpoint}", "  RMSE", "log HR", "error", scope="trial")
    _add(f"coverage_log_hr_{_endpoint}", "  coverage of the Wald 95% CI", "", "proportion", scope="trial")
    _add(f"events_{_endpoint}", f"{'PFS events' if _endpoint == 'pfs' else 'Deaths'} at the cut-off (mean)",
         "events", "mean", 1, "trial")
_add("accrual_completed", "Share of trials reaching the randomization target", "", "proportion", scope="trial")
_add("n_truly_mutant_randomized", "Truly RAS-mutant patients randomized (mean)", "patients", "mean", 2, "trial")
SCREEN_FAILURE_LABELS = {
    "died_or_deteriorated_waiting": "Screen failures: died or deteriorated waiting (mean)",
    "assay_failure": "Screen failures: ctDNA assay failed (mean)",
    "ras_mutant_ctdna": "Screen failures: RAS-mutant ctDNA (mean)",
    "non_molecular": "Screen failures: non-molecular criteria (mean)",
    "enrolment_closed": "Passed screening after enrolment closed (mean)",
}
for _outcome in SCREEN_OUTCOMES.values():
    if _outcome != "randomized":
        _add(f"n_{_outcome}", SCREEN_FAILURE_LABELS[_outcome], "patients", "mean", 2, "trial")


def entry(metric_id: str) -> Metric:
    try:
        return CATALOGUE[metric_id]
    except KeyError:
        raise KeyError(f"metric {metric_id!r} has no catalogue entry (sim/summary/catalogue.py)") from None


def label(metric_id: str) -> str:
    return entry(metric_id).label


def format_row(row: dict) -> tuple[str, str, str]:
    """(estimate, MCSE, 95% interval) of a metric row as text: exact figures say so, and an MCSE that
    could not be estimated says 'not estimable' instead of printing 0."""
    m = entry(row["metric"])
    est = m.format(row["estimate"])
    if row["estimate"] is None:
        return est, "—", "—"
    if m.kind == "deterministic":
        return est, "exact", "—"
    if row["mcse"] is None:
        return est, "not estimable", "—"
    mcse = f"{row['mcse']:.{max(m.digits, 3) + 1}f}"
    interval = "—" if row["ci_low"] is None else f"{m.format(row['ci_low'])} – {m.format(row['ci_high'])}"
    return est, mcse, interval


def format_compact(row: dict | None) -> str:
    """'estimate ± MCSE' (or 'estimate (exact)', 'estimate (MCSE not estimable)') for dense tables."""
    if row is None or row["estimate"] is None:
        return ""
    m = entry(row["metric"])
    if m.kind == "deterministic":
        return f"{m.format(row['estimate'])} (exact)"
    if row["mcse"] is None:
        return f"{m.format(row['estimate'])} (MCSE n/e)"
    return f"{m.format(row['estimate'])} ± {row['mcse']:.{m.digits}f}"
