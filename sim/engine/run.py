"""A whole Monte Carlo run: run the replicates of a resolved scenario and return its run record.

The run record (``RunResult.summary``, written as summary.json) is everything a report, the console
or the API shows: the resolved scenario, the overrides as given, the assumptions with their sources,
seed, versions, timings, warnings, the designs with their labels, and the metric rows. The engine
writes no report (``sim.report`` renders one from the record).

results/<run>/
  checkpoint.json         scenario, seed and package version, checked by --resume
  scenario.resolved.yaml  the scenario with every default filled in
  chunks/                 finished chunks (kept if the run is interrupted)
  replicates.parquet      one row per replicate: what each simulated trial yielded (extract.py)
  analyses.parquet        one row per replicate and design: its decisions (decide.py)
  summary.json            the run record: scenario, overrides, assumptions, seed, versions, timings,
                          warnings, designs, metrics
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import platform
import re
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..analyses.plan import AnalysisPlan
from ..errors import UserError
from ..inputs import Resolved
from ..scenario.describe import assumptions
from ..scenario.loader import to_yaml
from ..scenario.schema import Scenario
from ..summary.summarize import configured_figures, summarize
from .runner import CHUNK_DIR, read_chunks, run_replicates, sort_frame, write_json

PACKAGES = ("rechallenge-sim", "simpy", "numpy", "scipy", "pandas", "pydantic", "joblib", "pyarrow", "lifelines")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def default_out_dir(scenario: Scenario, root: Path = Path("results")) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", scenario.name).strip("-") or "run"
    return root / f"{slug}-{stamp}"


@dataclass
class RunResult:
    out: Path
    summary: dict
    replicates: pd.DataFrame   # one row per simulated trial
    analyses: pd.DataFrame     # one row per (replicate, design)

    @property
    def metrics(self) -> pd.DataFrame:
        return pd.DataFrame(self.summary["metrics"])


@dataclass(frozen=True)
class Target:
    """Run until the MCSE of ``metric`` is at most ``mcse`` for every design (monte_carlo.replicates caps it)."""

    mcse: float
    metric: str = "power"


CHECKPOINT = "checkpoint.json"


def checkpoint_of(scenario: Scenario) -> dict:
    """What a resumed run must share with the run it continues: the scenario (but for where the
    replicates run, which does not change results), the seed, and the package version."""
    dumped = scenario.model_dump(mode="json")
    for how in ("workers", "backend", "scheduler"):  # where replicates run does not change them
        dumped["monte_carlo"].pop(how, None)
    return {"scenario": dumped, "seed": scenario.monte_carlo.seed,
            "version": versions()["rechallenge-sim"]}


def _differences(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in dict.fromkeys([*a, *b]):
            out += _differences(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        return out
    return [] if a == b else [f"{path}: {b!r} in the checkpoint, {a!r} now"]


def check_resume(scenario: Scenario, out: Path) -> None:
    """Refuse to resume ``out`` with another scenario, seed or package version (naming what differs)."""
    path = out / CHECKPOINT
    if not path.exists():
        raise UserError(f"--resume {out}: no {CHECKPOINT} there; it is not a run folder (or the run predates resume)")
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"--resume {out}: cannot read {CHECKPOINT} ({e})") from None
    now = checkpoint_of(scenario)
    for key, what in (("version", "package version"), ("seed", "seed")):
        if saved.get(key) != now[key]:
            raise UserError(f"--resume {out}: the {what} differs from the checkpoint's ({saved.get(key)!r} there, "
                            f"{now[key]!r} now); resume with the same {what}, or start a new run")
    diff = _differences(now["scenario"], saved.get("scenario", {}))
    if diff:
        raise UserError(f"--resume {out}: the scenario differs from the checkpoint's: " + "; ".join(diff[:5])
                        + ("; ..." if len(diff) > 5 else ""))


def run(resolved: Resolved | Scenario, out: Path, progress=None, target: Target | None = None,
        resume: bool = False) -> RunResult:
    """Run the replicates into ``out`` and summarize them into the run record.

    ``resume``: continue a run killed at any point: the chunks on disk are kept (each is written
    atomically), the others are run, and the summary is that of an uninterrupted run."""
    resolved = resolved if isinstance(resolved, Resolved) else Resolved(resolved)
    scenario = resolved.scenario
    prepare(resolved, out, resume)
    if target is None:
        interrupted, elapsed = run_replicates(scenario, out, progress)
        return finish(resolved, out, elapsed, interrupted)
    return _run_to_target(resolved, out, progress, target)


def prepare(resolved: Resolved, out: Path, resume: bool = False) -> None:
    """The run folder before any chunk: checkpoint (or its check, to resume), the resolved scenario and
    the source file as written (its comments carry the sources of the assumptions)."""
    scenario = resolved.scenario
    if resume:
        check_resume(scenario, out)
    elif (out / CHUNK_DIR).is_dir() and any((out / CHUNK_DIR).iterdir()):
        raise UserError(f"{out}: already holds chunks of another run; choose a new folder so that runs do not mix")
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_json(out / CHECKPOINT, checkpoint_of(scenario))
    (out / "scenario.resolved.yaml").write_text(to_yaml(scenario))
    if resolved.source_text is not None:
        (out / "scenario.source.yaml").write_text(resolved.source_text, encoding="utf-8")


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


def _run_to_target(resolved: Resolved, out: Path, progress, target: Target) -> RunResult:
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
        records, analyses, pooled = read_chunks(out)
        rows, _ = summarize(scenario, records, analyses, pooled, configured_figures(scenario))
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
    result = finish(resolved, out, elapsed, interrupted)
    final = target_mcse(result.summary["metrics"], target.metric)
    result.summary["target"] = {"metric": target.metric, "mcse": target.mcse, "reached": final is not None
                                and final <= target.mcse, "achieved_mcse": final, "replicates_needed": done,
                                "cap": cap, "batches": history}
    write_json(out / "summary.json", result.summary)
    return result


def finish(resolved: Resolved | Scenario, out: Path, elapsed: float, interrupted: bool) -> RunResult:
    """Summarize whatever chunks are on disk (all of them, or those an interruption left) into the record."""
    resolved = resolved if isinstance(resolved, Resolved) else Resolved(resolved)
    scenario = resolved.scenario
    t0 = time.perf_counter()
    records, analyses, pooled = read_chunks(out)
    records = sort_frame(records, ["replicate"])
    analyses = sort_frame(analyses, ["design", "replicate"])
    records.to_parquet(out / "replicates.parquet", index=False)
    analyses.to_parquet(out / "analyses.parquet", index=False)
    configured = configured_figures(scenario)
    rows, notes = summarize(scenario, records, analyses, pooled, configured)
    plan = AnalysisPlan.from_scenario(scenario)
    warnings = []
    if interrupted:
        warnings.append(f"INTERRUPTED: {len(records)} of {scenario.monte_carlo.replicates} replicates finished; "
                        f"every figure is from those (continue with --resume {out})")
    incomplete = int((~records["accrual_complete"].astype(bool)).sum()) if len(records) else 0
    if incomplete:
        warnings.append(f"{incomplete / len(records):.1%} of simulated trials did not reach the randomization target "
                        f"of {scenario.accrual.target_randomized} within {scenario.accrual.max_months:g} months; "
                        f"they count as not rejecting")
    summary = {
        "scenario_name": scenario.name,
        "seed": scenario.monte_carlo.seed,
        "replicates": int(len(records)),
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
        "typical_trial": typical_trial(scenario) if len(records) else None,
    }
    write_json(out / "summary.json", summary)
    return RunResult(out, summary, records, analyses)


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
