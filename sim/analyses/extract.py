"""What each simulated trial contributes to a run: a flat row of counts and statistics.

The row holds everything any design of the plan needs, computed once per replicate:
* trial facts (numbers screened by outcome, randomized per arm, accrual duration);
* latent truths used to validate the model (wild-type patients controlled at the reference day);
* for each count key j of the plan (DCR definition, scans, timing): ``k{j}_day`` (the DCR analysis
  day) and per arm the successes ``k{j}_dc_*``, responses ``k{j}_resp_*`` and evaluable ``k{j}_eval_*``;
* for each interim look size j: ``look{j}_day`` and per arm the patients with a known first-scan
  outcome ``look{j}_m_*``, their disease controls ``look{j}_y_*``, responses ``look{j}_resp_*``
  and first scans ``look{j}_eval_*``; the numbers screened and randomized and the accrual by the look;
* the PFS and OS comparisons at the data cut-off: log-rank z (> 0 favours rechallenge) and the
  Cox log hazard ratio with its standard error.
Designs then differ only in how ``decide.py`` reads these columns.

``extract`` reads a stacked table of many trials at once (one numpy pass per column for a whole
chunk, counts by ``bincount`` over the ``trial`` column) and gives one value per trial; for a
single trial's table it gives scalars.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..model.randomization import RECHALLENGE
from ..model.record import SCREEN_OUTCOMES, TrialTable
from ..scenario.schema import DAYS_PER_MONTH
from . import endpoints as ep
from .design import AnalysisPlan
from .survival import logrank_and_cox, logrank_and_cox_batch


class _Counter:
    """Per-trial counts of boolean patient masks."""

    def __init__(self, table: TrialTable):
        self.trial = table.patients["trial"]
        self.n = table.n_trials
        self.arm = table.patients["arm"]

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.trial[mask], minlength=self.n)

    def per_arm(self, row: dict, prefix: str, mask: np.ndarray) -> None:
        for code, name in ep.ARMS.items():
            row[f"{prefix}_{name}"] = self.count(mask & (self.arm == code))


@lru_cache(maxsize=1)
def _empty_survival() -> tuple[float, float, float, int]:
    """What the per-trial analysis gives a trial without any patient followed."""
    lr, cox = logrank_and_cox(np.zeros(0), np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int8))
    return float(lr.z), float(cox.log_hr), float(cox.se), int(lr.events)


def _survival(row: dict, name: str, table: TrialTable, followed: np.ndarray, time, event) -> None:
    n = table.n_trials
    trial = table.patients["trial"][followed]
    is_rechallenge = (table.patients["arm"][followed] == RECHALLENGE).astype(np.int8)
    z, log_hr, se, events = (np.full(n, v, dtype=float) for v in _empty_survival())
    if len(trial):
        lr, cox = logrank_and_cox_batch(time[followed], event[followed], is_rechallenge, trial)
        present = np.unique(trial)
        z[present], events[present] = lr.z, lr.events
        log_hr[present], se[present] = cox.log_hr, cox.se
    row[f"{name}_events"] = events.astype(np.int64)
    row[f"{name}_z"] = z
    row[f"{name}_log_hr"] = log_hr
    row[f"{name}_log_hr_se"] = se


def _kth_smallest(trial: np.ndarray, values: np.ndarray, k: int, n_trials: int) -> np.ndarray:
    """Per trial, the k-th smallest (1-based) of its values (NaN sorts last); NaN with fewer than k."""
    order = np.lexsort((values, trial))
    counts = np.bincount(trial, minlength=n_trials)
    first = np.cumsum(counts) - counts
    out = np.full(n_trials, np.nan)
    has = counts >= k
    out[has] = values[order][first[has] + k - 1]
    return out


def extract(table: TrialTable, plan: AnalysisPlan) -> dict:
    p = table.patients
    c = _Counter(table)
    trial, arm = c.trial, c.arm
    r = arm >= 0
    outcome = p["screen_outcome"]
    last_rand = np.atleast_1d(table.last_randomized_day)
    row = {
        "n_screened": c.count(np.ones(len(arm), dtype=bool)),
        "n_randomized": c.count(r),
        "accrual_complete": np.atleast_1d(table.accrual_complete).astype(bool),
        "accrual_months": last_rand / DAYS_PER_MONTH,
        "n_truly_mutant_randomized": c.count(r & p["truly_mutant"]),
    }
    for code, name in SCREEN_OUTCOMES.items():
        if name != "randomized":
            row[f"n_{name}"] = c.count(outcome == code)
    c.per_arm(row, "n", r)
    wt = r & ~p["truly_mutant"]
    c.per_arm(row, "n_wt", wt)
    c.per_arm(row, "wt_controlled_at_ref", wt & p["controlled_at_ref"])
    c.per_arm(row, "wt_responding_at_ref", wt & p["responding_at_ref"])

    number = ep.scan_number(table)
    for j, (definition, scans, months) in enumerate(plan.count_keys):
        day = np.atleast_1d(ep.analysis_day(table, number, scans, months)).astype(float)
        control, responding, evaluable = ep.dcr_outcomes(table, number, definition, scans, day)
        row[f"k{j}_day"] = day
        c.per_arm(row, f"k{j}_dc", control)
        c.per_arm(row, f"k{j}_resp", responding)
        c.per_arm(row, f"k{j}_eval", evaluable & r)

    if plan.looks:
        known = p["tx_start_day"] + ep.outcome_known_rel(table, number, 1)
        first_dc = ep.disease_control(p["first_scan_cat"])
        first_resp = ep.response(p["first_scan_cat"])
        first_day = p["tx_start_day"] + p["first_scan_rel"]
        for j, n in enumerate(plan.looks):
            day = _kth_smallest(trial[r], known[r], n, c.n)
            row[f"look{j}_day"] = day
            at = day[trial]
            seen = r & (known <= at)
            scanned = seen & (first_day <= at)
            c.per_arm(row, f"look{j}_m", seen)
            c.per_arm(row, f"look{j}_y", scanned & first_dc)
            c.per_arm(row, f"look{j}_resp", scanned & first_resp)
            c.per_arm(row, f"look{j}_eval", scanned)
            row[f"look{j}_screened"] = c.count(p["arrival_day"] <= at)
            by_look = r & (p["rand_day"] <= at)
            row[f"look{j}_randomized"] = c.count(by_look)
            last = np.full(c.n, -np.inf)
            np.maximum.at(last, trial[by_look], p["rand_day"][by_look])
            row[f"look{j}_accrual_months"] = np.where(last > -np.inf, last, np.nan) / DAYS_PER_MONTH

    cutoff = np.atleast_1d(table.cutoff_day).astype(float)
    row["cutoff_months"] = cutoff / DAYS_PER_MONTH
    # PFS and OS: patients treated by the cut-off (with a cut-off fixed from the study's start, later
    # patients have no follow-up at all).
    followed = r & (p["tx_start_day"] <= cutoff[trial])
    _survival(row, "pfs", table, followed, *ep.observed_pfs(table, cutoff, plan.continuous_pfs))
    _survival(row, "os", table, followed, *ep.observed_os(table, cutoff))
    if not table.stacked:
        return {k: v[0].item() for k, v in row.items()}
    return row


def pooled_times(table: TrialTable, continuous: bool = False) -> dict[str, np.ndarray]:
    """Per truly wild-type randomized patient: trial, arm, true PFS, true OS, observed PFS (time, event)."""
    p = table.patients
    wt = ep.randomized(table) & ~p["truly_mutant"]
    time, event = ep.observed_pfs(table, table.cutoff_day, continuous)
    return {
        "trial": p["trial"][wt].astype(np.int64),
        "arm": p["arm"][wt].astype(np.int8),
        "pfs_true": p["pfs_true_rel"][wt],
        "os_true": p["os_true_rel"][wt],
        "pfs_obs_time": time[wt],
        "pfs_obs_event": event[wt],
    }
