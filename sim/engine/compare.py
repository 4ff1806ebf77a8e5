"""Compare designs side by side: every cell of a grid simulated with the same seed, then one tidy table.

results/<compare>/
  cells/<j>/          one run per simulation cell (scenario x simulation factors), as ``run`` writes it
  compare.parquet     tidy: scenario, design, factor columns, metric, estimate, mcse, ci_low, ci_high
  differences.parquet each design against the reference design (the grid's first) in each scenario:
                      difference, paired MCSE (same replicates) and unpaired MCSE
  compare.json        the grid, its cells, seed, versions, timing

Pairing: replicate i of every cell uses the same per-patient random streams, so designs differ on
the same trials; the paired MCSE is sd(x_d - x_ref)/sqrt(R) over replicates, the unpaired one
sqrt(se_d^2 + se_ref^2) as if the designs had been simulated independently.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from ..errors import UserError
from ..inputs import Resolved, resolve
from ..inputs.grid import Cell, Grid, design_label, load_grid
from .run import RunResult, Target, finish, prepare, run, versions
from .runner import run_cells, write_json

#: per-replicate columns of analyses.parquet compared between designs, and their metric names
PAIRED = (("reject", "power"), ("n_screened", "n_screened"), ("n_randomized", "n_randomized"),
          ("duration_months", "time_to_primary_analysis_months"))


@dataclass
class CompareResult:
    out: Path
    grid: Grid
    cells: list[Cell]
    table: pd.DataFrame         # tidy operating characteristics per scenario x design
    differences: pd.DataFrame   # each design minus the reference design, paired and unpaired MCSE
    runs: list[RunResult]


def _factor_columns(cells: list[Cell]) -> list[str]:
    return list(cells[0].designs[0]) if cells and cells[0].designs else []


def _tidy(cells: list[Cell], runs: list[RunResult]) -> pd.DataFrame:
    factors = _factor_columns(cells)
    rows = []
    for j, (cell, r) in enumerate(zip(cells, runs)):
        labels = [d["label"] for d in r.summary["designs"]]
        for m in r.summary["metrics"]:
            if m["design"] is None:
                continue
            i = labels.index(m["design"])
            f = cell.designs[i]
            rows.append({"scenario": cell.scenario_name, "sweep_value": cell.sweep_value, "cell": j,
                         "design": design_label(f), **{k: _cell_value(f[k]) for k in factors},
                         "replicates": r.summary["replicates"], **{k: m[k] for k in (
                             "metric", "estimate", "mcse", "ci_low", "ci_high")}})
    return pd.DataFrame(rows)


def _cell_value(v):
    """Factor values as table cells (a mapping of fields becomes its text)."""
    return ", ".join(f"{k}={x}" for k, x in v.items()) if isinstance(v, dict) else v


def _differences(cells: list[Cell], runs: list[RunResult]) -> pd.DataFrame:
    rows = []
    by_scenario: dict[str, list[tuple[int, int]]] = {}
    for j, cell in enumerate(cells):
        if not runs[j].summary["replicates"]:  # a comparison interrupted before this cell ran
            continue
        for i in range(len(cell.designs)):
            by_scenario.setdefault(cell.scenario_name, []).append((j, i))
    for scenario, members in by_scenario.items():
        (jr, ir), others = members[0], members[1:]
        ref = runs[jr].analyses
        ref = ref[ref["design"] == ir].set_index("replicate")
        null = any(m["metric"] == "type_I_error" for m in runs[jr].summary["metrics"])
        for j, i in others:
            a = runs[j].analyses
            a = a[a["design"] == i].set_index("replicate")
            common = ref.index.intersection(a.index)
            R = len(common)
            if R < 2:
                continue
            for column, metric in PAIRED:
                x = a.loc[common, column].to_numpy(dtype=float)
                y = ref.loc[common, column].to_numpy(dtype=float)
                ok = np.isfinite(x) & np.isfinite(y)
                x, y = x[ok], y[ok]
                n = len(x)
                if n < 2:
                    continue
                d = x - y
                name = "type_I_error" if metric == "power" and null else metric
                rows.append({
                    "scenario": scenario, "design": design_label(cells[j].designs[i]),
                    "reference": design_label(cells[jr].designs[ir]), "metric": name,
                    "difference": float(d.mean()), "mcse_paired": float(d.std(ddof=1) / math.sqrt(n)),
                    "mcse_unpaired": float(math.sqrt(x.var(ddof=1) / n + y.var(ddof=1) / n)),
                    "replicates": n,
                })
    return pd.DataFrame(rows)


def _summarize_cells(cells: list[Cell], folders: list[Path], elapsed: float, interrupted: bool) -> list[RunResult]:
    """Each cell's summary (reading its chunk files), in parallel on this machine: the summaries are
    the serial tail of a comparison once the chunks are in."""
    jobs = min(len(cells), cells[0].scenario.monte_carlo.workers, os.cpu_count() or 1) if cells else 1
    tasks = (delayed(finish)(_resolved(c), f, elapsed, interrupted) for c, f in zip(cells, folders))
    if jobs <= 1:
        return [task[0](*task[1], **task[2]) for task in tasks]
    return list(Parallel(n_jobs=jobs)(tasks))


def _resolved(cell: Cell) -> Resolved:
    """A cell's scenario with the overrides the grid applied to its file (for its run record)."""
    return Resolved(cell.scenario, overrides=cell.overrides)


