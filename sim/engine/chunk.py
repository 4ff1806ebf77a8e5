"""Run a contiguous range of replicates: the unit of work a worker receives and a file holds."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..analyses.decide import decide
from ..analyses.plan import AnalysisPlan
from ..analyses.extract import extract, pooled_times
from ..model.trial import TrialModel, simulate_many
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
    """Simulate replicates start..stop-1, then analyse them together as one stacked table."""
    model, plan = _model(scenario_json)
    records = pd.DataFrame({"replicate": np.arange(start, stop, dtype=np.int64)})
    if stop <= start:
        return ChunkResult(start, records, decide(records, plan), {})
    table = simulate_many(model, seed, range(start, stop))
    records = pd.concat([records, pd.DataFrame(extract(table, plan))], axis=1)
    pooled = pooled_times(table, plan.continuous_pfs)
    pooled["replicate"] = start + pooled.pop("trial")
    return ChunkResult(start, records, decide(records, plan), pooled)
