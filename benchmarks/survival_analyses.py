"""Microseconds per call of the fast survival analyses against lifelines, on one trial's arrays.

    python benchmarks/survival_analyses.py [--trials N] [--lifelines-calls M]

Trials of n = 50 and 120 patients, 1:1, hazard ratio 0.7, ~30% censored (staggered entry,
administrative cut-off, dropout), event and censoring times on 56-day scan days (heavy ties).
Times are CPU time of this process (time.process_time), the best of 5 blocks' mean per call,
so that other load on the machine barely matters. Each timing cycles over N different trials;
lifelines is timed on M calls (its Cox fit takes ~20 ms), including building the DataFrame it
needs. The batched functions are reported per
trial for the N trials stacked in one call.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter
from lifelines.statistics import logrank_test

from sim.stats.survival import (
    cox_two_arm, cox_two_arm_batch, logrank, logrank_and_cox, logrank_and_cox_batch, logrank_batch,
)


def make_trial(rng: np.random.Generator, n: int):
    arm = rng.permutation(np.arange(n) % 2)
    t = rng.exponential(240.0, n) * np.where(arm == 1, 1 / 0.7, 1.0)
    entry = rng.uniform(0.0, 360.0, n)
    c = np.minimum(600.0 - entry, rng.exponential(1200.0, n))
    t, c = np.ceil(t / 56.0) * 56.0, np.ceil(c / 56.0) * 56.0
    return np.minimum(t, c), t <= c, arm


def per_call_us(function, trials, calls: int, blocks: int = 5) -> float:
    """Best over `blocks` blocks of the mean time per call (robust to other load on the machine)."""
    per_block = max(1, calls // blocks)
    best = np.inf
    for b in range(blocks):
        start = time.process_time()
        for i in range(b * per_block, (b + 1) * per_block):
            function(*trials[i % len(trials)])
        best = min(best, (time.process_time() - start) / per_block)
    return best * 1e6


def lifelines_logrank(time_, event, arm):
    g1, g0 = arm == 1, arm == 0
    return logrank_test(time_[g1], time_[g0], event[g1], event[g0])


def lifelines_cox(time_, event, arm):
    df = pd.DataFrame({"T": time_, "E": event.astype(int), "arm": arm})
    return CoxPHFitter().fit(df, "T", "E")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--lifelines-calls", type=int, default=100)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # lifelines on the odd monotone-likelihood trial
    rng = np.random.default_rng(20240601)
    print(f"{'n':>4} {'censored':>9} {'tied events':>12}  {'analysis':<34} {'ours us':>9} "
          f"{'lifelines us':>13} {'speed-up':>9}")
    for n in (50, 120):
        trials = [make_trial(rng, n) for _ in range(args.trials)]
        censored = 1.0 - np.mean([e.mean() for _, e, _ in trials])
        tied = np.mean([1.0 - len(np.unique(t[e])) / max(e.sum(), 1) for t, e, _ in trials])
        reps = max(args.trials, 10000)
        for fn in (logrank, cox_two_arm):  # warm-up
            per_call_us(fn, trials, 200)
        lr_us = per_call_us(logrank, trials, reps)
        cox_us = per_call_us(cox_two_arm, trials, reps)
        compat_us = per_call_us(lambda t, e, a: cox_two_arm(t, e, a, lifelines_compat=True), trials, reps)
        both_us = per_call_us(logrank_and_cox, trials, reps)
        ref_lr_us = per_call_us(lifelines_logrank, trials, args.lifelines_calls)
        ref_cox_us = per_call_us(lifelines_cox, trials, args.lifelines_calls)

        stacked = [np.concatenate(parts) for parts in zip(*trials)]
        labels = np.repeat(np.arange(len(trials)), n)
        batch = {}
        for name, fn in (("logrank_batch", logrank_batch), ("cox_two_arm_batch", cox_two_arm_batch),
                         ("logrank_and_cox_batch", logrank_and_cox_batch)):
            best = np.inf
            for _ in range(5):
                start = time.process_time()
                fn(*stacked, labels)
                best = min(best, time.process_time() - start)
            batch[name] = best / len(trials) * 1e6

        head = f"{n:>4} {censored:>9.0%} {tied:>12.0%}  "
        blank = " " * len(head)
        print(f"{head}{'logrank':<34} {lr_us:>9.1f} {ref_lr_us:>13.0f} {ref_lr_us / lr_us:>8.0f}x")
        print(f"{blank}{'cox_two_arm':<34} {cox_us:>9.1f} {ref_cox_us:>13.0f} {ref_cox_us / cox_us:>8.0f}x")
        print(f"{blank}{'cox_two_arm(lifelines_compat=True)':<34} {compat_us:>9.1f}")
        print(f"{blank}{'logrank_and_cox':<34} {both_us:>9.1f} {ref_lr_us + ref_cox_us:>13.0f} "
              f"{(ref_lr_us + ref_cox_us) / both_us:>8.0f}x")
        for name, us in batch.items():
            print(f"{blank}{name + ' (per trial)':<34} {us:>9.1f}")


if __name__ == "__main__":
    main()
