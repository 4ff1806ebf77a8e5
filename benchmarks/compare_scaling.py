"""Scaling of a compare sweep from 1 to 2 workers, on the local (joblib) and dask backends.

    python benchmarks/compare_scaling.py [--grid scenarios/grid_designs.yaml] [--replicates N]
                                         [--backends local dask]

Runs the whole comparison (every cell's chunks as one pool of design x scenario x chunk tasks,
summaries, tables; not the HTML report) with 1 and then 2 workers and prints the wall time,
the speed-up T1/T2 and the efficiency T1/(2 T2). Worker start-up (loky processes, or a dask
LocalCluster) is included: it is part of what a user waits for. Also checks that both runs give
the same comparison table.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from unittest import mock

import pandas as pd

from sim.engine import compare as compare_module

ROOT = Path(__file__).resolve().parents[1]


def timed(grid: Path, replicates: int, workers: int, backend: str) -> tuple[float, pd.DataFrame]:
    with tempfile.TemporaryDirectory() as tmp, mock.patch("sim.report.html.compare_report"):
        t0 = time.perf_counter()
        result = compare_module.compare(grid, Path(tmp) / "out", monte_carlo={
            "replicates": replicates, "workers": workers, "backend": backend})
        return time.perf_counter() - t0, result.table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", type=Path, default=ROOT / "scenarios" / "grid_designs.yaml")
    ap.add_argument("--replicates", type=int, default=1000, help="replicates per cell")
    ap.add_argument("--backends", nargs="+", default=["local", "dask"])
    args = ap.parse_args()
    print(f"{args.grid.name}, {args.replicates} replicates per cell")
    print(f"{'backend':<8s}{'1 worker (s)':>14s}{'2 workers (s)':>15s}{'speed-up':>10s}{'efficiency':>12s}  same table")
    for backend in args.backends:
        t1, table1 = timed(args.grid, args.replicates, 1, backend)
        t2, table2 = timed(args.grid, args.replicates, 2, backend)
        same = table1.equals(table2)
        print(f"{backend:<8s}{t1:>14.1f}{t2:>15.1f}{t1 / t2:>10.2f}{t1 / (2 * t2):>12.2f}  {same}", flush=True)


if __name__ == "__main__":
    main()
