"""Endpoints of simulated trials, as pure functions of their patient table (``sim/table.py``).

Per-patient answers that every DCR definition (``sim/endpoints/dcr/``) builds on: scans by number,
the category at the first scan or the best one, when a patient's outcome became known, the day of
an analysis, evaluability, and observed PFS and OS at a data cut. ``analyses/extract.py`` takes
from them the counts a replicate contributes. Nothing here reads the SimPy model.
"""
from __future__ import annotations

import math

import numpy as np

from ..table import CR, END_CLINICAL_PROGRESSION, END_DEATH, END_SCAN_PROGRESSION, END_WITHDRAWAL, NE, PD, PR, SD
from ..table import TrialTable
from ..units import DAYS_PER_MONTH
PFS_EVENTS = (END_SCAN_PROGRESSION, END_CLINICAL_PROGRESSION, END_DEATH)


def randomized(table: TrialTable) -> np.ndarray:
    return table.patients["arm"] >= 0


def per_patient(table: TrialTable, value):
    """A trial-level value (a scalar, or one per trial of a stacked table) on each patient row."""
    value = np.asarray(value)
    return value if value.ndim == 0 else value[table.patients["trial"]]


def per_trial_max(table: TrialTable, rows: np.ndarray, values: np.ndarray):
    """Max of ``values[rows]`` within each trial (NaN without rows; a NaN value makes it NaN)."""
    if not table.stacked:
        return float(np.max(values[rows])) if rows.any() else math.nan
    out = np.full(table.n_trials, -np.inf)
    np.maximum.at(out, table.patients["trial"][rows], values[rows])
    out[out == -np.inf] = np.nan
    return out


