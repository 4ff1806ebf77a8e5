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

Streaming: ``Summarizer`` computes every row from chunks of replicates in constant memory, the
same rows whatever the chunking (``accumulate.py`` derives the arithmetic):
* proportions: whole-number counts (Python ints) summed over chunks;
* means, bias, RMSE: count, exact sum and exact sum of squares per column (of the error and of
  its square for RMSE, whose delta-method MCSE needs the variance of err**2), rounded once at the
  end: mean = S1/n, var = (n S2 - S1**2) / (n (n - 1));
* quantiles: a histogram per column in pass 1 (bins of 1/4096 of a binade, stored only where
  values fall), the values of the few bins holding the needed order statistics in pass 2: exactly
  ``np.quantile`` of the whole column;
* pooled Kaplan-Meier medians: over the replicates numbered below ``POOLED_MEDIAN_REPLICATES``
  (all of them in runs up to that size). Their bootstrap needs every patient's times; a row
  computed on that prefix says so in its note, and its MCSE is that of the prefix estimate.
``summarize`` feeds one chunk holding everything through both passes.
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
from ..stats.km import Z95, km_median_bootstrap
from ..table import SCREEN_OUTCOMES
from ..units import DAYS_PER_MONTH
from .accumulate import ExactMoments, QuantileColumn, add_columns, linear_quantile, quantile_ranks
from .catalogue import rate_metric


BOOTSTRAP = 200       # bootstrap resamples of replicates for the MCSE of pooled medians
BOOTSTRAP_SEED = 0    # fixed: a summary is a deterministic function of the replicates


#: A pooled median that this share of bootstrap resamples reproduce exactly sits on a tied time.
PINNED_SHARE = 0.5

QUANTILES = (0.1, 0.5, 0.9)   # quantiles over replicates of the durations


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


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def moments_row(design, metric, m: ExactMoments) -> dict:
    """Mean over replicates of the values ``m`` accumulated (NaN dropped): MCSE sd/sqrt(R), normal interval."""
    R = m.count
    if R == 0:
        return _row(design, metric, None, None, None, None)
    est = m.mean()
    se = m.sd() / math.sqrt(R) if R > 1 else math.nan
    return _row(design, metric, est, se, est - Z95 * se, est + Z95 * se)


def mean(design, metric, values) -> dict:
    """``moments_row`` of an array."""
    m = ExactMoments()
    m.add(values)
    return moments_row(design, metric, m)


def median(design, metric, time, event, replicate, scale=1.0, note: str | None = None) -> dict:
    """Kaplan-Meier median pooled over replicates; MCSE and 95% interval by bootstrapping replicates.

    Resampling whole replicates keeps within-trial dependence, and, unlike the Greenwood
    interval of the pooled curve or batch means, stays honest where scan-based times bunch on
    scan days and the curve is flat around 1/2 (checked: docs/model.md, Monte Carlo error).
    ``note`` (e.g. the replicates the pooling is limited to) is joined to the row's note.
    """
    if len(time) == 0:
        return _row(design, metric, None, None, None, None, note)
    est, boots = km_median_bootstrap(time, event, replicate, n_boot=BOOTSTRAP, seed=BOOTSTRAP_SEED)
    boots = boots[~np.isnan(boots)]
    if len(np.unique(replicate)) < 2 or len(boots) < BOOTSTRAP // 2:
        return _row(design, metric, est / scale, None, None, None,
                    _join("not estimable: too few replicates with a median", note))
    pinned = float(np.mean(boots == est))
    if pinned >= PINNED_SHARE:
        return _row(design, metric, est / scale, None, None, None, _join(
            f"MCSE not estimable by bootstrap: the pooled median sits on a tied time (a scan day) that "
            f"{pinned:.0%} of {BOOTSTRAP} resamples reproduce exactly", note))
    lo, hi = np.quantile(boots, [0.025, 0.975])
    return _row(design, metric, est / scale, float(np.std(boots, ddof=1)) / scale, lo / scale, hi / scale, note)


