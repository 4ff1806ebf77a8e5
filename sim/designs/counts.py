"""The typed hand-off from a simulated chunk to the designs: what each design needs, and the counts.

A design declares what it reads of each trial (``CountKey``: per arm, the disease controls and
responses under one DCR definition at one analysis time; ``LookKey``: what an interim look after
the n-th known first-scan outcome sees). ``analyses/extract.py`` computes each distinct key once
per trial of a chunk, and every design reads its keys from a ``ChunkCounts``. The flat columns of
``replicates.parquet`` are a serialization of these objects (``analyses/counts.py``), never a
contract a design relies on.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CountKey:
    """Counts under one DCR definition, reading ``scans`` scans per patient, at an analysis once every
    outcome is known (``months`` None) or ``months`` after the last randomization."""

    definition: str
    scans: int
    months: float | None = None


@dataclass(frozen=True)
class LookKey:
    """An interim look once ``first_scans`` randomized patients have a known first-scan outcome, or at
    ``months`` after the study's start (day 0, when screening opens): exactly one of the two is given."""

    first_scans: int | None = None
    months: float | None = None

    def __post_init__(self):
        if (self.first_scans is None) == (self.months is None):
            raise ValueError("a look is placed by first_scans or by months (exactly one)")


@dataclass
class ArmPair:
    """One figure per trial for each arm (arrays over the trials of a chunk)."""

    rechallenge: np.ndarray
    control: np.ndarray

    def where(self, mask: np.ndarray, other: "ArmPair") -> "ArmPair":
        """This pair, with ``other``'s values where ``mask`` holds."""
        return ArmPair(np.where(mask, other.rechallenge, self.rechallenge),
                       np.where(mask, other.control, self.control))


@dataclass
class DcrCounts:
    """Per trial at the analysis of a ``CountKey``: its day, and per arm the randomized, the evaluable
    (a scan by the analysis), those with disease control and those responding."""

    day: np.ndarray
    evaluable: ArmPair
    control: ArmPair
    response: ArmPair


@dataclass
class LookCounts:
    """What an interim look sees, per trial: its day (NaN if it never happens), per arm the patients
    with a known first-scan outcome, their disease controls, responses and first scans, and the
    trial so far (screened, randomized, accrual)."""

    day: np.ndarray
    known: ArmPair
    control: ArmPair
    response: ArmPair
    evaluable: ArmPair
    screened: np.ndarray
    randomized: np.ndarray
    accrual_months: np.ndarray


@dataclass
class TrialFacts:
    """Per trial: what does not depend on a design."""

    replicate: np.ndarray
    randomized_per_arm: ArmPair
    n_screened: np.ndarray
    n_randomized: np.ndarray
    accrual_complete: np.ndarray
    accrual_months: np.ndarray       # to where accrual stopped: the target's randomization, or giving up
    accrual_end_day: np.ndarray
    cutoff_months: np.ndarray
    pfs_z: np.ndarray
    os_z: np.ndarray

    def __len__(self) -> int:
        return len(self.replicate)


@dataclass
class ChunkCounts:
    facts: TrialFacts
    dcr: dict[CountKey, DcrCounts]
    looks: dict[LookKey, LookCounts]


@dataclass(frozen=True)
class DesignContext:
    """What a design needs to know of the trial it analyses, besides its own fields."""

    scan_cycles: tuple[int, ...]
    planned: tuple[int, int]        # planned (rechallenge, control) arm sizes
    target_randomized: int
