"""Compare designs side by side: every cell of a grid simulated with the same seed, then one tidy table.

results/<compare>/
  cells/<j>/          one run per simulation cell (scenario x simulation factors), as ``run`` writes it
  compare.parquet     tidy: scenario, design, factor columns, metric, estimate, mcse, ci_low, ci_high
  differences.parquet each design against the reference design (the grid's first) in each scenario:
                      difference, paired MCSE (same replicates) and unpaired MCSE
  compare.json        the grid, its cells, seed, versions, timing
  compare.checkpoint.json  the grid file, each cell's run identity, seed and version (sealed), which
                      ``compare --resume`` checks before it keeps the finished chunks and runs the rest
  .lock               held by the comparison while it runs (see engine/lock.py)

Pairing: replicate i of every cell uses the same per-patient random streams, so designs differ on
the same trials; the paired MCSE is sd(x_d - x_ref)/sqrt(R) over replicates, the unpaired one
sqrt(se_d^2 + se_ref^2) as if the designs had been simulated independently.
"""
from __future__ import annotations

import json
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
from ..scenario.loader import ScenarioError, read_input
from . import store
from .checkpoint import CHECKPOINT, differences, read_sealed, run_id, seal, shared, versions
from .lock import hold
from .run import RunResult, Target, finish, prepare, run
from .runner import run_cells

COMPARE_CHECKPOINT = "compare.checkpoint.json"

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
        ref = _paired(runs[jr], ir)
        null = any(m["metric"] == "type_I_error" for m in runs[jr].summary["metrics"])
        for j, i in others:
            a = _paired(runs[j], i)
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


def _paired(r: RunResult, design: int) -> pd.DataFrame:
    """The paired columns of one design's rows of a cell's analyses table, by replicate (only these
    columns are read: the table of a large run does not fit in memory whole)."""
    columns = ["replicate", *dict.fromkeys(c for c, _ in PAIRED)]
    frame = pd.read_parquet(r.out / "analyses.parquet", columns=columns, filters=[("design", "==", design)])
    return frame.set_index("replicate")


def _summarize_cells(cells: list[Cell], folders: list[Path], elapsed: float, interrupted: bool,
                     recomputed: list[list[str]]) -> list[RunResult]:
    """Each cell's summary (reading its chunk files), in parallel on this machine: the summaries are
    the serial tail of a comparison once the chunks are in."""
    jobs = min(len(cells), cells[0].scenario.monte_carlo.workers, os.cpu_count() or 1) if cells else 1
    tasks = (delayed(finish)(_resolved(c), f, elapsed, interrupted, p) for c, f, p in zip(cells, folders, recomputed))
    if jobs <= 1:
        return [task[0](*task[1], **task[2]) for task in tasks]
    return list(Parallel(n_jobs=jobs)(tasks))


def _resolved(cell: Cell) -> Resolved:
    """A cell's scenario with the overrides the grid applied to its file (for its run record)."""
    return Resolved(cell.scenario, overrides=cell.overrides)


def _checkpoint(grid_path: Path, cells: list[Cell]) -> dict:
    """What a resumed comparison must share with the one it continues: each cell's run (scenario,
    seed, version) and designs, in order."""
    return {"grid_file": str(Path(grid_path).resolve()), "version": versions()["rechallenge-sim"],
            "cells": [{"scenario": c.scenario_name, "designs": [design_label(d) for d in c.designs],
                       "run": run_id(c.scenario), "shared": shared(c.scenario)} for c in cells]}


def _check_resume(out: Path, now: dict) -> None:
    """Refuse to resume ``out`` with another grid, seed or version, naming what differs."""
    saved = read_sealed(out, out / COMPARE_CHECKPOINT, "comparison checkpoint", "it is not a comparison folder",
                        "start a new comparison")
    if saved.get("version") != now["version"]:
        raise UserError(f"--resume {out}: the package version differs from the checkpoint's "
                        f"({saved.get('version')!r} there, {now['version']!r} now); start a new comparison")
    before, after = saved.get("cells", []), now["cells"]
    if len(before) != len(after):
        raise UserError(f"--resume {out}: the grid has {len(after)} simulation cells now, {len(before)} in the "
                        f"checkpoint; resume with the same grid, or start a new comparison")
    for j, (b, a) in enumerate(zip(before, after)):
        seeds = a["shared"]["seed"], (b.get("shared") or {}).get("seed")
        if seeds[0] != seeds[1]:
            raise UserError(f"--resume {out}: the seed differs from the checkpoint's ({seeds[1]!r} there, "
                            f"{seeds[0]!r} now); resume with the same seed, or start a new comparison")
        diff = differences({"scenario": a["scenario"], "designs": a["designs"], **a["shared"]["scenario"]},
                            {"scenario": b.get("scenario"), "designs": b.get("designs"),
                             **(b.get("shared") or {}).get("scenario", {})})
        if diff:
            raise UserError(f"--resume {out}: cell {j} ({a['scenario']}) differs from the checkpoint's: "
                            + "; ".join(diff[:5]) + ("; ..." if len(diff) > 5 else ""))


