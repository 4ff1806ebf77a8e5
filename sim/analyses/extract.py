"""What each simulated trial contributes to a run: a flat row of counts and statistics.

The row holds everything any design of the plan needs, computed once per replicate:
* trial facts (numbers screened by outcome, randomized per arm, accrual duration);
* latent truths used to validate the model (wild-type patients controlled at the reference day);
* for each count key of the plan (``designs.CountKey``: DCR definition, scans, timing) and each
  interim look (``designs.LookKey``), the counts a design reads, in the columns ``counts.py`` names;
* the PFS and OS comparisons at the data cut-off: log-rank z (> 0 favours rechallenge) and the
  Cox log hazard ratio with its standard error.
Designs then differ only in how they read these counts (``decide.py``).

``extract`` reads a stacked table of many trials at once (one numpy pass per column for a whole
chunk, counts by ``bincount`` over the ``trial`` column) and gives one value per trial; for a
single trial's table it gives scalars.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..arms import ARMS, RECHALLENGE
from ..endpoints import common as ep
from ..endpoints.dcr import REGISTRY as DCR_DEFINITIONS
from ..stats.survival import logrank_and_cox, logrank_and_cox_batch
from ..table import SCREEN_OUTCOMES, TrialTable
from ..units import DAYS_PER_MONTH
from .counts import dcr_prefix, look_prefix
from .plan import AnalysisPlan


class _Counter:
    """Per-trial counts of boolean patient masks."""

    def __init__(self, table: TrialTable):
        self.trial = table.patients["trial"]
        self.n = table.n_trials
        self.arm = table.patients["arm"]

    def count(self, mask: np.ndarray) -> np.ndarray:
        return np.bincount(self.trial[mask], minlength=self.n)

    def per_arm(self, row: dict, prefix: str, mask: np.ndarray) -> None:
        for code, name in ARMS.items():
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
    row = {
        "n_screened": c.count(np.ones(len(arm), dtype=bool)),
        "n_randomized": c.count(r),
        "accrual_complete": np.atleast_1d(table.accrual_complete).astype(bool),
        # to where accrual stopped: the randomization that reached the target, or giving up
        "accrual_months": np.atleast_1d(table.accrual_end_day) / DAYS_PER_MONTH,
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
    for key in plan.count_keys:
        k = dcr_prefix(plan, key)
        day = np.atleast_1d(ep.analysis_day(table, number, key.scans, key.months)).astype(float)
        control, responding = DCR_DEFINITIONS[key.definition].outcomes(table, number, key.scans, day)
        row[f"{k}_day"] = day
        c.per_arm(row, f"{k}_dc", control)
        c.per_arm(row, f"{k}_resp", responding)
        c.per_arm(row, f"{k}_eval", ep.evaluable(table, day) & r)

    if plan.looks:
        known = p["tx_start_day"] + ep.outcome_known_rel(table, number, 1)
        first_dc = ep.disease_control(p["first_scan_cat"])
        first_resp = ep.response(p["first_scan_cat"])
        first_day = p["tx_start_day"] + p["first_scan_rel"]
        for look in plan.looks:
            j = look_prefix(plan, look)
            if look.first_scans is not None:
                day = _kth_smallest(trial[r], known[r], look.first_scans, c.n)
            else:
                day = np.full(c.n, look.months * DAYS_PER_MONTH)
            row[f"{j}_day"] = day
            at = day[trial]
            seen = r & (known <= at)
            scanned = seen & (first_day <= at)
            c.per_arm(row, f"{j}_m", seen)
            c.per_arm(row, f"{j}_y", scanned & first_dc)
            c.per_arm(row, f"{j}_resp", scanned & first_resp)
            c.per_arm(row, f"{j}_eval", scanned)
            row[f"{j}_screened"] = c.count(p["arrival_day"] <= at)
            by_look = r & (p["rand_day"] <= at)
            row[f"{j}_randomized"] = c.count(by_look)
            last = np.full(c.n, -np.inf)
            np.maximum.at(last, trial[by_look], p["rand_day"][by_look])
            row[f"{j}_accrual_months"] = np.where(last > -np.inf, last, np.nan) / DAYS_PER_MONTH

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
