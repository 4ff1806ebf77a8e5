"""The simulated trial table: what every analysis reads, and the codes in its columns.

A trial (or a stack of trials) is a table of patients plus a scan log (``TrialTable``). The SimPy
model writes it (``model/record.py``); endpoints, analyses and reports read it and never the
model, so an analysis variant costs no new simulation. Times are days; ``*_day`` columns are days
since the first site opened, ``*_rel`` columns days since the patient's first treatment day.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# RECIST 1.1 category seen at a scan (NE: no scan).
NE, CR, PR, SD, PD = 0, 1, 2, 3, 4
CATEGORY_NAMES = {NE: "NE", CR: "CR", PR: "PR", SD: "SD", PD: "PD"}

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

@dataclass
class TrialTable:
    """Simulated trials: patient columns (numpy arrays), the scan log, and trial-level facts.

    One trial (``simulate``) has scalar facts. Several trials stacked (``simulate_many``, how the
    engine analyses a chunk at once) have one fact per trial, and the ``trial`` column gives each
    patient row's trial. Either way ``scans["patient"]`` is a row of ``patients``, and the scan log is
    ordered by patient, then day.
    """

    patients: dict[str, np.ndarray]
    scans: dict[str, np.ndarray]
    end_day: float | np.ndarray            # end of the simulation: the cut-off, or later if a scan was still due
    cutoff_day: float | np.ndarray         # PFS/OS data cut-off
    last_randomized_day: float | np.ndarray
    accrual_complete: bool | np.ndarray
    accrual_end_day: float | np.ndarray    # when accrual stopped: the target's randomization, or giving up
    n_tied_scans: int

    @property
    def stacked(self) -> bool:
        return np.ndim(self.end_day) > 0

    @property
    def n_trials(self) -> int:
        return int(np.size(self.end_day))

    def patients_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.patients)

    def scans_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.scans)
