"""rechallenge-sim: a discrete-event simulator of the NCT04509635 cetuximab rechallenge trial.

Pipeline: scenario (schema, loading) -> model (SimPy processes) -> outcomes (outcome laws)
-> analyses (pure functions of one trial's patient table) -> engine (replicates, workers,
chunks, summaries) -> report -> cli.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["load_scenario", "run", "compare", "simulate_one"]


def load_scenario(path, overrides=()):
    """Read and validate a scenario YAML file (``overrides``: 'path.to.field=value' strings)."""
    from .scenario.loader import load_scenario as _load

    return _load(path, overrides)


def run(scenario, out=None, report: bool = True, **monte_carlo):
    """Run a scenario (a path or a loaded Scenario); returns a RunResult with .summary,
    .metrics, .replicates and .analyses (DataFrames). Keyword arguments override
    monte_carlo settings, e.g. run("scenarios/null.yaml", replicates=500, seed=1);
    report=False skips report.html and its figures (a few seconds)."""
    from .engine.run import default_out_dir, run as _run

    source = None
    if not hasattr(scenario, "monte_carlo"):
        source = Path(scenario)
        scenario = load_scenario(scenario, [f"monte_carlo.{k}={v}" for k, v in monte_carlo.items()])
    elif monte_carlo:
        scenario = scenario.model_copy(update={"monte_carlo": scenario.monte_carlo.model_copy(update=monte_carlo)})
    return _run(scenario, Path(out) if out else default_out_dir(scenario), source=source, report=report)


def compare(grid, out=None, **monte_carlo):
    """Compare the designs of a grid file (see scenarios/grid_designs.yaml) under its scenarios.

    Returns a CompareResult: ``.table`` (tidy DataFrame: scenario, design, factor columns, metric,
    estimate, mcse, ci_low, ci_high) and ``.differences`` (each design minus the reference design,
    with paired and unpaired MCSE). Keyword arguments override monte_carlo settings of every cell."""
    from .engine.compare import compare as _compare

    return _compare(grid, Path(out) if out else None, monte_carlo=monte_carlo or None)


def simulate_one(scenario, seed: int = 1, replicate: int = 0):
    """One simulated trial's patient table (a TrialTable; .patients_frame() for pandas)."""
    from .model.trial import TrialModel, simulate

    if not hasattr(scenario, "monte_carlo"):
        scenario = load_scenario(scenario)
    return simulate(TrialModel(scenario), seed, replicate)
