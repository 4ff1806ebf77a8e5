"""What one simulated trial contributes to a run: a flat row of counts and statistics.

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
"""
from __future__ import annotations

import numpy as np

from ..model.record import SCREEN_OUTCOMES, TrialTable
from ..model.randomization import RECHALLENGE
from ..scenario.schema import DAYS_PER_MONTH
from . import endpoints as ep
from .design import AnalysisPlan
from .survival import logrank_and_cox


def _per_arm(row: dict, prefix: str, arm: np.ndarray, values: np.ndarray) -> None:
    for code, name in ep.ARMS.items():
        row[f"{prefix}_{name}"] = int(np.count_nonzero(values & (arm == code)))


def extract(table: TrialTable, plan: AnalysisPlan) -> dict:
    p = table.patients
    arm = p["arm"]
    r = arm >= 0
    outcome = p["screen_outcome"]
    row = {
        "n_screened": int(len(arm)),
        "n_randomized": int(r.sum()),
        "accrual_complete": bool(table.accrual_complete),
        "accrual_months": table.last_randomized_day / DAYS_PER_MONTH,
        "n_truly_mutant_randomized": int((r & p["truly_mutant"]).sum()),
    }
    for code, name in SCREEN_OUTCOMES.items():
        if name != "randomized":
            row[f"n_{name}"] = int(np.count_nonzero(outcome == code))
    _per_arm(row, "n", arm, r)
    wt = r & ~p["truly_mutant"]
    _per_arm(row, "n_wt", arm, wt)
    _per_arm(row, "wt_controlled_at_ref", arm, wt & p["controlled_at_ref"])
    _per_arm(row, "wt_responding_at_ref", arm, wt & p["responding_at_ref"])

    number = ep.scan_number(table)
    for j, (definition, scans, months) in enumerate(plan.count_keys):
        day = ep.analysis_day(table, number, scans, months)
        control, responding, evaluable = ep.dcr_outcomes(table, number, definition, scans, day)
        row[f"k{j}_day"] = day
        _per_arm(row, f"k{j}_dc", arm, control)
        _per_arm(row, f"k{j}_resp", arm, responding)
        _per_arm(row, f"k{j}_eval", arm, evaluable & r)

    if plan.looks:
        known = p["tx_start_day"] + ep.outcome_known_rel(table, number, 1)
        known_sorted = np.sort(known[r])
        first_dc = ep.disease_control(p["first_scan_cat"])
        first_resp = ep.response(p["first_scan_cat"])
        first_day = p["tx_start_day"] + p["first_scan_rel"]
        for j, n in enumerate(plan.looks):
            day = float(known_sorted[n - 1]) if len(known_sorted) >= n else np.nan
            row[f"look{j}_day"] = day
            seen = r & (known <= day)
            scanned = seen & (first_day <= day)
            _per_arm(row, f"look{j}_m", arm, seen)
            _per_arm(row, f"look{j}_y", arm, scanned & first_dc)
            _per_arm(row, f"look{j}_resp", arm, scanned & first_resp)
            _per_arm(row, f"look{j}_eval", arm, scanned)
            row[f"look{j}_screened"] = int(np.count_nonzero(p["arrival_day"] <= day))
            by_look = r & (p["rand_day"] <= day)
            row[f"look{j}_randomized"] = int(np.count_nonzero(by_look))
            row[f"look{j}_accrual_months"] = float(p["rand_day"][by_look].max()) / DAYS_PER_MONTH \
                if by_look.any() else np.nan

    row["cutoff_months"] = table.cutoff_day / DAYS_PER_MONTH
    # PFS and OS: patients treated by the cut-off (with a cut-off fixed from the study's start, later
    # patients have no follow-up at all).
    followed = r & (p["tx_start_day"] <= table.cutoff_day)
    is_rechallenge = (arm[followed] == RECHALLENGE).astype(np.int8)
    for name, (time, event) in (("pfs", ep.observed_pfs(table, table.cutoff_day, plan.continuous_pfs)),
                                ("os", ep.observed_os(table, table.cutoff_day))):
        lr, cox = logrank_and_cox(time[followed], event[followed], is_rechallenge)
        row[f"{name}_events"] = int(lr.events)
        row[f"{name}_z"] = float(lr.z)
        row[f"{name}_log_hr"] = float(cox.log_hr)
        row[f"{name}_log_hr_se"] = float(cox.se)
    return row


def pooled_times(table: TrialTable, continuous: bool = False) -> dict[str, np.ndarray]:
    """Per truly wild-type randomized patient: arm, true PFS, true OS, observed PFS (time, event)."""
    p = table.patients
    wt = ep.randomized(table) & ~p["truly_mutant"]
    time, event = ep.observed_pfs(table, table.cutoff_day, continuous)
    return {
        "arm": p["arm"][wt].astype(np.int8),
        "pfs_true": p["pfs_true_rel"][wt],
        "os_true": p["os_true_rel"][wt],
        "pfs_obs_time": time[wt],
        "pfs_obs_event": event[wt],
    }