def quantile_probabilities(R: int, q: float) -> tuple[float, float, float]:
    """(q, lower, upper): the q-quantile and the probabilities of its order-statistic 95% interval."""
    half = Z95 * math.sqrt(R * q * (1 - q)) / R
    # Interpolated between order statistics: whole ranks would widen the interval at small R.
    return q, max(0.0, q - half), min(1.0, q + half)


def quantile_ranks_needed(R: int, qs=QUANTILES) -> set[int]:
    """The order statistics (0-based ranks of R values) the quantile rows at ``qs`` read."""
    if R < 2:
        return set()
    return {rank for q in qs for p in quantile_probabilities(R, q) for rank in quantile_ranks(R, p)[:2]}


def quantile_row(design, metric, R: int, value_at, q: float) -> dict:
    """The q-quantile over R replicates with a distribution-free order-statistic interval, from the sorted
    values' order statistics ``value_at(rank)``: the floats ``np.quantile`` gives on the whole column."""
    if R < 2:
        return _row(design, metric, None, None, None, None)
    est, lo, hi = (linear_quantile(R, p, value_at) for p in quantile_probabilities(R, q))
    return _row(design, metric, est, (hi - lo) / (2 * Z95), lo, hi)


def quantile(design, metric, values, q: float) -> dict:
    """The q-quantile over replicates with a distribution-free order-statistic interval."""
    v = np.sort(np.asarray(values, dtype=float)[~np.isnan(np.asarray(values, dtype=float))])
    return quantile_row(design, metric, len(v), lambda k: v[k], q)


class ErrorMoments:
    """Bias, RMSE and coverage of a per-replicate estimate against the truth, accumulated over chunks.

    Replicates with a non-finite estimate are left out. err = estimate - truth (rounded once per
    replicate, as the array computation does); exact moments of err give the bias row; exact moments
    of err**2 (rounded once per replicate) give MSE = mean(err**2) and se(MSE) = sd(err**2)/sqrt(R),
    and RMSE = sqrt(MSE) with the delta-method MCSE se(MSE) / (2 RMSE)."""

    def __init__(self, truth: float) -> None:
        self.truth = truth
        self.error = ExactMoments()
        self.squared = ExactMoments()
        self.covered = 0

    def add(self, estimate, low, high) -> None:
        add_columns(self.pairs(estimate, low, high))

    def pairs(self, estimate, low, high) -> list[tuple[ExactMoments, np.ndarray]]:
        """Count the covered replicates; return the (accumulator, values) pairs still to add."""
        est, low, high = (np.asarray(x, dtype=float) for x in (estimate, low, high))
        ok = np.isfinite(est)
        err = est[ok] - self.truth
        self.covered += int(np.count_nonzero((low[ok] <= self.truth) & (self.truth <= high[ok])))
        return [(self.error, err), (self.squared, err ** 2)]

    def rows(self, design, name: str) -> list[dict]:
        R = self.error.count
        if R < 2:
            return [_row(design, f"{m}_{name}", None, None, None, None) for m in ("bias", "rmse", "coverage")]
        bias = moments_row(design, f"bias_{name}", self.error)
        rmse = math.sqrt(self.squared.mean())
        se_mse = self.squared.sd() / math.sqrt(R)
        se = se_mse / (2 * rmse) if rmse > 0 else math.nan
        return [bias, _row(design, f"rmse_{name}", rmse, se, rmse - Z95 * se, rmse + Z95 * se),
                proportion(design, f"coverage_{name}", self.covered, R)]


def error_rows(design, name: str, estimate, low, high, truth: float) -> list[dict]:
    """Bias, RMSE and 95% interval coverage of a per-replicate estimate against the truth."""
    e = ErrorMoments(truth)
    e.add(estimate, low, high)
    return e.rows(design, name)


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


