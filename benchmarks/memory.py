"""Peak memory of a whole run, for the process tree, against the number of replicates.

    python benchmarks/memory.py                       # 20k, 50k, 200k replicates of the default scenario
    python benchmarks/memory.py --replicates 1000000  # one size

Each size runs ``python -m sim run scenarios/default.yaml --replicates R --quiet`` in its own session
and samples every process of that session every 0.2 s: the peak of the summed resident set (RSS)
and of the summed proportional set (PSS, which counts pages shared between the parent and its
workers once; it is the honest total). ``/usr/bin/time -v`` reports only the largest single
process, not the tree, so it is printed beside them when available. The slope between sizes is
the memory per replicate: a run whose memory does not grow with the replicates has a slope near 0.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _session(sid: int) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.getsid(int(p.name)) == sid:
                    pids.append(int(p.name))
            except (ProcessLookupError, PermissionError):
                pass
    return pids


def _kib(pid: int, field: str, file: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{file}").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def measure(replicates: int, workers: int, scenario: str) -> dict:
    out = Path(tempfile.mkdtemp(prefix="memory-")) / "run"
    cmd = [sys.executable, "-m", "sim", "run", scenario, "--replicates", str(replicates), "--workers", str(workers),
           "--out", str(out), "--quiet"]
    timer = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    log = out.parent / "time.txt"
    if timer:
        cmd = [timer, "-v", "-o", str(log), *cmd]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    peak_rss = peak_pss = 0
    while proc.poll() is None:
        pids = _session(proc.pid)
        peak_rss = max(peak_rss, sum(_kib(p, "VmRSS", "status") for p in pids))
        peak_pss = max(peak_pss, sum(_kib(p, "Pss", "smaps_rollup") for p in pids))
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"run failed ({proc.returncode}): {err[-2000:]}")
    single = None
    if timer and log.exists():
        for line in log.read_text().splitlines():
            if "Maximum resident set size" in line:
                single = int(line.split(":")[1]) / 1024
    shutil.rmtree(out.parent, ignore_errors=True)
    return {"replicates": replicates, "seconds": seconds, "tree_rss_mib": peak_rss / 1024,
            "tree_pss_mib": peak_pss / 1024, "largest_process_mib": single}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--replicates", type=int, nargs="+", default=[20_000, 50_000, 200_000])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--scenario", default="scenarios/default.yaml")
    args = p.parse_args()
    rows = []
    print(f"{'replicates':>10} {'seconds':>8} {'tree RSS MiB':>13} {'tree PSS MiB':>13} {'largest process MiB':>20}")
    for r in args.replicates:
        row = measure(r, args.workers, args.scenario)
        rows.append(row)
        single = f"{row['largest_process_mib']:.0f}" if row["largest_process_mib"] else "n/a"
        print(f"{r:>10} {row['seconds']:>8.0f} {row['tree_rss_mib']:>13.0f} {row['tree_pss_mib']:>13.0f} {single:>20}",
              flush=True)
    for a, b in zip(rows, rows[1:]):
        slope = (b["tree_pss_mib"] - a["tree_pss_mib"]) * 1024 * 1024 / (b["replicates"] - a["replicates"])
        print(f"slope {a['replicates']} -> {b['replicates']}: {slope:.1f} bytes of tree PSS per replicate")


if __name__ == "__main__":
    main()
