"""A whole Monte Carlo run: resolve the scenario, run the replicates, write the output contract.

results/<run>/
  checkpoint.json         scenario, seed and package version, checked by --resume
  scenario.resolved.yaml  the scenario with every default filled in
  chunks/                 finished chunks (kept if the run is interrupted)
  replicates.parquet      one row per replicate: what each simulated trial yielded (extract.py)
  analyses.parquet        one row per replicate and design: its decisions (decide.py)
  summary.json            seed, replicates, scenario, versions, elapsed_s, metrics, notes
  report.html             the steering committee's page (figures/ holds its figures as PNG and SVG)
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import math
import platform
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..analyses.design import AnalysisPlan
from ..outcomes.laws import arm_laws, implied_log_hazard_ratio
from ..scenario.loader import to_yaml
from ..errors import UserError
from ..scenario.schema import Scenario
from .runner import CHUNK_DIR, read_chunks, run_replicates, sort_frame, write_json
from .summarize import summarize

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


def run(scenario: Scenario, out: Path, progress=None, target: Target | None = None,
        source: Path | None = None, report: bool = True, resume: bool = False) -> RunResult:
    """Run the replicates into ``out`` and summarize them; ``report``: also write report.html.

    ``resume``: continue a run killed at any point: the chunks on disk are kept (each is written
    atomically), the others are run, and the summary is that of an uninterrupted run."""
    prepare(scenario, out, source, resume)
    if target is None:
        interrupted, elapsed = run_replicates(scenario, out, progress)
        return finish(scenario, out, elapsed, interrupted, report_later=not report)
    return _run_to_target(scenario, out, progress, target, report)


def prepare(scenario: Scenario, out: Path, source: Path | None = None, resume: bool = False) -> None:
    """The run folder before any chunk: checkpoint (or its check, to resume), the resolved scenario and
    the source file (its comments carry the sources of the assumptions)."""
    if resume:
        check_resume(scenario, out)
    elif (out / CHUNK_DIR).is_dir() and any((out / CHUNK_DIR).iterdir()):
        raise UserError(f"{out}: already holds chunks of another run; choose a new folder so that runs do not mix")
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        write_json(out / CHECKPOINT, checkpoint_of(scenario))
    (out / "scenario.resolved.yaml").write_text(to_yaml(scenario))
    if source is not None:
        (out / "scenario.source.yaml").write_text(Path(source).read_text(encoding="utf-8"), encoding="utf-8")


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


def _run_to_target(scenario: Scenario, out: Path, progress, target: Target, report: bool = True) -> RunResult:
    """Replicates in batches until the target MCSE is reached or the cap (monte_carlo.replicates) is hit.

    Each batch ends on a chunk boundary; the next batch aims at the replicates the current MCSE
    says are needed (MCSE shrinks as 1/sqrt(R)), plus 10%. The same seed gives the same replicates
    whatever the batches, so a run to a target is a prefix of a longer run.
    """
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
    result = finish(scenario, out, elapsed, interrupted, report_later=True)
    final = target_mcse(result.summary["metrics"], target.metric)
    result.summary["target"] = {"metric": target.metric, "mcse": target.mcse, "reached": final is not None
                                and final <= target.mcse, "achieved_mcse": final, "replicates_needed": done,
                                "cap": cap, "batches": history}
    write_json(out / "summary.json", result.summary)
    if report:
        write_report(scenario, out, result)
    return result


def write_report(scenario: Scenario, out: Path, result: RunResult) -> Path:
    """report.html for the steering committee, from what the run wrote (plus replicate 0's patient table)."""
    from ..model.trial import TrialModel, simulate
    from ..report.html import run_report

    source = out / "scenario.source.yaml"
    typical = simulate(TrialModel(scenario), scenario.monte_carlo.seed, 0)
    return run_report(out, result.summary, result.analyses, typical,
                      source.read_text(encoding="utf-8") if source.exists() else None,
                      (out / "scenario.resolved.yaml").read_text(),
                      scenario.imaging.progression_seen == "continuous")


def finish(scenario: Scenario, out: Path, elapsed: float, interrupted: bool, report_later: bool = False) -> RunResult:
    """Summarize whatever chunks are on disk (all of them, or those an interruption left)."""
    records, analyses, pooled = read_chunks(out)
    records = sort_frame(records, ["replicate"])
    analyses = sort_frame(analyses, ["design", "replicate"])
    records.to_parquet(out / "replicates.parquet", index=False)
    analyses.to_parquet(out / "analyses.parquet", index=False)
    configured = configured_figures(scenario)
    rows, notes = summarize(scenario, records, analyses, pooled, configured)
    plan = AnalysisPlan.from_scenario(scenario)
    summary = {
        "scenario_name": scenario.name,
        "seed": scenario.monte_carlo.seed,
        "replicates": int(len(records)),
        "replicates_requested": scenario.monte_carlo.replicates,
        "interrupted": interrupted,
        "workers": scenario.monte_carlo.workers,
        "elapsed_s": round(elapsed, 3),
        "versions": versions(),
        "scenario": scenario.model_dump(mode="json"),
        "configured": configured,
        "designs": [{"design": i, "label": d.label, "count_key": plan.key_index(d)}
                    for i, d in enumerate(plan.designs)],
        "count_keys": [{"key": j, "dcr_definition": k[0], "scans": k[1], "primary_analysis_months": k[2]}
                       for j, k in enumerate(plan.count_keys)],
        "metrics": rows,
        "notes": notes,
    }
    write_json(out / "summary.json", summary)
    result = RunResult(out, summary, records, analyses)
    if not report_later:
        write_report(scenario, out, result)
    return result


def configured_figures(scenario: Scenario) -> dict[str, float]:
    """What the scenario says each validated metric should be (for the table and the tests)."""
    laws, _ = arm_laws(scenario)
    out = {}
    for code, name in ((1, "rechallenge"), (0, "control")):
        implied = laws[code].implied()
        out[f"dcr_{name}"] = implied["dcr"]
        out[f"orr_{name}"] = implied["orr"]
        out[f"median_pfs_true_{name}"] = implied["median_pfs_true_months"]
        out[f"median_os_{name}"] = implied["median_os_months"]
    ratio = tuple(float(x) for x in scenario.randomization.ratio)
    for endpoint in ("pfs", "os"):
        out[f"log_hr_{endpoint}"] = implied_log_hazard_ratio(laws[1], laws[0], endpoint, ratio)
    same_pfs = (laws[1].shape, laws[1].scale_days, laws[1].p_death_first) == (
        laws[0].shape, laws[0].scale_days, laws[0].p_death_first)
    out["pfs_laws_equal"] = same_pfs
    out["orr_laws_equal"] = same_pfs and laws[1].p_responder == laws[0].p_responder
    out["os_laws_equal"] = same_pfs and laws[1].pps_rate_per_day == laws[0].pps_rate_per_day
    return out