def plain_reference(scenario: Scenario, d: Design) -> tuple[int, int] | None:
    """The planned arm sizes at which the design's exact plain-binomial reference is computed, or None
    where the configured DCRs do not describe what the design analyses (a definition the configured DCR
    at the reference day does not describe, a fixed-time analysis, an evaluable population). Whether the
    design has a reference at all is its own to say (``Design.exact_reference``)."""
    ctx = scenario.design_context()
    if getattr(d, "population", None) != "itt" or getattr(d, "primary_analysis_months", None) is not None \
            or not DCR_DEFINITIONS[getattr(d, "dcr_definition", "first_scan")].same_as_first_scan:
        return None
    return ctx.planned


#: Pooled Kaplan-Meier medians are computed over the replicates numbered below this (all of them in
#: runs up to this size). Their bootstrap over replicates needs every patient's times in memory: at
#: this cap (~2.2 million patients in the default scenario) the kept patients take ~75 MB and the six
#: median rows ~100 MB more while they are computed, for ~15-30 s (measured on 2 cores).
POOLED_MEDIAN_REPLICATES = 50_000

#: Patient-level columns the pooled medians read (besides ``arm``, by which they are kept apart).
POOLED_COLUMNS = ("replicate", "pfs_true", "pfs_obs_time", "pfs_obs_event", "os_true")

QUANTILE_COLUMNS = {"accrual_months": "accrual_months", "time_to_primary_analysis_months": "duration_months"}
MEAN_OVER_REPLICATES = (("n_screened", "n_screened"), ("n_randomized", "n_randomized"),
                        ("accrual_months", "accrual_months"), ("time_to_primary_analysis_months", "duration_months"))
REJECTIONS = (("dcr", "reject"), ("orr", "reject_orr"), ("pfs", "reject_pfs"), ("os", "reject_os"))


def _add_totals(counts: dict[str, int], columns: dict[str, np.ndarray]) -> None:
    """Add the sums of count columns (booleans or whole numbers; NaN skipped, as pandas' sum does) to
    ``counts`` as Python ints. One float64 sum per column of a chunk is exact (whole numbers below 2**53)."""
    if not columns:
        return
    totals = np.nansum(np.stack([np.asarray(v, dtype=np.float64) for v in columns.values()]), axis=1)
    for c, k in zip(columns, totals.tolist()):
        counts[c] = counts.get(c, 0) + int(k)


class _Design:
    """The accumulators of one design's rows of the analyses table."""

    def __init__(self, looks: int, truth: float) -> None:
        self.looks = looks
        self.has_look = looks > 0
        self.stop_looks = np.zeros(looks + 1, dtype=np.int64)   # trials by stop_look (0: did not stop)
        self.R = 0
        self.counts: dict[str, int] = {}
        self.count_columns = [c for _, c in REJECTIONS] + [
            f"{what}_successes_{name}" for what in ("dcr", "orr") for name in ARMS.values()] + [
            f"n_{name}" for name in ARMS.values()] + (["looked", "stopped", "stopped_for_efficacy"] if looks else [])
        self.moments = {c: ExactMoments() for c in ["dcr_difference"] + [
            f"n_evaluable_{name}" for name in ARMS.values()] + ["n_analysed"] + [c for _, c in MEAN_OVER_REPLICATES]}
        self.difference = ErrorMoments(truth)
        self.quantiles = {c: QuantileColumn() for c in QUANTILE_COLUMNS.values()}

    def add(self, a: dict[str, np.ndarray]) -> list[tuple[ExactMoments, np.ndarray]]:
        """Accumulate the design's rows of a chunk; return the (accumulator, values) pairs still to add."""
        self.R += len(a["design"])
        _add_totals(self.counts, {c: a[c] for c in self.count_columns})
        if self.looks:
            self.stop_looks += np.bincount(np.asarray(a["stop_look"], dtype=np.int64), minlength=self.looks + 1)
        a = {**a, "n_analysed": np.asarray(a["n_rechallenge"], dtype=np.int64) + np.asarray(a["n_control"],
                                                                                             dtype=np.int64)}
        for c, col in self.quantiles.items():
            col.add(a[c])
        return [(m, a[c]) for c, m in self.moments.items()] + self.difference.pairs(
            a["dcr_difference"], a["dcr_difference_low"], a["dcr_difference_high"])


