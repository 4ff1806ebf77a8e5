"""A whole Monte Carlo run: run the replicates of a resolved scenario and return its run record.

The run record (``RunResult.summary``, written as summary.json) is everything a report, the console
or the API shows: the resolved scenario, the overrides as given, the assumptions with their sources,
seed, versions, timings, warnings, the designs with their labels, and the metric rows. The engine
writes no report (``sim.report`` renders one from the record).

results/<run>/
  .lock                   held by the run while it lives (engine/lock.py): one writer per folder
  checkpoint.json         scenario, seed, package version and the scenario copies' digests, sealed by its
                          own SHA-256 (engine/checkpoint.py), checked by --resume
  scenario.resolved.yaml  the scenario with every default filled in
  scenario.source.yaml    the scenario file as written (its comments are the assumptions' sources)
  chunks/                 finished chunks, each with its SHA-256 manifest (engine/store.py); kept if the
                          run is interrupted, checked on every read
  replicates.parquet      one row per replicate: what each simulated trial yielded (extract.py)
  analyses.parquet        one row per replicate and design: its decisions (decide.py)
  summary.json            the run record: scenario, overrides, assumptions, seed, versions, timings,
                          warnings, designs, metrics
"""
from __future__ import annotations

import datetime as dt
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..analyses.plan import AnalysisPlan
from ..errors import UserError
from ..inputs import Resolved
from ..scenario.describe import assumptions
from ..scenario.loader import to_yaml
from ..scenario.schema import Scenario
from ..summary.summarize import configured_figures
from . import store
from .checkpoint import SCENARIO_COPIES, check_resume, read_checkpoint, run_id, versions, write_checkpoint
from .lock import hold
from .outputs import summarize_chunks
from .runner import chunk_ranges, run_replicates

def default_out_dir(scenario: Scenario, root: Path = Path("results")) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario.name).strip("-") or "run"
    return root / f"{slug}-{stamp}"


@dataclass
class RunResult:
    """A finished run: its folder and run record. The per-trial tables are read from the folder when
    first asked for (at a million replicates they are larger than the rest of the run together)."""

    out: Path
    summary: dict
    _tables: dict = field(default_factory=dict, repr=False)

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.DataFrame(self.summary["metrics"])

    @property
    def replicates(self) -> pd.DataFrame:
        """One row per simulated trial (replicates.parquet)."""
        return self._table("replicates")

    @property
    def analyses(self) -> pd.DataFrame:
        """One row per (replicate, design): its decisions (analyses.parquet)."""
        return self._table("analyses")

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            self._tables[name] = pd.read_parquet(self.out / f"{name}.parquet")
        return self._tables[name]


@dataclass(frozen=True)
class Target:
    """Run until the MCSE of ``metric`` is at most ``mcse`` for every design (monte_carlo.replicates caps it)."""

    mcse: float
    metric: str = "power"


def run(resolved: Resolved | Scenario, out: Path, progress=None, target: Target | None = None,
        resume: bool = False) -> RunResult:
    """Run the replicates into ``out`` and summarize them into the run record, holding the folder's lock.

    ``resume``: continue a run killed at any point: every chunk on disk is checked against its
    manifest (damaged ones are named in the record's warnings and recomputed), the missing ones are
    run, and the summary is that of an uninterrupted run."""
    resolved = resolved if isinstance(resolved, Resolved) else Resolved(resolved)
    scenario = resolved.scenario
    with hold(out):
        recomputed = prepare(resolved, out, resume)
        if target is None:
            interrupted, elapsed = run_replicates(scenario, out, progress)
            return finish(resolved, out, elapsed, interrupted, recomputed)
        return _run_to_target(resolved, out, progress, target, recomputed)


def prepare(resolved: Resolved, out: Path, resume: bool = False) -> list[str]:
    """The run folder before any chunk: checkpoint (or its check and the chunks' audit, to resume), the
    resolved scenario and the source file as written (its comments carry the sources of the assumptions).
    Returns what the audit found damaged (and removed, to be recomputed). Call it holding the lock."""
    scenario = resolved.scenario
    problems: list[str] = []
    copies = {"scenario.resolved.yaml": to_yaml(scenario).encode("utf-8")}
    if resume:
        saved = read_checkpoint(out)
        check_resume(scenario, out, saved)
        store.sweep_temporary(out)
        expected = dict(chunk_ranges(scenario.monte_carlo.replicates, scenario.monte_carlo.chunk_size))
        _, problems = store.audit_chunks(out, run_id(scenario), expected)
        if resolved.source_text is None and "scenario.source.yaml" in saved.get("files", {}):
            copies["scenario.source.yaml"] = (out / "scenario.source.yaml").read_bytes()  # checked: it is as written
    elif any(p.name != ".lock" for p in out.iterdir()):
        raise UserError(f"{out}: folder is not empty; choose a new folder so that runs do not mix "
                        f"(or --resume {out} to continue the run in it)")
    if resolved.source_text is not None:
        copies["scenario.source.yaml"] = resolved.source_text.encode("utf-8")
    for name in SCENARIO_COPIES:
        if name in copies:
            store.write_bytes(out / name, copies[name])
    write_checkpoint(scenario, out, copies)
    return problems


def target_mcse(rows: list[dict], metric: str) -> float | None:
    """The largest MCSE of ``metric`` over the designs (None: not reported yet). A rejection rate is
    found whether the scenario names it power or type I error."""
    names = {metric}
    if metric.startswith(("power", "type_I_error")):
        tail = metric.removeprefix("power").removeprefix("type_I_error")
        names = {"power" + tail, "type_I_error" + tail}
    values = [r["mcse"] for r in rows if r["metric"] in names]
    if not values or any(v is None for v in values):
        return None
    return max(values)


