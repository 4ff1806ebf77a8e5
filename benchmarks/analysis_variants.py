"""What an extra analysis variant costs: one design vs ten on the same simulated trials.

    python benchmarks/analysis_variants.py [--replicates N] [--repeats K]

Runs the default scenario's chunk function (simulation, extraction, decisions) with its one
design, then with nine variants added (tests, levels, sidedness, DCR definitions, population),
after a warm-up that builds the cached rejection regions. Prints seconds per 1,000 replicates
(best of K repeats, to damp noise from other processes) and the relative overhead.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from sim.engine.chunk import run_chunk
from sim.inputs import load_scenario

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = [
    {"test": "chisq"}, {"test": "chisq_cc"}, {"test": "boschloo"}, {"test": "barnard"},
    {"test": "bayes"}, {"sided": "two", "alpha": 0.05}, {"alpha": 0.025},
    {"dcr_definition": "controlled"}, {"population": "evaluable"},
]


def seconds(payload: str, replicates: int, repeats: int) -> float:
    run_chunk(payload, 1, 0, 20)  # warm: laws, plan, rejection regions
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_chunk(payload, 1, 0, replicates)
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    path = ROOT / "scenarios" / "default.yaml"
    one = load_scenario(path, ["analysis.variants=[]"]).model_dump_json()  # the primary design alone
    ten = load_scenario(path, ["analysis.variants=" + json.dumps(VARIANTS)]).model_dump_json()
    t1 = seconds(one, args.replicates, args.repeats)
    t10 = seconds(ten, args.replicates, args.repeats)
    scale = 1000 / args.replicates
    print(f"default scenario, {args.replicates} replicates, 1 worker, best of {args.repeats}")
    print(f"  1 design   {t1 * scale:7.3f} s per 1,000 replicates")
    print(f"  10 designs {t10 * scale:7.3f} s per 1,000 replicates")
    print(f"  overhead of 9 extra variants: {100 * (t10 / t1 - 1):.1f}%")


if __name__ == "__main__":
    main()
