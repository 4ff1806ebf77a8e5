"""Replicates per second of whole simulated trials, where the time goes, and what limits it.

    python benchmarks/throughput.py [--replicates N] [--profile-replicates M] [--skip-rates]

1. Replicates/second of plain_binary.yaml and the default scenario at 1 and 2 workers: the full
   engine (simulation, analyses of every design, chunk files), with warm workers.
2. One process, no profiler: milliseconds per replicate in each pipeline stage (SimPy run, the
   patient table, analyses) and the share in analyses.
3. The SimPy floor: events the model schedules per trial, times what bare SimPy costs per event
   (a process yielding timeouts): the part no change to the model's own code can remove.
4. A cProfile summary of the default scenario grouped by stage, and its most expensive functions.
"""
from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pandas as pd
import simpy

from sim.analyses.decide import decide
from sim.analyses.extract import extract, pooled_times
from sim.engine.chunk import _model, run_chunk
from sim.engine.runner import run_replicates
from sim.model.record import build_table
from sim.model.trial import Trial, draw_ahead, run_trial, treatment_courses
from sim.inputs import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def _timed_run(name: str, workers: int, replicates: int) -> float:
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml",
                       [f"monte_carlo.replicates={replicates}", f"monte_carlo.workers={workers}"])
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_replicates(sc, Path(tmp))
        return time.perf_counter() - t0


def throughput(name: str, workers: int, replicates: int, repeats: int = 3) -> tuple[float, float]:
    """(steady replicates/s with warm workers, best of ``repeats`` runs; seconds of the first small run
    including worker start-up). Best of several: this class of machine varies by +-20% minute to minute."""
    cold = _timed_run(name, workers, 200)  # starts joblib's reusable workers (imports scipy, builds laws)
    return replicates / min(_timed_run(name, workers, replicates) for _ in range(repeats)), cold


def stages(name: str, replicates: int) -> dict[str, float]:
    """Milliseconds per replicate in each stage of run_chunk (as simulate_many runs them), one
    process, best of three."""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    model, plan = _model(sc.model_dump_json())
    best: dict[str, float] = {}
    for _ in range(3):
        gc.disable()  # as simulate_many
        t0 = time.perf_counter()
        ahead = draw_ahead(model, 1, list(range(replicates)))
        t1 = time.perf_counter()
        trials = [run_trial(model, 1, i, a) for i, a in enumerate(ahead)]
        t2 = time.perf_counter()
        table = build_table(trials, treatment_courses(trials), model.t_ref, len(model.scan_cycles))
        t3 = time.perf_counter()
        del trials  # as simulate_many: the trials go before the collector runs again
        gc.enable()
        rows = pd.DataFrame(extract(table, plan))
        rows.insert(0, "replicate", range(replicates))
        pooled_times(table, plan.continuous_pfs)
        decide(rows, plan)
        t4 = time.perf_counter()
        for stage, seconds in (("draws of the first 128 patients", t1 - t0), ("SimPy run of the model", t2 - t1),
                               ("patient table", t3 - t2), ("analyses (extract, decide)", t4 - t3)):
            best[stage] = min(best.get(stage, float("inf")), 1e3 * seconds / replicates)
        del table
    return best


def simpy_floor(name: str, replicates: int) -> tuple[float, float]:
    """(events scheduled per trial, microseconds per event of bare SimPy)."""
    sc = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    model, _ = _model(sc.model_dump_json())
    events = 0
    for i in range(replicates):
        env = simpy.Environment()
        trial = Trial(model, 1, i, env)
        env.process(trial.accrue())
        env.run(until=trial.finished)
        events += next(env._eid)  # SimPy's event counter: every event ever scheduled

    def ticks(env, n):
        for _ in range(n):
            yield env.timeout(1.0)

    best = float("inf")
    for _ in range(3):
        env = simpy.Environment()
        for _ in range(50):  # about as many processes as a trial has patients under treatment
            env.process(ticks(env, 2000))
        t0 = time.perf_counter()
        env.run()
        best = min(best, (time.perf_counter() - t0) / 100_000 * 1e6)
    return events / replicates, best


STAGES = (("sim/model", "model (patient logic, draws, table)"), ("simpy/", "SimPy event loop"),
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
    ap.add_argument("--replicates", type=int, default=3000)
    ap.add_argument("--profile-replicates", type=int, default=300)
    ap.add_argument("--skip-rates", action="store_true", help="only the stage split, the floor and the profile")
    args = ap.parse_args()
    if not args.skip_rates:
        print(f"{'scenario':<15s}{'workers':>8s}{'replicates/s':>14s}{'first 200 (s)':>15s}")
        for name in ("plain_binary", "default"):
            for workers in (1, 2):
                rate, cold = throughput(name, workers, args.replicates)
                print(f"{name:<15s}{workers:>8d}{rate:>14.1f}{cold:>15.2f}", flush=True)
    for name in ("plain_binary", "default"):
        split = stages(name, 400)
        total = sum(split.values())
        print(f"\n{name}: {total:.3f} ms per replicate in one process "
              f"({1e3 / total:.0f} replicates/s before chunk files)")
        for stage, ms in split.items():
            print(f"  {stage:<32s} {ms:6.3f} ms  {100 * ms / total:5.1f}%")
        events, us = simpy_floor(name, 200)
        print(f"  SimPy floor: {events:.0f} events per trial x {us:.2f} us per bare SimPy event = "
              f"{events * us / 1e3:.3f} ms ({100 * events * us / 1e3 / total:.0f}% of the replicate)")
    profile("default", args.profile_replicates)


if __name__ == "__main__":
    main()