def scan_number(table: TrialTable) -> np.ndarray:
    """0-based number of each scan-log row among its patient's scans (each patient's scans are in time order)."""
    patient = table.scans["patient"]
    if len(patient) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(patient, kind="stable")
    sorted_patients = patient[order]
    starts = np.flatnonzero(np.r_[True, sorted_patients[1:] != sorted_patients[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    number = np.empty(len(order), dtype=np.int64)
    number[order] = np.arange(len(order)) - run_start
    return number


def kth_scan_day(table: TrialTable, number: np.ndarray, k: int) -> np.ndarray:
    """Relative day of each patient's k-th scan (1-based), NaN without one."""
    out = np.full(len(table.patients["arm"]), np.nan)
    rows = number == k - 1
    out[table.scans["patient"][rows]] = table.scans["day_rel"][rows]
    return out


def outcome_known_rel(table: TrialTable, number: np.ndarray, scans: int) -> np.ndarray:
    """When a patient's DCR outcome over ``scans`` scans is known: that scan, or the end of follow-up
    (progression, death, withdrawal) before it. Days since first treatment."""
    p = table.patients
    kth = kth_scan_day(table, number, scans) if scans > 1 else p["first_scan_rel"]
    return np.where(np.isnan(kth), p["end_rel"], kth)


def outcomes_known_day(table: TrialTable, number: np.ndarray, scans: int):
    """Day (since the first site opened) by which every randomized patient's outcome is known
    (one per trial of a stacked table)."""
    return per_trial_max(table, randomized(table),
                         table.patients["tx_start_day"] + outcome_known_rel(table, number, scans))


def analysis_day(table: TrialTable, number: np.ndarray, scans: int, months: float | None):
    if months is None:
        return outcomes_known_day(table, number, scans)
    return table.last_randomized_day + months * DAYS_PER_MONTH


def _scanned_by(table: TrialTable, cut_day) -> np.ndarray:
    """Scan-log rows done by cut_day, compared in absolute days exactly as analysis days are computed
    (tx_start_day + day_rel), so the scan that sets an analysis day is always inside it."""
    sc = table.scans
    cut = per_patient(table, cut_day)
    return table.patients["tx_start_day"][sc["patient"]] + sc["day_rel"] <= (cut[sc["patient"]] if cut.ndim else cut)


def best_category(table: TrialTable, number: np.ndarray, scans: int, cut_day: float) -> np.ndarray:
    """Best RECIST category (CR < PR < SD < PD) over a patient's first ``scans`` scans done by cut_day;
    NE (0) without any."""
    p, sc = table.patients, table.scans
    rows = (number < scans) & _scanned_by(table, cut_day)
    best = np.full(len(p["arm"]), PD + 1, dtype=np.int8)
    np.minimum.at(best, sc["patient"][rows], sc["category"][rows])
    return np.where(best > PD, NE, best).astype(np.int8)


def first_scan_category(table: TrialTable, cut_day: float) -> np.ndarray:
    """RECIST category at the first post-baseline scan if it happened by cut_day, else NE (0)."""
    p = table.patients
    seen = p["tx_start_day"] + p["first_scan_rel"] <= per_patient(table, cut_day)  # NaN (no scan) compares False
    return np.where(seen, p["first_scan_cat"], NE)


def controlled_through(table: TrialTable, number: np.ndarray, scans: int, cut_day: float) -> np.ndarray:
    """Scan number ``scans`` happened by cut_day without progression (so did every earlier scan:
    a scan showing progression ends the scans)."""
    p, sc = table.patients, table.scans
    rows = (number == scans - 1) & (sc["category"] != PD) & _scanned_by(table, cut_day)
    out = np.zeros(len(p["arm"]), dtype=bool)
    out[sc["patient"][rows]] = True
    return out


def disease_control(category: np.ndarray) -> np.ndarray:
    """CR/PR/SD; no scan (death, withdrawal, clinical progression first, or not yet scanned at the
    analysis) is not disease control."""
    return (category >= CR) & (category <= SD)


def response(category: np.ndarray) -> np.ndarray:
    return (category == CR) | (category == PR)


def observed_pfs(table: TrialTable, cut_day: float, continuous: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """PFS as the trial sees it at a data cut (days since first treatment), per patient row.

    Scans (default): event = progression seen at a scan or clinically, or death, by the cut;
    otherwise censored at the last scan without progression by the cut (day 0 without one).
    Continuous assessment: event = the true PFS time if it falls by the cut and before a
    withdrawal; otherwise censored at the cut or the withdrawal. NaN for patients not randomized.
    """
    p = table.patients
    cut_rel = per_patient(table, cut_day) - p["tx_start_day"]
    if continuous:
        withdrawn = np.where(p["end_reason"] == END_WITHDRAWAL, p["end_rel"], np.inf)
        true = p["pfs_true_rel"]
        event = (true <= cut_rel) & (true <= withdrawn)
        time = np.where(event, true, np.minimum(cut_rel, withdrawn))
        return np.where(randomized(table), time, np.nan), event
    event = np.isin(p["end_reason"], PFS_EVENTS) & (p["end_rel"] <= cut_rel)
    sc = table.scans
    seen = (sc["category"] != PD) & (sc["day_rel"] <= cut_rel[sc["patient"]])
    last = np.zeros(len(cut_rel))
    np.maximum.at(last, sc["patient"][seen], sc["day_rel"][seen])
    time = np.where(event, p["end_rel"], last)
    return np.where(randomized(table), time, np.nan), event


def observed_os(table: TrialTable, cut_day: float) -> tuple[np.ndarray, np.ndarray]:
    """OS at a data cut: death seen by the cut (and before any withdrawal), else censored at the
    cut or at withdrawal."""
    p = table.patients
    cut_rel = per_patient(table, cut_day) - p["tx_start_day"]
    withdrawn = np.where(p["end_reason"] == END_WITHDRAWAL, p["end_rel"], np.inf)
    death = p["os_true_rel"]
    event = (death <= cut_rel) & (death < withdrawn)
    time = np.where(event, death, np.minimum(cut_rel, withdrawn))
    return time, event


def evaluable(table: TrialTable, cut_day) -> np.ndarray:
    """At least one post-baseline scan by cut_day."""
    return first_scan_category(table, cut_day) != NE