def compare(grid_path: str | Path | None, out: Path | None = None, progress=None, target: Target | None = None,
            monte_carlo: dict | None = None, resume: bool = False) -> CompareResult:
    """Run every cell of the grid into ``out``/cells and write the comparison tables (no report).

    ``resume``: continue the comparison in ``out`` (``grid_path`` None: the grid file it recorded):
    the grid, seed and version must be the ones it started with; every cell keeps its checked chunks
    and runs the rest, and the tables are those of an uninterrupted comparison."""
    if resume:
        if out is None:
            raise UserError("compare --resume needs the comparison's folder")
        out = Path(out)
        if grid_path is None:
            grid_path = _recorded_grid(out)
    grid, cells = load_grid(grid_path)
    if monte_carlo:  # validated like any override (the same path as --set)
        cells = [Cell(c.scenario_name, c.sweep_value, c.simulation_factors, r.scenario, c.designs, r.overrides)
                 for c in cells for r in [resolve(_resolved(c), monte_carlo=monte_carlo, origin="compare option")]]
    out = Path(out) if out is not None else default_out(grid_path, grid)
    with hold(out, "comparison"):
        return _compare(grid_path, grid, cells, out, progress, target, resume)


def default_out(grid_path: str | Path, grid: Grid | None = None, root: Path = Path("results")) -> Path:
    import datetime as dt

    grid = grid if grid is not None else load_grid(grid_path)[0]
    return root / f"compare-{grid.name}-{dt.datetime.now():%Y%m%d-%H%M%S}"


def _recorded_grid(out: Path) -> Path:
    try:
        saved = json.loads(read_input(out / COMPARE_CHECKPOINT, "comparison checkpoint").decode("utf-8"))
        return Path(saved["grid_file"])
    except (ScenarioError, ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise UserError(f"--resume {out}: no readable {COMPARE_CHECKPOINT} there; it is not a comparison folder "
                        f"(or name the grid file: rechallenge-sim compare GRID --resume {out})") from None


def _compare(grid_path, grid: Grid, cells: list[Cell], out: Path, progress, target, resume: bool) -> CompareResult:
    now = _checkpoint(grid_path, cells)
    if resume:
        _check_resume(out, now)
        store.sweep_temporary(out)
    elif any(p.name != ".lock" for p in out.iterdir()):
        raise UserError(f"{out}: folder is not empty; choose a new folder so that comparisons do not mix "
                        f"(or --resume {out} to continue the comparison in it)")
    else:
        store.write_json(out / COMPARE_CHECKPOINT, seal(now))
    t0 = time.perf_counter()
    runs = []
    folders = [out / "cells" / f"{j:03d}" for j in range(len(cells))]
    if target is None:
        # Every cell's chunks in one pool of tasks (design x scenario x chunk), then each cell's summary.
        # The comparison's lock covers its cells (one lock per cell could exceed the open-file limit).
        recomputed = []
        for cell, folder in zip(cells, folders):
            folder.mkdir(parents=True, exist_ok=True)
            again = resume and (folder / CHECKPOINT).exists()
            if resume and not again:  # killed while the cells were being prepared
                _clear(folder)
            recomputed.append(prepare(_resolved(cell), folder, again))
        interrupted, elapsed = run_cells([(c.scenario, f) for c, f in zip(cells, folders)], progress)
        # One report for the comparison, not one per cell (each cell's summary.json has everything).
        runs = _summarize_cells(cells, folders, elapsed, interrupted, recomputed)
    else:
        for cell, folder in zip(cells, folders):
            again = resume and (folder / CHECKPOINT).exists()
            if resume and not again and folder.exists():
                _clear(folder)
            r = run(_resolved(cell), folder, progress, target, resume=again)
            runs.append(r)
            if r.summary["interrupted"]:
                break
    cells = cells[: len(runs)]
    table, differences = _tidy(cells, runs), _differences(cells, runs)
    for name, frame in (("compare", table), ("differences", differences)):
        with store.atomic_path(out / f"{name}.parquet") as tmp:
            frame.to_parquet(tmp, index=False)
    store.write_json(out / "compare.json", {
        "grid": grid.model_dump(mode="json"), "grid_file": str(grid_path),
        "cells": [{"cell": j, "scenario": c.scenario_name, "simulation_factors": c.simulation_factors,
                   "designs": [design_label(d) for d in c.designs], "folder": f"cells/{j:03d}",
                   "replicates": runs[j].summary["replicates"]} for j, c in enumerate(cells)],
        "seed": cells[0].scenario.monte_carlo.seed if cells else None,
        "interrupted": any(r.summary["interrupted"] for r in runs),
        "resumed": resume,
        "elapsed_s": round(time.perf_counter() - t0, 3), "versions": versions(),
    })
    return CompareResult(out, grid, cells, table, differences, runs)


def _clear(folder: Path) -> None:
    """Empty a cell folder that a killed comparison left before its checkpoint was written."""
    for p in sorted(folder.rglob("*"), reverse=True):
        if p.name == ".lock":
            continue
        p.unlink() if p.is_file() or p.is_symlink() else p.rmdir()
