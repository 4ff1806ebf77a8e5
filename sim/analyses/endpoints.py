"""Endpoints of one simulated trial, as pure functions of its patient table.

``replicate_record`` returns the scalar row a replicate contributes to replicates.parquet;
``pooled_times`` the patient-level times that medians pooled over replicates are read from.
"""
from __future__ import annotations

import math

import numpy as np

from ..model import imaging
from ..model.randomization import CONTROL, RECHALLENGE
from ..model.record import (
    END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, SCREEN_OUTCOMES, TrialTable,
)
from ..scenario.schema import DAYS_PER_MONTH
from . import binary
from .design import Design

ARMS = {RECHALLENGE: "rechallenge", CONTROL: "control"}
PFS_EVENTS = (END_SCAN_PROGRESSION, END_CLINICAL_PROGRESSION, END_DEATH)


def randomized(table: TrialTable) -> np.ndarray:
    return table.patients["arm"] >= 0


def disease_control_first_scan(table: TrialTable) -> np.ndarray:
    """ITT: CR/PR/SD at the first post-baseline scan; no scan (death, withdrawal,
    clinical progression first) counts as failure."""
    cat = table.patients["first_scan_cat"]
    return (cat >= imaging.CR) & (cat <= imaging.SD)


def response_first_scan(table: TrialTable) -> np.ndarray:
    cat = table.patients["first_scan_cat"]
    return (cat == imaging.CR) | (cat == imaging.PR)


def primary_analysis_day(table: TrialTable) -> float:
    """Day when every randomized patient has had the first scan or an event that ends follow-up."""
    p = table.patients
    r = randomized(table)
    if not r.any():
        return math.nan
    known = np.fmin(p["first_scan_rel"][r], p["end_rel"][r])
    return float(np.max(p["tx_start_day"][r] + known))


def observed_pfs(table: TrialTable) -> tuple[np.ndarray, np.ndarray]:
    """Scan-based PFS at the final cut-off: event at progression seen (scan or clinic) or death,
    else censored at the last scan without progression."""
    p = table.patients
    event = np.isin(p["end_reason"], PFS_EVENTS)
    time = np.where(event, p["end_rel"], p["last_assess_rel"])
    return time, event


def replicate_record(table: TrialTable, design: Design) -> dict:
    p = table.patients
    r = randomized(table)
    arm = p["arm"]
    outcome = p["screen_outcome"]
    rec = {
        "n_screened": int(len(arm)),
        "n_randomized": int(r.sum()),
        "accrual_complete": bool(table.accrual_complete),
        "accrual_months": table.last_randomized_day / DAYS_PER_MONTH,
        "time_to_primary_analysis_months": primary_analysis_day(table) / DAYS_PER_MONTH,
        "n_truly_mutant_randomized": int((r & p["truly_mutant"]).sum()),
    }
    for code, name in SCREEN_OUTCOMES.items():
        if name != "randomized":
            rec[f"n_{name}"] = int((outcome == code).sum())
    control = disease_control_first_scan(table)
    response = response_first_scan(table)
    wt = r & ~p["truly_mutant"]
    for a, name in ARMS.items():
        in_arm = arm == a
        rec[f"n_{name}"] = int(in_arm.sum())
        rec[f"dcr_successes_{name}"] = int((in_arm & control).sum())
        rec[f"orr_successes_{name}"] = int((in_arm & response).sum())
        rec[f"n_wt_{name}"] = int((in_arm & wt).sum())
        rec[f"wt_controlled_at_ref_{name}"] = int((in_arm & wt & p["controlled_at_ref"]).sum())
        rec[f"wt_responding_at_ref_{name}"] = int((in_arm & wt & p["responding_at_ref"]).sum())
    n1, n2 = rec["n_rechallenge"], rec["n_control"]
    if n1 and n2:
        rec["reject"] = bool(binary.reject(n1, n2, rec["dcr_successes_rechallenge"], rec["dcr_successes_control"],
                                           design.test, design.alpha, design.sided))
    else:
        rec["reject"] = False
    return rec


def pooled_times(table: TrialTable) -> dict[str, np.ndarray]:
    """Per truly wild-type randomized patient: arm, true PFS, true OS, observed PFS (time, event)."""
    p = table.patients
    wt = randomized(table) & ~p["truly_mutant"]
    time, event = observed_pfs(table)
    return {
        "arm": p["arm"][wt].astype(np.int8),
        "pfs_true": p["pfs_true_rel"][wt],
        "os_true": p["os_true_rel"][wt],
        "pfs_obs_time": time[wt],
        "pfs_obs_event": event[wt],
    }
