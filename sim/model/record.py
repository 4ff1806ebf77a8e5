"""What the SimPy model records of each patient, and the trial table built from it.

The table (``sim/table.py``: its columns and codes) is what analyses read; they never touch the
SimPy model, so an analysis variant costs no new simulation.
"""
from __future__ import annotations

import math
from array import array
from dataclasses import dataclass

import numpy as np

from ..table import ONGOING, TrialTable

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


class ScanLog:
    """Every scan of a trial, column by column: 18 bytes a scan (a tuple per scan took about 100, and
    a trial may have up to ``scenario.schema.MAX_SCANS_PER_TRIAL`` scans)."""

    __slots__ = ("patient", "day_rel", "category", "cycle_tied")

    def __init__(self):
        self.patient, self.day_rel = array("q"), array("d")       # patient k, day since first treatment
        self.category, self.cycle_tied = array("b"), array("b")   # RECIST category, tied to a cycle (0/1)

    def add(self, k: int, t: float, cat: int, tied: bool) -> None:
        self.patient.append(k)
        self.day_rel.append(t)
        self.category.append(cat)
        self.cycle_tied.append(tied)

    def __len__(self) -> int:
        return len(self.patient)


class PatientRecord:
    """A randomized patient: arm, treatment start, latent outcome and what the scans showed."""

    __slots__ = (
        "k", "stratum", "arm", "rand_day", "backbone", "tx_start", "outcome", "clock", "end_reason", "end_rel",
        "first_scan_rel", "first_scan_cat", "n_scans", "tied_cats", "log", "known", "rest",
    )

    def __init__(self, k: int, log: ScanLog):
        self.k = k
        self.stratum = -1
        self.arm = -1
        self.rand_day = NAN
        self.backbone = -1
        self.tx_start = NAN
        self.outcome: Outcome | None = None
        self.clock = None
        self.end_reason = ONGOING
        self.end_rel = NAN
        self.first_scan_rel = NAN
        self.first_scan_cat = 0
        self.n_scans = 0
        self.tied_cats: list[int] = []
        self.log = log
        self.known = False   # DCR outcome known (the trial no longer waits for this patient)
        self.rest = None     # (course generator, day of its next event) once known: patient.catch_up

    def add_scan(self, t: float, cat: int, tied: bool) -> None:
        if self.n_scans == 0:
            self.first_scan_rel, self.first_scan_cat = t, cat
        self.n_scans += 1
        if tied:
            self.tied_cats.append(cat)
        self.log.add(self.k, t, cat, tied)

    def end(self, reason: int, t: float) -> None:
        self.end_reason, self.end_rel = reason, t


def build_table(trials: list, courses: tuple, t_ref: float, n_tied: int) -> TrialTable:
    """The stacked patient table of simulated trials (model.trial.Trial objects, after their run).

    Screening columns for everyone screened, treatment columns for the randomized, defaults
    (-1, NaN, False) for the rest. Columns are built once for all trials: per-patient Python
    work is a list comprehension per column, not a numpy call per trial.
    """
    screened = [t.screened_columns() for t in trials]
    sizes = np.array([len(c["arrival_day"]) for c in screened], dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    n = int(sizes.sum())
    cols: dict[str, np.ndarray] = {
        "trial": np.repeat(np.arange(len(trials), dtype=np.int32), sizes),
        "patient": (np.arange(n) - np.repeat(offsets, sizes)).astype(np.int32),
    }
    for name in screened[0] if screened else ():
        cols[name] = np.concatenate([c[name] for c in screened])
    records, rows = [], []
    for t, off in zip(trials, offsets.tolist()):
        records.extend(t.records)
        rows.extend(off + r.k for r in t.records)
    rows = np.array(rows, dtype=np.int64)

    def col(name, dtype, fill, values):
        out = np.full(n, fill, dtype=dtype)
        out[rows] = values
        cols[name] = out

    col("stratum", np.int16, -1, [r.stratum for r in records])
    col("arm", np.int8, -1, [r.arm for r in records])
    col("rand_day", float, NAN, [r.rand_day for r in records])
    col("backbone", np.int16, -1, [r.backbone for r in records])
    col("tx_start_day", float, NAN, [r.tx_start for r in records])
    out = [r.outcome for r in records]
    col("pfs_true_rel", float, NAN, [o.pfs for o in out])
    col("pfs_true_is_death", bool, False, [o.progression == math.inf for o in out])
    col("os_true_rel", float, NAN, [o.death for o in out])
    col("responder", bool, False, [o.responder for o in out])
    cols["controlled_at_ref"] = cols["pfs_true_rel"] > t_ref
    cols["responding_at_ref"] = cols["controlled_at_ref"] & cols["responder"]
    col("end_reason", np.int8, ONGOING, [r.end_reason for r in records])
    col("end_rel", float, NAN, [r.end_rel for r in records])
    col("first_scan_rel", float, NAN, [r.first_scan_rel for r in records])
    col("first_scan_cat", np.int8, 0, [r.first_scan_cat for r in records])
    col("n_scans", np.int16, 0, [r.n_scans for r in records])
    tied = np.zeros((n, n_tied), dtype=np.int8)
    for row, r in zip(rows.tolist(), records):
        if r.tied_cats:
            tied[row, : len(r.tied_cats)] = r.tied_cats
    for m in range(n_tied):
        cols[f"tied_scan_{m + 1}_cat"] = tied[:, m]
    col("n_cycles", np.int16, 0, courses[0])  # trial.treatment_courses, in the order of records
    col("tx_end_rel", float, NAN, courses[1])
    col("tx_end_reason", np.int8, ONGOING, courses[2])
    logs = [(off, t.scan_log) for t, off in zip(trials, offsets.tolist()) if len(t.scan_log)]

    def column(name, dtype, shift=False):  # the trials' logs end to end (patient: the row in the stack)
        parts = [np.frombuffer(getattr(log, name), dtype=dtype) + off if shift else
                 np.frombuffer(getattr(log, name), dtype=dtype) for off, log in logs]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

    scans = {
        "patient": column("patient", np.int64, shift=True).astype(np.int32),
        "day_rel": column("day_rel", float),
        "category": column("category", np.int8),
        "cycle_tied": column("cycle_tied", np.int8).astype(bool),
    }
    order = np.lexsort((scans["day_rel"], scans["patient"]))  # by patient, then time
    scans = {k: v[order] for k, v in scans.items()}
    facts = {
        "end_day": np.array([t.end_day for t in trials], dtype=float),
        "cutoff_day": np.array([t.cutoff_day for t in trials], dtype=float),
        "last_randomized_day": np.array([t.last_randomized_day for t in trials], dtype=float),
        "accrual_complete": np.array([t.accrual_complete for t in trials], dtype=bool),
        "accrual_end_day": np.array([t.closed_day for t in trials], dtype=float),
    }
    return TrialTable(cols, scans, n_tied_scans=n_tied, **facts)


def single(table: TrialTable) -> TrialTable:
    """A stacked table of one trial with scalar facts."""
    facts = {k: getattr(table, k)[0].item() for k in ("end_day", "cutoff_day", "last_randomized_day",
                                                          "accrual_complete", "accrual_end_day")}
    return TrialTable(table.patients, table.scans, n_tied_scans=table.n_tied_scans, **facts)
