"""A whole Monte Carlo run: resolve the scenario, run the replicates, write the output contract.

results/<run>/
  scenario.resolved.yaml  the scenario with every default filled in
  chunks/                 finished chunks (kept if the run is interrupted)
  replicates.parquet      one row per replicate
  summary.json            seed, replicates, scenario, versions, elapsed_s, metrics, notes
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import platform
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..outcomes.laws import arm_laws
from ..scenario.loader import to_yaml
from ..scenario.schema import Scenario
from .runner import read_chunks, run_replicates, write_json
from .summarize import summarize

PACKAGES = ("rechallenge-sim", "simpy", "numpy", "scipy", "pandas", "pydantic", "joblib", "pyarrow", "lifelines")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def default_out_dir(scenario: Scenario, root: Path = Path("results")) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario.name).strip("-") or "run"
    return root / f"{slug}-{stamp}"


@dataclass
class RunResult:
    out: Path
    summary: dict
    replicates: pd.DataFrame

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.DataFrame(self.summary["metrics"])


def run(scenario: Scenario, out: Path, progress=None) -> RunResult:
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.resolved.yaml").write_text(to_yaml(scenario))
    interrupted, elapsed = run_replicates(scenario, out, progress)
    return finish(scenario, out, elapsed, interrupted)


def finish(scenario: Scenario, out: Path, elapsed: float, interrupted: bool) -> RunResult:
    """Summarize whatever chunks are on disk (all of them, or those an interruption left)."""
    records, pooled = read_chunks(out)
    if len(records):
        records = records.sort_values("replicate", ignore_index=True)
    records.to_parquet(out / "replicates.parquet", index=False)
    configured = configured_figures(scenario)
    rows, notes = summarize(scenario, records, pooled, configured)
    summary = {
        "scenario_name": scenario.name,
        "seed": scenario.monte_carlo.seed,
        "replicates": int(len(records)),
        "replicates_requested": scenario.monte_carlo.replicates,
        "interrupted": interrupted,
        "workers": scenario.monte_carlo.workers,
        "elapsed_s": round(elapsed, 3),
        "versions": versions(),
        "scenario": scenario.model_dump(mode="json"),
        "configured": configured,
        "metrics": rows,
        "notes": notes,
    }
    write_json(out / "summary.json", summary)
    return RunResult(out, summary, records)


def configured_figures(scenario: Scenario) -> dict[str, float]:
    """What the scenario says each validated metric should be (for the table and the tests)."""
    laws, _ = arm_laws(scenario)
    out = {}
    for code, name in ((1, "rechallenge"), (0, "control")):
        implied = laws[code].implied()
        out[f"dcr_{name}"] = implied["dcr"]
        out[f"orr_{name}"] = implied["orr"]
        out[f"median_pfs_true_{name}"] = implied["median_pfs_true_months"]
        out[f"median_os_{name}"] = implied["median_os_months"]
    return out
