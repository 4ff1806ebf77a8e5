"""The one place that names the per-trial count columns of ``replicates.parquet``.

``extract.py`` writes the counts of each ``CountKey`` under the prefix ``k<j>`` and those of each
``LookKey`` under ``look<j>`` (j: the key's position in the plan, listed in summary.json), and
``chunk_counts`` reads them back into the typed ``ChunkCounts`` designs receive.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..designs import ChunkCounts, CountKey, LookKey
from ..designs.counts import ArmPair, DcrCounts, LookCounts, TrialFacts
from ..units import DAYS_PER_MONTH
from .plan import AnalysisPlan


def dcr_prefix(plan: AnalysisPlan, key: CountKey) -> str:
    return f"k{plan.count_keys.index(key)}"


def look_prefix(plan: AnalysisPlan, key: LookKey) -> str:
    return f"look{plan.looks.index(key)}"


def _pair(rows: pd.DataFrame, stem: str) -> ArmPair:
    return ArmPair(rows[f"{stem}_rechallenge"].to_numpy(), rows[f"{stem}_control"].to_numpy())


def chunk_counts(rows: pd.DataFrame, plan: AnalysisPlan) -> ChunkCounts:
    """The typed counts of the trials in ``rows`` (one row per trial, as extract() made them)."""
    accrual = rows["accrual_months"].to_numpy(dtype=float)
    facts = TrialFacts(
        replicate=rows["replicate"].to_numpy(), randomized_per_arm=_pair(rows, "n"),
        n_screened=rows["n_screened"].to_numpy(), n_randomized=rows["n_randomized"].to_numpy(),
        accrual_complete=rows["accrual_complete"].to_numpy(dtype=bool), accrual_months=accrual,
        accrual_end_day=accrual * DAYS_PER_MONTH, cutoff_months=rows["cutoff_months"].to_numpy(dtype=float),
        pfs_z=rows["pfs_z"].to_numpy(dtype=float), os_z=rows["os_z"].to_numpy(dtype=float))
    dcr = {}
    for key in plan.count_keys:
        k = dcr_prefix(plan, key)
        dcr[key] = DcrCounts(rows[f"{k}_day"].to_numpy(dtype=float), _pair(rows, f"{k}_eval"),
                             _pair(rows, f"{k}_dc"), _pair(rows, f"{k}_resp"))
    looks = {}
    for key in plan.looks:
        j = look_prefix(plan, key)
        looks[key] = LookCounts(
            rows[f"{j}_day"].to_numpy(dtype=float), _pair(rows, f"{j}_m"), _pair(rows, f"{j}_y"),
            _pair(rows, f"{j}_resp"), _pair(rows, f"{j}_eval"), rows[f"{j}_screened"].to_numpy(),
            rows[f"{j}_randomized"].to_numpy(), rows[f"{j}_accrual_months"].to_numpy(dtype=float))
    return ChunkCounts(facts, dcr, looks)


def empty_counts(plan: AnalysisPlan) -> ChunkCounts:
    """Counts of no trial (a chunk without replicates)."""
    none = np.zeros(0)
    pair = ArmPair(none, none)
    facts = TrialFacts(np.zeros(0, dtype=np.int64), pair, none, none, np.zeros(0, dtype=bool), none, none, none,
                       none, none)
    return ChunkCounts(facts, {k: DcrCounts(none, pair, pair, pair) for k in plan.count_keys},
                       {k: LookCounts(none, pair, pair, pair, pair, none, none, none) for k in plan.looks})
