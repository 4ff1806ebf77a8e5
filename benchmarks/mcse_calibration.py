"""Are the reported Monte Carlo standard errors right? Spread across seeds vs mean reported MCSE.

    python benchmarks/mcse_calibration.py [--seeds 120] [--replicates 60] [--scenario expected]

Runs the scenario with many independent seeds and prints, per metric, the standard deviation
of the estimates across seeds divided by the mean MCSE the summaries reported (1 is right;
with S seeds the ratio itself has a relative error of about 1/sqrt(2S)).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from sim.analyses.plan import AnalysisPlan
from sim.engine.chunk import run_chunk
from sim.engine.run import configured_figures
from sim.summary.summarize import summarize
from sim.inputs import load_scenario

ROOT = Path(__file__).resolve().parents[1]
METRICS = ["power", "time_to_primary_analysis_months_q10", "time_to_primary_analysis_months_q50", "dcr_observed_control", "median_pfs_true_control", "median_pfs_true_rechallenge",
           "median_pfs_observed_control", "median_pfs_observed_rechallenge", "median_os_control",
           "median_os_rechallenge", "n_screened", "accrual_months", "accrual_months_q50",
           "time_to_primary_analysis_months_q90", "dcr_difference", "rmse_dcr_difference", "log_hr_pfs",
           "power_pfs", "power_os"]


def one_seed(path: Path, seed: int, replicates: int) -> list[tuple[float, float]]:
    sc = load_scenario(path)
    r = run_chunk(sc.model_dump_json(), seed, 0, replicates)
    rows, _ = summarize(sc, r.records, r.analyses, r.pooled, configured_figures(sc))
    primary = AnalysisPlan.from_scenario(sc).labels[0]
    by_name = {x["metric"]: x for x in rows if x["design"] in (None, primary)}
    return [(by_name[m]["estimate"], by_name[m]["mcse"]) for m in METRICS]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=120)
    ap.add_argument("--replicates", type=int, default=60)
    ap.add_argument("--scenario", default="expected")
    args = ap.parse_args()
    path = ROOT / "scenarios" / f"{args.scenario}.yaml"
    res = np.array(Parallel(n_jobs=2)(delayed(one_seed)(path, s, args.replicates) for s in range(1, args.seeds + 1)),
                   dtype=float)
    print(f"{args.scenario}: {args.seeds} seeds x {args.replicates} replicates; ratio 1 +- {1 / np.sqrt(2 * args.seeds):.2f}")
    for j, name in enumerate(METRICS):
        est, se = res[:, j, 0], res[:, j, 1]
        print(f"  {name:35s} spread / mean MCSE = {np.nanstd(est, ddof=1) / np.nanmean(se):.2f}")


if __name__ == "__main__":
    main()
