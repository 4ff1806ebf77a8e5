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
    END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, END_WITHDRAWAL, SCREEN_OUTCOMES, TrialTable,
)
from ..scenario.schema import DAYS_PER_MONTH
from . import binary
from .design import Design

ARMS = {RECHALLENGE: "rechallenge", CONTROL: "control"}
PFS_EVENTS = (END_SCAN_PROGRESSION, END_CLINICAL_PROGRESSION, END_DEATH)


def randomized(table: TrialTable) -> np.ndarray:
    return table.patients["arm"] >= 0


def first_scan_category(table: TrialTable, cut_day: float) -> np.ndarray:
    """RECIST category at the first post-baseline scan if it happened by cut_day, else NE (0)."""
    p = table.patients
    seen = p["tx_start_day"] + p["first_scan_rel"] <= cut_day  # NaN (no scan) compares False
    return np.where(seen, p["first_scan_cat"], imaging.NE)


def disease_control(category: np.ndarray) -> np.ndarray:
    """ITT: CR/PR/SD; no scan (death, withdrawal, clinical progression first, or not yet
    scanned at the analysis) counts as failure."""
    return (category >= imaging.CR) & (category <= imaging.SD)


def response(category: np.ndarray) -> np.ndarray:
    return (category == imaging.CR) | (category == imaging.PR)


def all_first_scans_day(table: TrialTable) -> float:
    """Day when every randomized patient has had the first scan or an event that ends follow-up."""
    p = table.patients
    r = randomized(table)
    if not r.any():
        return math.nan
    known = np.fmin(p["first_scan_rel"][r], p["end_rel"][r])
    return float(np.max(p["tx_start_day"][r] + known))


def primary_analysis_day(table: TrialTable, design: Design) -> float:
    if design.primary_analysis_months is None:
        return all_first_scans_day(table)
    return table.last_randomized_day + design.primary_analysis_months * DAYS_PER_MONTH


def observed_pfs(table: TrialTable, cut_day: float) -> tuple[np.ndarray, np.ndarray]:
    """PFS as the trial sees it at a data cut (days since first treatment), per patient row.

    Event: progression seen at a scan or clinically, or death, by the cut. Otherwise censored
    at the last scan without progression by the cut (day 0 without one). NaN for patients
    not randomized.
    """
    p = table.patients
    cut_rel = cut_day - p["tx_start_day"]
    event = np.isin(p["end_reason"], PFS_EVENTS) & (p["end_rel"] <= cut_rel)
    sc = table.scans
    seen = (sc["category"] != imaging.PD) & (sc["day_rel"] <= cut_rel[sc["patient"]])
    last = np.zeros(len(cut_rel))
    np.maximum.at(last, sc["patient"][seen], sc["day_rel"][seen])
    time = np.where(event, p["end_rel"], last)
    return np.where(randomized(table), time, np.nan), event


def observed_os(table: TrialTable, cut_day: float) -> tuple[np.ndarray, np.ndarray]:
    """OS at a data cut: death seen by the cut (and before any withdrawal), else censored at the
    cut or at withdrawal."""
    p = table.patients
    cut_rel = cut_day - p["tx_start_day"]
    withdrawn = np.where(p["end_reason"] == END_WITHDRAWAL, p["end_rel"], np.inf)
    death = p["os_true_rel"]
    event = (death <= cut_rel) & (death < withdrawn)
    time = np.where(event, death, np.minimum(cut_rel, withdrawn))
    return time, event


def replicate_record(table: TrialTable, design: Design) -> dict:
    p = table.patients
    r = randomized(table)
    arm = p["arm"]
    outcome = p["screen_outcome"]
    analysis_day = primary_analysis_day(table, design)
    category = first_scan_category(table, analysis_day)
    rec = {
        "n_screened": int(len(arm)),
        "n_randomized": int(r.sum()),
        "accrual_complete": bool(table.accrual_complete),
        "accrual_months": table.last_randomized_day / DAYS_PER_MONTH,
        "time_to_primary_analysis_months": analysis_day / DAYS_PER_MONTH,
        "n_truly_mutant_randomized": int((r & p["truly_mutant"]).sum()),
    }
    for code, name in SCREEN_OUTCOMES.items():
        if name != "randomized":
            rec[f"n_{name}"] = int((outcome == code).sum())
    control = disease_control(category)
    responding = response(category)
    wt = r & ~p["truly_mutant"]
    for a, name in ARMS.items():
        in_arm = arm == a
        rec[f"n_{name}"] = int(in_arm.sum())
        rec[f"dcr_successes_{name}"] = int((in_arm & control).sum())
        rec[f"orr_successes_{name}"] = int((in_arm & responding).sum())
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
    time, event = observed_pfs(table, table.cutoff_day)
    return {
        "arm": p["arm"][wt].astype(np.int8),
        "pfs_true": p["pfs_true_rel"][wt],
        "os_true": p["os_true_rel"][wt],
        "pfs_obs_time": time[wt],
        "pfs_obs_event": event[wt],
    }
