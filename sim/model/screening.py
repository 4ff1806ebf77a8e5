"""ctDNA screening of a block of arrivals: turnaround, death while waiting, assay failure and
retest, the RAS call and non-molecular failures.

A patient's screening touches nothing another patient sees until its last moment: only a patient
who passes meets the trial again, at the decision, where enrolment may have closed meanwhile.
So each path is computed here from the patient's own draws, for a whole block at once, and the
trial schedules one SimPy event per patient who passes (``Trial.accrue``); screen failures need
no event. Times are days since the patient's arrival.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..scenario.schema import Screening
from ..units import DAYS_PER_MONTH
from ..table import ASSAY_FAILURE, DIED_WAITING, NON_MOLECULAR, RAS_MUTANT

PASSED = -2  # passes screening: randomized at the decision, or ENROLMENT_CLOSED if enrolment closed first


@dataclass
class ScreeningPaths:
    outcome: np.ndarray       # int8: a screen-failure code of record.py, or PASSED
    end_day: np.ndarray       # day (since the first site opened) screening ends
    n_assays: np.ndarray      # int8
    truly_mutant: np.ndarray  # bool: tumour truly RAS-mutant (known only for patients who got a call)


def p_mutant(s: Screening, months: np.ndarray) -> np.ndarray:
    """P(truly RAS-mutant) after ``months`` since the last anti-EGFR dose: halves every half-life."""
    rm = s.ras_mutant
    return np.minimum(1.0, rm.prob_at_reference * 2.0 ** (-(months - rm.reference_months_since_cetuximab)
                                                          / rm.half_life_months))


def screen(s: Screening, arrival: np.ndarray, d) -> ScreeningPaths:
    """Every patient's screening path. ``d`` holds the block's draws (trial.BlockDraws).

    First assay after its turnaround, unless death or deterioration comes first; a failed assay is
    repeated once from a new blood draw if the protocol allows; a call of RAS-mutant (sensitivity and
    specificity against the truth) or a non-molecular failure screens the patient out.
    """
    n = len(arrival)
    outcome = np.full(n, PASSED, dtype=np.int8)
    first, second = d.turnaround.copy(), np.zeros(n)   # the two legs of the wait
    assays = np.ones(n, dtype=np.int8)
    died = d.death_wait < d.turnaround
    outcome[died] = DIED_WAITING
    first[died] = d.death_wait[died]
    failed = ~died & d.assay_fail
    redrawn = np.zeros(n, dtype=bool)
    if s.retest_on_failure:
        died2 = failed & (d.death_wait < d.turnaround + d.turnaround_retest)
        outcome[died2] = DIED_WAITING
        second[died2] = d.death_wait[died2] - d.turnaround[died2]
        redrawn = failed & ~died2
        second[redrawn] = d.turnaround_retest[redrawn]
        assays[failed] = 2
        outcome[redrawn & d.assay_fail_retest] = ASSAY_FAILURE
    else:
        outcome[failed] = ASSAY_FAILURE
    end_first = arrival + first
    end_day = end_first + second
    called = outcome == PASSED
    # Months since cetuximab when the blood that got a result was drawn (the retest's draw is later).
    months = d.months_since_cetuximab + np.where(redrawn, end_first - arrival, 0.0) / DAYS_PER_MONTH
    truly = called & (d.u_mutant < p_mutant(s, months))
    calls_mutant = np.where(truly, d.u_call < s.assay_sensitivity, d.u_call >= s.assay_specificity)
    outcome[called & calls_mutant] = RAS_MUTANT
    outcome[called & ~calls_mutant & d.non_molecular] = NON_MOLECULAR
    return ScreeningPaths(outcome, end_day, assays, truly)
