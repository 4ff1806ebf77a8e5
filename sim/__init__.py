"""rechallenge-sim: a discrete-event simulator of the NCT04509635 cetuximab rechallenge trial.

Pipeline (imports run one way, checked by tests/test_architecture.py): units, arms, table, fields ->
stats -> endpoints -> designs -> scenario -> outcomes -> inputs -> model -> analyses -> summary ->
engine -> report -> this API and the cli.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["load_scenario", "run", "compare", "simulate_one"]


def load_scenario(path, overrides=()):
    """Read and validate a scenario YAML file (``overrides``: 'path.to.field=value' strings)."""
    from .inputs import load_scenario as _load

    return _load(path, overrides)


def run(scenario, out=None, report: bool = True, set=None, **monte_carlo):
    """Run a scenario (a path or a loaded Scenario); returns a RunResult with .summary (the run record),
    .metrics, .replicates and .analyses (DataFrames).

    ``set``: overrides as {"effects.rechallenge.dcr": 0.6} (or "path=value" strings); keyword arguments
    override monte_carlo settings, e.g. run("scenarios/null.yaml", replicates=500, seed=1). Every
    override is validated like the scenario file (a bad one raises ScenarioError naming it) and listed
    in the run record. report=False skips report.html and its figures (a few seconds)."""
    from .engine.run import default_out_dir, run as _run
    from .inputs import resolve

    resolved = resolve(scenario, set, origin="sim.run(set=...)")
    if monte_carlo:
        resolved = resolve(resolved, monte_carlo=monte_carlo, origin="sim.run(...)")
    from .engine.lock import hold

    out = Path(out) if out else default_out_dir(resolved.scenario)
    with hold(out):  # the run and its report: no other writer in the folder meanwhile
        result = _run(resolved, out)
        if report:
            from .report.html import run_report

            run_report(out, result.summary)
    return result


def compare(grid, out=None, report: bool = True, **monte_carlo):
    """Compare the designs of a grid file (see scenarios/grid_designs.yaml) under its scenarios.

    Returns a CompareResult: ``.table`` (tidy DataFrame: scenario, design, factor columns, metric,
    estimate, mcse, ci_low, ci_high) and ``.differences`` (each design minus the reference design,
    with paired and unpaired MCSE). Keyword arguments override monte_carlo settings of every cell."""
    from .engine.compare import compare as _compare

    result = _compare(grid, Path(out) if out else None, monte_carlo=monte_carlo or None)
    if report:
        from .report.html import compare_report

        compare_report(result)
    return result


def simulate_one(scenario, seed: int = 1, replicate: int = 0):
    """One simulated trial's patient table (a TrialTable; .patients_frame() for pandas)."""
    from .inputs import resolve
    from .model.trial import TrialModel, simulate

    return simulate(TrialModel(resolve(scenario).scenario), seed, replicate)