def _run_to_target(resolved: Resolved, out: Path, progress, target: Target, recomputed: list[str]) -> RunResult:
    """Replicates in batches until the target MCSE is reached or the cap (monte_carlo.replicates) is hit.

    Each batch ends on a chunk boundary; the next batch aims at the replicates the current MCSE
    says are needed (MCSE shrinks as 1/sqrt(R)), plus 10%. The same seed gives the same replicates
    whatever the batches, so a run to a target is a prefix of a longer run.
    """
    scenario = resolved.scenario
    mc = scenario.monte_carlo
    cap, step = mc.replicates, mc.chunk_size
    done, elapsed, interrupted = 0, 0.0, False
    stop = min(cap, max(step * mc.workers, 4 * step))
    history = []
    while True:
        interrupted, seconds = run_replicates(scenario, out, progress, start=done, stop=stop)
        elapsed += seconds
        done = stop
        rows = summarize_chunks(scenario, out, write_tables=False).rows
        reached = target_mcse(rows, target.metric)
        if reached is None and not any(r["metric"] == target.metric or target.metric.startswith(("power", "type_I"))
                                       for r in rows):
            names = sorted({r["metric"] for r in rows})
            raise UserError(f"--target-metric {target.metric}: no such metric; one of: {', '.join(names)}")
        history.append({"replicates": done, "mcse": reached})
        if interrupted or done >= cap or (reached is not None and reached <= target.mcse):
            break
        needed = done * (reached / target.mcse) ** 2 * 1.1 if reached else 2 * done
        stop = min(cap, max(done + step, math.ceil(needed / step) * step))
    result = finish(resolved, out, elapsed, interrupted, recomputed)
    final = target_mcse(result.summary["metrics"], target.metric)
    result.summary["target"] = {"metric": target.metric, "mcse": target.mcse, "reached": final is not None
                                and final <= target.mcse, "achieved_mcse": final, "replicates_needed": done,
                                "cap": cap, "batches": history}
    store.write_json(out / "summary.json", result.summary)
    return result


def finish(resolved: Resolved | Scenario, out: Path, elapsed: float, interrupted: bool,
           recomputed: list[str] = ()) -> RunResult:
    """Summarize whatever chunks are on disk (all of them, or those an interruption left) into the record;
    every chunk is checked against its manifest as it is read (a damaged one stops this with its name)."""
    resolved = resolved if isinstance(resolved, Resolved) else Resolved(resolved)
    scenario = resolved.scenario
    t0 = time.perf_counter()
    configured = configured_figures(scenario)
    done = summarize_chunks(scenario, out, configured=configured)
    rows, notes, R = done.rows, done.notes, done.replicates
    plan = AnalysisPlan.from_scenario(scenario)
    warnings = [f"checked on resume: {p}" for p in recomputed]
    if interrupted:
        warnings.append(f"INTERRUPTED: {R} of {scenario.monte_carlo.replicates} replicates finished; "
                        f"every figure is from those (continue with --resume {out})")
    if done.incomplete:
        warnings.append(f"{done.incomplete / R:.1%} of simulated trials did not reach the randomization target "
                        f"of {scenario.accrual.target_randomized} within {scenario.accrual.max_months:g} months; "
                        f"they count as not rejecting")
    summary = {
        "scenario_name": scenario.name,
        "seed": scenario.monte_carlo.seed,
        "replicates": R,
        "replicates_requested": scenario.monte_carlo.replicates,
        "interrupted": interrupted,
        "workers": scenario.monte_carlo.workers,
        "elapsed_s": round(elapsed, 3),
        "timings": {"simulate_s": round(elapsed, 3), "summarize_s": round(time.perf_counter() - t0, 3)},
        "versions": versions(),
        "source_file": resolved.source,
        "overrides": resolved.overrides,
        "scenario": scenario.model_dump(mode="json"),
        "assumptions": assumptions(scenario, resolved.comments, resolved.overrides),
        "configured": configured,
        "designs": [{"design": i, "label": label, "kind": d.kind, "fields": d.fields(),
                     "count_keys": [plan.count_keys.index(k) for k in d.needs(plan.context)[0]]}
                    for i, (d, label) in enumerate(zip(plan.designs, plan.labels))],
        "count_keys": [{"key": j, "dcr_definition": k.definition, "scans": k.scans, "primary_analysis_months": k.months}
                       for j, k in enumerate(plan.count_keys)],
        "metrics": rows,
        "warnings": warnings,
        "notes": notes,
        "typical_trial": typical_trial(scenario) if R else None,
    }
    store.write_json(out / "summary.json", summary)
    return RunResult(out, summary)


def typical_trial(scenario: Scenario) -> dict:
    """Replicate 0's PFS per arm, true and as the scans see it at the cut-off (months): the data of the
    report's Kaplan-Meier figure, kept in the record so that the report reads nothing else."""
    from ..arms import ARMS
    from ..endpoints.common import observed_pfs
    from ..model.trial import TrialModel, simulate
    from ..units import DAYS_PER_MONTH

    table = simulate(TrialModel(scenario), scenario.monte_carlo.seed, 0)
    p = table.patients
    time_, event = observed_pfs(table, table.cutoff_day, scenario.imaging.progression_seen == "continuous")
    out = {"replicate": 0, "cutoff_months": float(table.cutoff_day) / DAYS_PER_MONTH}
    for code, name in ARMS.items():
        arm = p["arm"] == code
        out[name] = {"pfs_true_months": (p["pfs_true_rel"][arm] / DAYS_PER_MONTH).round(6).tolist(),
                     "pfs_observed_months": (time_[arm] / DAYS_PER_MONTH).round(6).tolist(),
                     "pfs_observed_event": event[arm].astype(bool).tolist()}
    return out