def compare(grid_path: str | Path, out: Path | None = None, progress=None, target: Target | None = None,
            monte_carlo: dict | None = None) -> CompareResult:
    """Run every cell of the grid into ``out``/cells and write the comparison tables (no report)."""
    grid, cells = load_grid(grid_path)
    if monte_carlo:  # validated like any override (the same path as --set)
        cells = [Cell(c.scenario_name, c.sweep_value, c.simulation_factors, r.scenario, c.designs, r.overrides)
                 for c in cells for r in [resolve(_resolved(c), monte_carlo=monte_carlo, origin="compare option")]]
    if out is None:
        import datetime as dt
        out = Path("results") / f"compare-{grid.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise UserError(f"{out}: folder is not empty; choose a new folder so that comparisons do not mix")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    runs = []
    folders = [out / "cells" / f"{j:03d}" for j in range(len(cells))]
    if target is None:
        # Every cell's chunks in one pool of tasks (design x scenario x chunk), then each cell's summary.
        for cell, folder in zip(cells, folders):
            prepare(_resolved(cell), folder)
        interrupted, elapsed = run_cells([(c.scenario, f) for c, f in zip(cells, folders)], progress)
        # One report for the comparison, not one per cell (each cell's summary.json has everything).
        runs = _summarize_cells(cells, folders, elapsed, interrupted)
    else:
        for cell, folder in zip(cells, folders):
            r = run(_resolved(cell), folder, progress, target)
            runs.append(r)
            if r.summary["interrupted"]:
                break
    cells = cells[: len(runs)]
    table, differences = _tidy(cells, runs), _differences(cells, runs)
    table.to_parquet(out / "compare.parquet", index=False)
    differences.to_parquet(out / "differences.parquet", index=False)
    write_json(out / "compare.json", {
        "grid": grid.model_dump(mode="json"), "grid_file": str(grid_path),
        "cells": [{"cell": j, "scenario": c.scenario_name, "simulation_factors": c.simulation_factors,
                   "designs": [design_label(d) for d in c.designs], "folder": f"cells/{j:03d}",
                   "replicates": runs[j].summary["replicates"]} for j, c in enumerate(cells)],
        "seed": cells[0].scenario.monte_carlo.seed if cells else None,
        "interrupted": any(r.summary["interrupted"] for r in runs),
        "elapsed_s": round(time.perf_counter() - t0, 3), "versions": versions(),
    })
    return CompareResult(out, grid, cells, table, differences, runs)
