"""The patient table a simulated trial yields: one record per screened patient, plus a scan log.

Analyses read only this table (``TrialTable``): they never touch the SimPy model, so an
analysis variant costs no new simulation. Times are days; ``*_day`` columns are days since
the first site opened, ``*_rel`` columns days since the patient's first treatment day.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Screening outcomes.
RANDOMIZED, DIED_WAITING, ASSAY_FAILURE, RAS_MUTANT, NON_MOLECULAR, ENROLMENT_CLOSED = range(6)
SCREEN_OUTCOMES = {
    RANDOMIZED: "randomized",
    DIED_WAITING: "died_or_deteriorated_waiting",
    ASSAY_FAILURE: "assay_failure",
    RAS_MUTANT: "ras_mutant_ctdna",
    NON_MOLECULAR: "non_molecular",
    ENROLMENT_CLOSED: "enrolment_closed",
}
# How follow-up for PFS ended (0: still followed at the data cut-off).
ONGOING, END_SCAN_PROGRESSION, END_CLINICAL_PROGRESSION, END_DEATH, END_WITHDRAWAL, END_TOXICITY = range(6)
END_REASONS = {
    ONGOING: "ongoing",
    END_SCAN_PROGRESSION: "progression_at_scan",
    END_CLINICAL_PROGRESSION: "clinical_progression",
    END_DEATH: "death",
    END_WITHDRAWAL: "withdrawal",
    END_TOXICITY: "toxicity",
}
NAN = math.nan


@dataclass(slots=True)
class Outcome:
    """A randomized patient's latent outcome, days since first treatment."""

    pfs: float           # true time to progression or death
    progression: float   # true progression (inf when death comes first)
    death: float
    responder: bool
    complete: bool
    clinical: float      # when progression becomes clinically obvious (inf if never)


class PatientRecord:
    __slots__ = (
        "k", "arrival_day", "screen_end_day", "screen_outcome", "n_assays", "truly_mutant",
        "stratum", "arm", "rand_day", "backbone", "tx_start", "outcome", "end_reason", "end_rel",
        "first_scan_rel", "first_scan_cat", "n_scans", "tied_cats", "log",
    )

    def __init__(self, k: int, arrival_day: float, log: list):
        self.k = k
        self.arrival_day = arrival_day
        self.screen_end_day = NAN
        self.screen_outcome = -1
        self.n_assays = 0
        self.truly_mutant = False
        self.stratum = -1
        self.arm = -1
        self.rand_day = NAN
        self.backbone = -1
        self.tx_start = NAN
        self.outcome: Outcome | None = None
        self.end_reason = ONGOING
        self.end_rel = NAN
        self.first_scan_rel = NAN
        self.first_scan_cat = 0
        self.n_scans = 0
        self.tied_cats: list[int] = []
        self.log = log

    def screen_out(self, outcome: int, day: float, assays: int) -> None:
        self.screen_outcome = outcome
        self.screen_end_day = day
        self.n_assays = assays

    def add_scan(self, t: float, cat: int, tied: bool) -> None:
        if self.n_scans == 0:
            self.first_scan_rel, self.first_scan_cat = t, cat
        self.n_scans += 1
        if tied:
            self.tied_cats.append(cat)
        self.log.append((self.k, t, cat, tied))

    def end(self, reason: int, t: float) -> None:
        self.end_reason, self.end_rel = reason, t


@dataclass
class TrialTable:
    """One simulated trial: patient columns (numpy arrays), the scan log, and trial-level facts."""

    patients: dict[str, np.ndarray]
    scans: dict[str, np.ndarray]
    end_day: float            # end of the simulation: the cut-off, or later if a first scan was still due
    cutoff_day: float         # PFS/OS data cut-off: follow_up_cutoff_months after the last randomization
    last_randomized_day: float
    accrual_complete: bool
    n_tied_scans: int

    def patients_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.patients)

    def scans_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.scans)


def build_table(records: list[PatientRecord], t_ref: float, n_tied: int, **trial_facts) -> TrialTable:
    n = len(records)
    cols: dict[str, np.ndarray] = {}

    def col(name, dtype, get):
        cols[name] = np.fromiter((get(r) for r in records), dtype=dtype, count=n)

    col("patient", np.int32, lambda r: r.k)
    # Analyses index rows by patient number (e.g. from the scan log): they must coincide.
    assert np.array_equal(cols["patient"], np.arange(n)), "records out of arrival order"
    col("arrival_day", float, lambda r: r.arrival_day)
    col("screen_end_day", float, lambda r: r.screen_end_day)
    col("screen_outcome", np.int8, lambda r: r.screen_outcome)
    col("n_assays", np.int8, lambda r: r.n_assays)
    col("truly_mutant", bool, lambda r: r.truly_mutant)
    col("stratum", np.int16, lambda r: r.stratum)
    col("arm", np.int8, lambda r: r.arm)
    col("rand_day", float, lambda r: r.rand_day)
    col("backbone", np.int16, lambda r: r.backbone)
    col("tx_start_day", float, lambda r: r.tx_start)
    out = [r.outcome for r in records]
    cols["pfs_true_rel"] = np.array([o.pfs if o else NAN for o in out], dtype=float)
    cols["pfs_true_is_death"] = np.array([bool(o and math.isinf(o.progression)) for o in out], dtype=bool)
    cols["os_true_rel"] = np.array([o.death if o else NAN for o in out], dtype=float)
    cols["responder"] = np.array([bool(o and o.responder) for o in out], dtype=bool)
    cols["controlled_at_ref"] = cols["pfs_true_rel"] > t_ref
    cols["responding_at_ref"] = cols["controlled_at_ref"] & cols["responder"]
    col("end_reason", np.int8, lambda r: r.end_reason)
    col("end_rel", float, lambda r: r.end_rel)
    col("first_scan_rel", float, lambda r: r.first_scan_rel)
    col("first_scan_cat", np.int8, lambda r: r.first_scan_cat)
    col("n_scans", np.int16, lambda r: r.n_scans)
    tied = np.zeros((n, n_tied), dtype=np.int8)
    for j, r in enumerate(records):
        tied[j, : len(r.tied_cats)] = r.tied_cats
    for m in range(n_tied):
        cols[f"tied_scan_{m + 1}_cat"] = tied[:, m]
    log = records[0].log if records else []
    scans = {
        "patient": np.array([e[0] for e in log], dtype=np.int32),
        "day_rel": np.array([e[1] for e in log], dtype=float),
        "category": np.array([e[2] for e in log], dtype=np.int8),
        "cycle_tied": np.array([e[3] for e in log], dtype=bool),
    }
    return TrialTable(cols, scans, n_tied_scans=n_tied, **trial_facts)
