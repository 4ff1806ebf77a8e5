"""Run a contiguous range of replicates: the unit of work a worker receives and a file holds."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..analyses.design import Design
from ..analyses.endpoints import pooled_times, replicate_record
from ..model.trial import TrialModel, simulate
from ..scenario.schema import Scenario


@dataclass
class ChunkResult:
    start: int
    records: pd.DataFrame             # one row per replicate
    pooled: dict[str, np.ndarray]     # patient-level times, with a 'replicate' column


@lru_cache(maxsize=8)
def _model(scenario_json: str) -> TrialModel:
    """Build the outcome laws once per worker process, not once per chunk."""
    return TrialModel(Scenario.model_validate_json(scenario_json))


def run_chunk(scenario_json: str, design: Design, seed: int, start: int, stop: int) -> ChunkResult:
    model = _model(scenario_json)
    rows, pooled = [], []
    for i in range(start, stop):
        table = simulate(model, seed, i)
        row = replicate_record(table, design)
        row["replicate"] = i
        rows.append(row)
        times = pooled_times(table)
        times["replicate"] = np.full(len(times["arm"]), i, dtype=np.int64)
        pooled.append(times)
    records = pd.DataFrame(rows)
    records.insert(0, "replicate", records.pop("replicate"))
    merged = {k: np.concatenate([t[k] for t in pooled]) for k in pooled[0]} if pooled else {}
    return ChunkResult(start, records, merged)
