"""Every design's decisions for a batch of replicates, from the rows ``extract.py`` made.

Vectorized over replicates: each design reads its typed counts (``counts.chunk_counts``) and decides
for the whole batch (``Design.decide``: a binary test is a lookup in its cached rejection region, a
survival test a comparison of z with its critical value, a look a lookup in its cached table). This
is what makes an extra analysis variant nearly free: no design re-reads a patient table.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..designs import DECISION_COLUMNS
from .counts import chunk_counts, empty_counts
from .plan import AnalysisPlan


def decide(rows: pd.DataFrame, plan: AnalysisPlan) -> pd.DataFrame:
    """One row per (replicate, design): decisions, denominators, estimates and operational figures."""
    counts = chunk_counts(rows, plan) if len(rows) else empty_counts(plan)
    out = []
    for index, d in enumerate(plan.designs):
        columns = d.decide(counts, plan.context)
        missing = set(DECISION_COLUMNS) - set(columns)
        if missing:
            raise RuntimeError(f"design kind {d.kind} did not decide {sorted(missing)}")
        frame = {"replicate": counts.facts.replicate, "design": np.full(len(counts.facts), index, dtype=np.int16)}
        frame.update((c, columns[c]) for c in DECISION_COLUMNS)
        out.append(pd.DataFrame(frame))
    return pd.concat(out, ignore_index=True)