class Summarizer:
    """Every metric row and note of ``summarize``, from chunks of replicates in constant memory.

        s = Summarizer(scenario, configured_figures(scenario))
        for records, analyses, pooled in chunks:        # any chunking, each chunk all rows of its replicates
            s.add(records, analyses, pooled)
        if s.second_pass_columns:                        # the quantile rows read a few order statistics:
            for records, analyses in chunks:             # the same chunks again (any chunking), only the
                s.add_second(records, analyses)          # columns s.second_pass_columns names
        rows, notes = s.result()

    ``records``: trial rows (one per replicate), ``analyses``: design rows (one per replicate and
    design), ``pooled``: patient arrays with a ``replicate`` column. After ``add`` nothing grows with
    the replicates seen except the pooled-median prefix (``POOLED_MEDIAN_REPLICATES``); the second
    pass holds the values of the few histogram bins that contain the needed order statistics. The rows
    are identical (==) whatever the chunking. ``interim()`` gives the rows so far without a second
    pass (no quantile rows), e.g. to check a target MCSE between batches; ``add`` may continue after it.
    """

    def __init__(self, scenario: Scenario, configured: dict, pooled_median_replicates: int | None = None) -> None:
        self.scenario = scenario
        self.configured = configured
        self.plan = AnalysisPlan.from_scenario(scenario)
        self.cap = POOLED_MEDIAN_REPLICATES if pooled_median_replicates is None else pooled_median_replicates
        ctx = scenario.design_context()
        truth = configured["dcr_rechallenge"] - configured["dcr_control"]
        self.designs = [_Design(len(d.needs(ctx)[1]), truth) for d in self.plan.designs]
        self.R = 0                       # trial rows (replicates)
        self.incomplete = 0              # trials that did not reach the randomization target
        self.pooled_replicates = 0       # replicates numbered below the cap (their patients are kept)
        self.counts: dict[str, int] = {}
        self.cox_ok = {e: 0 for e in ("pfs", "os")}
        self.moments = {c: ExactMoments() for c in [f"{e}_log_hr" for e in ("pfs", "os")] + [
            f"{e}_events" for e in ("pfs", "os")] + [
            f"n_{name}" for name in SCREEN_OUTCOMES.values() if name != "randomized"] + ["n_truly_mutant_randomized"]}
        self.cox_errors = {e: ErrorMoments(configured[f"log_hr_{e}"]) for e in ("pfs", "os")}
        self._pooled: dict[int, list[dict[str, np.ndarray]]] = {code: [] for code in ARMS}  # per arm, per chunk
        self._second = False             # the second pass has begun

    # -- pass 1 ------------------------------------------------------------------------------------
    def add(self, records: pd.DataFrame, analyses: pd.DataFrame, pooled: dict[str, np.ndarray]) -> None:
        """Accumulate a chunk: its trial rows, all its design rows and its patients."""
        if self._second:
            raise RuntimeError("Summarizer.add after the second pass began")
        self.R += len(records)
        pairs = self._add_trials(records) if len(records) else []
        if len(analyses):
            design = analyses["design"].to_numpy()
            columns = {c: analyses[c].to_numpy() for c in analyses.columns}
            for index, acc in enumerate(self.designs):
                rows = design == index
                if rows.any():
                    pairs += acc.add({c: v[rows] for c, v in columns.items()})
        add_columns(pairs)  # every mean's exact sums in one go
        self._keep_pooled(pooled)

    def _add_trials(self, records: pd.DataFrame) -> list[tuple[ExactMoments, np.ndarray]]:
        nums = ("wt_controlled_at_ref", "wt_responding_at_ref", "n_wt")
        _add_totals(self.counts, {c: records[c].to_numpy() for c in (f"{n}_{a}" for n in nums for a in ARMS.values())})
        pairs = [(m, records[c].to_numpy()) for c, m in self.moments.items() if not c.endswith("_log_hr")]
        self.incomplete += int(np.count_nonzero(~records["accrual_complete"].to_numpy().astype(bool)))
        self.pooled_replicates += int(np.count_nonzero(records["replicate"].to_numpy() < self.cap))
        for endpoint in ("pfs", "os"):
            est = records[f"{endpoint}_log_hr"].to_numpy(float)
            se = records[f"{endpoint}_log_hr_se"].to_numpy(float)
            # Trials with no events in an arm have no finite Cox estimate; the Cox rows leave them out.
            ok = np.isfinite(est) & np.isfinite(se)
            self.cox_ok[endpoint] += int(np.count_nonzero(ok))
            est, se = est[ok], se[ok]
            pairs += [(self.moments[f"{endpoint}_log_hr"], est)] + self.cox_errors[endpoint].pairs(
                est, est - Z95 * se, est + Z95 * se)
        return pairs

    def _keep_pooled(self, pooled: dict[str, np.ndarray]) -> None:
        if not pooled or "replicate" not in pooled or not len(pooled["replicate"]):
            return
        below = np.asarray(pooled["replicate"]) < self.cap
        if not below.any():
            return
        arm = np.asarray(pooled["arm"])
        for code, parts in self._pooled.items():
            keep = below & (arm == code)
            if keep.any():
                parts.append({k: np.asarray(pooled[k])[keep] for k in POOLED_COLUMNS if k in pooled})

    def merge(self, other: Summarizer) -> None:
        """Add another summarizer's first pass (of other replicates) to this one's."""
        if self._second or other._second:
            raise RuntimeError("Summarizer.merge after the second pass began")
        self.R += other.R
        self.incomplete += other.incomplete
        self.pooled_replicates += other.pooled_replicates
        for k, v in other.counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        for k, v in other.cox_ok.items():
            self.cox_ok[k] += v
        for k, m in other.moments.items():
            self.moments[k].merge(m)
        for k, e in other.cox_errors.items():
            self._merge_errors(self.cox_errors[k], e)
        for mine, theirs in zip(self.designs, other.designs):
            mine.R += theirs.R
            for k, v in theirs.counts.items():
                mine.counts[k] = mine.counts.get(k, 0) + v
            for k, m in theirs.moments.items():
                mine.moments[k].merge(m)
            self._merge_errors(mine.difference, theirs.difference)
            for k, col in theirs.quantiles.items():
                mine.quantiles[k].merge(col)
        for code, parts in other._pooled.items():
            self._pooled[code] += parts

    @staticmethod
    def _merge_errors(mine: ErrorMoments, theirs: ErrorMoments) -> None:
        mine.error.merge(theirs.error)
        mine.squared.merge(theirs.squared)
        mine.covered += theirs.covered

    # -- pass 2 ------------------------------------------------------------------------------------
    @property
    def needs_second_pass(self) -> bool:
        """Whether a quantile row needs order statistics (some design has 2 or more values of a column)."""
        return any(col.n >= 2 for d in self.designs for col in d.quantiles.values())

    @property
    def second_pass_columns(self) -> dict[str, list[str]]:
        """The columns ``add_second`` reads, by chunk part ("designs": the analyses table; the trial rows
        and patient arrays are not read); empty when no second pass is needed."""
        return {"designs": ["design", *QUANTILE_COLUMNS.values()]} if self.needs_second_pass else {}

    def add_second(self, records: pd.DataFrame | None, analyses: pd.DataFrame) -> None:
        """Second pass over the same chunks (any chunking): ``analyses`` needs only
        ``second_pass_columns["designs"]``; ``records`` is not read (None will do)."""
        if not self._second:
            self._second = True
            for d in self.designs:
                for col in d.quantiles.values():
                    col.want(quantile_ranks_needed(col.n))
        if analyses is None or not len(analyses):
            return
        design = analyses["design"].to_numpy()
        for index, d in enumerate(self.designs):
            rows = design == index
            if rows.any():
                for c, col in d.quantiles.items():
                    col.collect(analyses[c].to_numpy()[rows])

    def second_pass_held(self) -> int:
        """Values the second pass holds (its memory is ~16 bytes each)."""
        return sum(col.held() for d in self.designs for col in d.quantiles.values())

    # -- rows --------------------------------------------------------------------------------------
    def result(self) -> tuple[list, list]:
        """Metric rows and notes for every design of the scenario."""
        if self.needs_second_pass and not self._second:
            raise RuntimeError("Summarizer.result needs the second pass (add_second over every chunk) first")
        return self._rows(quantiles=True, medians=True)

    def interim(self, medians: bool = True) -> tuple[list, list]:
        """The rows so far, without a second pass: no quantile rows (and no median rows with
        ``medians=False``); more chunks may be added afterwards."""
        return self._rows(quantiles=self._second, medians=medians)

    def _rows(self, quantiles: bool, medians: bool) -> tuple[list, list]:
        if self.R == 0:
            return [], ["no replicate finished"]
        rows, notes = [], []
        for d, label, acc in zip(self.plan.designs, self.plan.labels, self.designs):
            rows += self._design_rows(d, label, acc, quantiles)
        departures = plain_binary_departures(self.scenario)
        if fixed_arm_sizes(self.scenario) is None:
            departures.append("arm sizes vary between trials (strata, or a target that is not a multiple of the "
                              "block size)")
        if departures and any(r["metric"] == "exact_power_plain_binomial" for r in rows):
            n1, n2 = self.plan.context.planned
            notes.append(f"the exact reference is the power of a plain two-arm binomial comparison at the configured "
                         f"DCRs with {n1} vs {n2} patients, not the design's power" + (
                             "; this scenario departs from it: " + "; ".join(departures) if departures else ""))
        rows += self._trial_rows(medians)
        R, incomplete = self.R, self.incomplete
        rows.append(proportion(None, "accrual_completed", R - incomplete, R))
        if incomplete:
            notes.append(f"{incomplete} of {R} trials ({incomplete / R:.1%}) did not reach the randomization target "
                         f"within accrual.max_months: every power and type I error counts them as trials that did "
                         f"not reject, and their accrual and time to analysis run to where accrual stopped")
        return rows, notes

    def _design_rows(self, d: Design, label: str, acc: _Design, quantiles: bool) -> list[dict]:
        """Operating characteristics of one design from its accumulated rows of the analyses table."""
        scenario, configured, R, counts = self.scenario, self.configured, acc.R, acc.counts
        counts = {c: counts.get(c, 0) for c in acc.count_columns}
        rows = []
        nulls = null_endpoints(configured)
        for endpoint, column in REJECTIONS:
            rows.append(proportion(label, rate_metric(endpoint, nulls[endpoint]), counts[column], R))
        sizes = plain_reference(scenario, d)
        exact = None if sizes is None else d.exact_reference(sizes, configured["dcr_rechallenge"],
                                                            configured["dcr_control"])
        for metric, value in (exact or {}).items():
            rows.append(_row(label, metric, value, None, None, None,
                             f"no Monte Carlo error: enumerated; {sizes[0]} vs {sizes[1]} patients"))
        for what in ("dcr", "orr"):
            for name in ARMS.values():
                rows.append(proportion(label, f"{what}_observed_{name}", counts[f"{what}_successes_{name}"],
                                       counts[f"n_{name}"]))
        rows.append(moments_row(label, "dcr_difference", acc.moments["dcr_difference"]))
        rows += acc.difference.rows(label, "dcr_difference")
        for name in ARMS.values():
            rows.append(moments_row(label, f"n_evaluable_{name}", acc.moments[f"n_evaluable_{name}"]))
        rows.append(moments_row(label, "n_analysed", acc.moments["n_analysed"]))
        if acc.has_look:
            rows.append(proportion(label, "prob_interim_look", counts["looked"], R))
            rows.append(proportion(label, "prob_stop_early", counts["stopped"], R))
            rows.append(proportion(label, "prob_stop_for_efficacy", counts["stopped_for_efficacy"], R))
            if acc.looks > 1:
                for k in range(1, acc.looks + 1):
                    rows.append(proportion(label, f"prob_stop_at_look_{k}", int(acc.stop_looks[k]), R))
        for metric, column in MEAN_OVER_REPLICATES:
            rows.append(moments_row(label, metric, acc.moments[column]))
            if metric in QUANTILE_COLUMNS and quantiles:
                col = acc.quantiles[column]
                for q in QUANTILES:
                    rows.append(quantile_row(label, f"{metric}_q{int(q * 100)}", col.n, col.value_at, q))
        return rows

    def _trial_rows(self, medians: bool) -> list[dict]:
        """What the simulated trials show whatever the analysis: the configured figures, screening, Cox."""
        rows, counts = [], self.counts
        for what, num in (("dcr", "wt_controlled_at_ref"), ("orr", "wt_responding_at_ref")):
            for name in ARMS.values():
                rows.append(proportion(None, f"{what}_{name}", counts.get(f"{num}_{name}", 0),
                                       counts.get(f"n_wt_{name}", 0)))
        if medians:
            rows += self.median_rows()
        for endpoint in ("pfs", "os"):
            rows.append(proportion(None, f"cox_not_estimable_{endpoint}", self.R - self.cox_ok[endpoint], self.R))
            rows.append(moments_row(None, f"log_hr_{endpoint}", self.moments[f"{endpoint}_log_hr"]))
            rows += self.cox_errors[endpoint].rows(None, f"log_hr_{endpoint}")
            rows.append(moments_row(None, f"events_{endpoint}", self.moments[f"{endpoint}_events"]))
        for name in SCREEN_OUTCOMES.values():
            if name != "randomized":
                rows.append(moments_row(None, f"n_{name}", self.moments[f"n_{name}"]))
        rows.append(moments_row(None, "n_truly_mutant_randomized", self.moments["n_truly_mutant_randomized"]))
        return rows

    def pooled_note(self) -> str | None:
        """What the median rows say when they are pooled over fewer replicates than the run has."""
        if self.pooled_replicates >= self.R:
            return None
        return (f"pooled over the first {self.pooled_replicates:,} of {self.R:,} replicates (those numbered below "
                f"{self.cap:,}); MCSE is that of this estimate")

    def median_rows(self) -> list[dict]:
        """Kaplan-Meier medians pooled over the kept replicates' patients, per arm (one arm's patients in
        memory at a time, besides the kept chunks)."""
        note = self.pooled_note()
        rows = []
        for code, name in ARMS.items():
            parts = sorted(self._pooled[code], key=lambda p: int(p["replicate"][0]))  # replicate order
            column = lambda k: np.concatenate([p[k] for p in parts]) if parts else np.empty(0)  # noqa: E731
            rep = column("replicate")
            always = np.ones(len(rep), dtype=bool)
            rows.append(median(None, f"median_pfs_true_{name}", column("pfs_true"), always, rep, DAYS_PER_MONTH, note))
            rows.append(median(None, f"median_pfs_observed_{name}", column("pfs_obs_time"),
                               column("pfs_obs_event").astype(bool), rep, DAYS_PER_MONTH, note))
            rows.append(median(None, f"median_os_{name}", column("os_true"), always, rep, DAYS_PER_MONTH, note))
        return rows


def summarize(scenario: Scenario, records: pd.DataFrame, analyses: pd.DataFrame, pooled: dict[str, np.ndarray],
              configured: dict) -> tuple[list, list]:
    """Metric rows and notes for every design of the scenario (``configured``: what the scenario implies),
    from whole tables: one chunk through both passes of ``Summarizer``."""
    s = Summarizer(scenario, configured)
    s.add(records, analyses, pooled)
    if s.needs_second_pass:
        s.add_second(records, analyses)
    return s.result()


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
