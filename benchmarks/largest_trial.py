"""Peak memory of the largest trials the scenario bounds allow (issue 12: bounded inputs).

    python benchmarks/largest_trial.py [--replicates 2]

Writes two scenarios that reach every bound of ``sim/scenario/schema.py`` at once and runs each as
a user does (``python -m sim run FILE --replicates N --quiet --out DIR`` under ``/usr/bin/time -v``,
one worker), printing the peak resident memory and the wall time:

* fisher: ``MAX_RANDOMIZED`` patients planned (1,000 per arm: the largest outcome-table enumeration),
  ``MAX_EXPECTED_ARRIVALS`` screening arrivals (4% pass screening, so accrual runs to max_months),
  a 600-month span and a scan every 36.7 days, so the scans a trial could record are within one a
  patient of ``MAX_SCANS_PER_TRIAL``; nobody progresses or dies for decades (median PFS and OS 600
  months), so the scans happen;
* barnard: the same with the exact unconditional test at its largest arms (``max_arm`` per arm),
  and a scan every 7.31 days so the scans still reach the bound.

Measured on a 2-core machine (2 replicates): fisher 0.59 GiB in 39-47 s, barnard 0.64 GiB in 17-23 s.
"""
from __future__ import annotations

import argparse
import copy
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from sim.fields import MAX_MONTHS
from sim.scenario.schema import MAX_EXPECTED_ARRIVALS, MAX_RANDOMIZED
from sim.stats.binary_tests import REGISTRY as TESTS

ROOT = Path(__file__).resolve().parents[1]

LARGEST = {
    "name": "largest",
    "accrual": {"target_randomized": MAX_RANDOMIZED, "max_months": 100,
                "screening_rates": [{"from_month": 0, "per_month": MAX_EXPECTED_ARRIVALS / 100}]},
    "screening": {"turnaround_days": {"distribution": "fixed", "mean": 0}, "assay_failure_prob": 0.0,
                  "ras_mutant": {"prob_at_reference": 0.0}, "assay_sensitivity": 1.0,
                  "non_molecular_failure_prob": 1 - MAX_RANDOMIZED / MAX_EXPECTED_ARRIVALS,
                  "death_while_waiting_per_month": 0.0},
    "randomization": {"ratio": [1, 1], "block_size": 2},
    "treatment": {"backbones": [{"name": "weekly", "share": 1.0, "cycle_days": 7}], "delay": {"prob_per_cycle": 0.0},
                  "discontinuation_toxicity_prob_per_cycle": 0.0, "withdrawal_prob_per_cycle": 0.0},
    "imaging": {"scan_after_cycles": [1], "follow_up_interval_days": 36.7, "clinical_detection_prob": 0.0},
    "effects": {"reference_assessment_day": 7, **{arm: {"dcr": 0.9999, "orr": 0.1, "median_pfs_true_months": 600,
                                                        "median_os_months": 600, "death_as_first_event_prob": 1.0}
                                                  for arm in ("control", "rechallenge")}},
    "analysis": {"test": "fisher", "dcr_horizon_cycles": 1, "follow_up_cutoff_months": MAX_MONTHS - 100},
    "monte_carlo": {"workers": 1, "chunk_size": 10},  # a chunk of such trials is bounded too
}


def scenarios() -> dict[str, dict]:
    barnard = copy.deepcopy(LARGEST)
    most = TESTS["barnard"].max_arm
    barnard["accrual"]["target_randomized"] = 2 * most
    barnard["screening"]["non_molecular_failure_prob"] = 1 - 2 * most / MAX_EXPECTED_ARRIVALS
    barnard["imaging"]["follow_up_interval_days"] = 7.31
    barnard["analysis"]["test"] = "barnard"
    return {"fisher": LARGEST, "barnard": barnard}


def measure(path: Path, out: Path, replicates: int) -> tuple[float, str]:
    """(peak resident GiB, wall time) of ``python -m sim run`` under /usr/bin/time -v."""
    proc = subprocess.run(["/usr/bin/time", "-v", sys.executable, "-m", "sim", "run", str(path), "--replicates",
                           str(replicates), "--quiet", "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if proc.returncode:
        raise SystemExit(proc.stderr)
    kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)[1])
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", proc.stderr)[1]
    return kb / 1024**2, wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for name, scenario in scenarios().items():
            path = Path(tmp) / f"{name}.yaml"
            path.write_text(yaml.safe_dump(scenario, sort_keys=False), encoding="utf-8")
            gb, wall = measure(path, Path(tmp) / f"out-{name}", args.replicates)
            print(f"{name}: peak {gb:.2f} GiB, {wall} for {args.replicates} replicates")


if __name__ == "__main__":
    main()
