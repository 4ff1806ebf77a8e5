"""Run a contiguous range of replicates: the unit of work a worker receives and a file holds."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..analyses.decide import decide
from ..analyses.design import AnalysisPlan
from ..analyses.extract import extract, pooled_times
from ..model.trial import TrialModel, simulate
from ..scenario.schema import Scenario


@dataclass
class ChunkResult:
    start: int
    records: pd.DataFrame             # one row per replicate: what extract() takes from the trial
    analyses: pd.DataFrame            # one row per (replicate, design): decide()'s decisions
    pooled: dict[str, np.ndarray]     # patient-level times, with a 'replicate' column


@lru_cache(maxsize=8)
def _model(scenario_json: str) -> tuple[TrialModel, AnalysisPlan]:
    """Build the outcome laws and the analysis plan once per worker process, not once per chunk."""
    scenario = Scenario.model_validate_json(scenario_json)
    return TrialModel(scenario), AnalysisPlan.from_scenario(scenario)


def run_chunk(scenario_json: str, seed: int, start: int, stop: int) -> ChunkResult:
    model, plan = _model(scenario_json)
    rows, pooled = [], []
    for i in range(start, stop):
        table = simulate(model, seed, i)
        row = extract(table, plan)
        row["replicate"] = i
        rows.append(row)
        times = pooled_times(table, plan.continuous_pfs)
        times["replicate"] = np.full(len(times["arm"]), i, dtype=np.int64)
        pooled.append(times)
    records = pd.DataFrame(rows)
    records.insert(0, "replicate", records.pop("replicate"))
    merged = {k: np.concatenate([t[k] for t in pooled]) for k in pooled[0]} if pooled else {}
    return ChunkResult(start, records, decide(records, plan), merged)
