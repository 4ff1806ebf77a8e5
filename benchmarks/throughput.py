"""Replicates per second of whole simulated trials, and where the time goes.

    python benchmarks/throughput.py [--replicates N] [--profile-replicates M]

Prints replicates/second for plain_binary.yaml and the default scenario at 1 and 2 workers
(the full engine: simulation, analyses, chunk files), then a cProfile summary of the default
scenario grouped by pipeline stage and its 12 most expensive functions.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from sim.engine.chunk import run_chunk
from sim.engine.runner import run_replicates
from sim.scenario.loader import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _timed_run(name: str, workers: int, replicates: int) -> float:
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml",
                       [f"monte_carlo.replicates={replicates}", f"monte_carlo.workers={workers}",
                        "monte_carlo.chunk_size=100"])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_replicates(sc, Path(tmp))
        return time.perf_counter() - t0


def throughput(name: str, workers: int, replicates: int) -> tuple[float, float]:
    """(steady replicates/s with warm workers, seconds of the first small run including worker start-up)."""
    cold = _timed_run(name, workers, 200)  # starts joblib's reusable workers (imports scipy, builds laws)
    return replicates / _timed_run(name, workers, replicates), cold


STAGES = (("sim/model", "model (SimPy processes, patient logic)"), ("simpy/", "SimPy event loop"),
          ("sim/analyses", "analyses"), ("sim/engine", "engine"), ("numpy", "numpy"), ("scipy", "scipy"))


def profile(name: str, replicates: int) -> None:
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    payload = sc.model_dump_json()
    run_chunk(payload, sc.monte_carlo.seed, 0, 5)  # warm caches (laws, rejection regions)
    prof = cProfile.Profile()
    prof.enable()
    run_chunk(payload, sc.monte_carlo.seed, 0, replicates)
    prof.disable()
    stats = pstats.Stats(prof)
    by_stage: dict[str, float] = defaultdict(float)
    total = 0.0
    for (file, _line, _fn), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        total += tottime
        stage = next((label for key, label in STAGES if key in file), "other (Python builtins, pandas)")
        by_stage[stage] += tottime
    print(f"\nprofile of {replicates} replicates of {name} (own time by stage, under cProfile):")
    for stage, t in sorted(by_stage.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:<45s} {t:7.3f} s  {100 * t / total:5.1f}%")
    print("\n  most expensive functions (own time):")
    stats.sort_stats("tottime").print_stats(12)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=2000)
    ap.add_argument("--profile-replicates", type=int, default=300)
    args = ap.parse_args()
    print(f"{'scenario':<15s}{'workers':>8s}{'replicates/s':>14s}{'first 200 (s)':>15s}")
    for name in ("plain_binary", "default"):
        for workers in (1, 2):
            rate, cold = throughput(name, workers, args.replicates)
            print(f"{name:<15s}{workers:>8d}{rate:>14.1f}{cold:>15.2f}", flush=True)
    profile("default", args.profile_replicates)


if __name__ == "__main__":
    main()
