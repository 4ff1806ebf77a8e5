"""What a resumed run must share with the run it continues, sealed so that damage is found.

``checkpoint.json`` holds the scenario (but for where replicates run, which does not change
results), the seed, the package version, and the SHA-256 of the folder's scenario copies
(``scenario.resolved.yaml``, ``scenario.source.yaml``), which ``--resume`` may read back. The whole
record carries its own SHA-256 (``seal``) over its canonical JSON: a flipped byte anywhere in it is
reported as damage, not read as another seed or scenario. ``run_id`` (the digest of what must be
shared) is written into every chunk manifest, so a chunk of another run is never taken for one of
this run.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
import json
import platform
from pathlib import Path

from ..errors import UserError
from ..scenario.loader import ScenarioError, read_input
from ..scenario.schema import Scenario
from .store import digest, write_json

CHECKPOINT = "checkpoint.json"
#: scenario copies in a run folder whose digests the checkpoint records
SCENARIO_COPIES = ("scenario.resolved.yaml", "scenario.source.yaml")
#: monte_carlo fields that say where and how replicates run; results do not depend on them
WHERE_IT_RUNS = ("workers", "backend", "scheduler", "worker_wait_s")

PACKAGES = ("rechallenge-sim", "simpy", "numpy", "scipy", "pandas", "pydantic", "joblib", "pyarrow", "lifelines")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def shared(scenario: Scenario) -> dict:
    """The scenario, seed and version a resumed run must share with the run it continues."""
    dumped = scenario.model_dump(mode="json")
    for how in WHERE_IT_RUNS:
        dumped["monte_carlo"].pop(how, None)
    return {"scenario": dumped, "seed": scenario.monte_carlo.seed, "version": versions()["rechallenge-sim"]}


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode("utf-8")


def run_id(scenario: Scenario) -> str:
    """A short digest of ``shared(scenario)``: the identity of a run's replicates."""
    return hashlib.sha256(_canonical(shared(scenario))).hexdigest()[:16]


def seal(record: dict) -> dict:
    """``record`` with its own SHA-256 (over everything else, canonically) under "sha256"."""
    body = {k: v for k, v in record.items() if k != "sha256"}
    return {**body, "sha256": digest(_canonical(body))}


def write_checkpoint(scenario: Scenario, out: Path, copies: dict[str, bytes]) -> None:
    """Seal and write the checkpoint, recording the digests of the scenario copies as written."""
    record = {**shared(scenario), "run": run_id(scenario),
              "files": {name: digest(data) for name, data in copies.items()}}
    write_json(Path(out) / CHECKPOINT, seal(record))


def read_sealed(out: Path, path: Path, what: str, missing: str, start_over: str) -> dict:
    """A sealed JSON record of a folder (a run's or a comparison's checkpoint), read through the bounded
    reader; exit 2 naming the file when it is absent, unreadable, not JSON or does not match its seal."""
    if not path.exists():
        raise UserError(f"--resume {out}: no {path.name} there; {missing}")
    try:
        saved = json.loads(read_input(path, what).decode("utf-8"))
        sealed = isinstance(saved, dict) and seal(saved)["sha256"] == saved.get("sha256")
    except ScenarioError as e:
        raise UserError(f"--resume {out}: {e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise UserError(f"--resume {out}: {path} is damaged (not valid JSON: {e}); {start_over}") from None
    if not sealed:
        raise UserError(f"--resume {out}: {path} is damaged (its content does not match its own SHA-256); {start_over}")
    return saved


def read_checkpoint(out: Path) -> dict:
    """The checkpoint of a run folder, after checking its seal and the scenario copies it records."""
    saved = read_sealed(out, Path(out) / CHECKPOINT, "run checkpoint",
                        "it is not a run folder (or the run predates resume)",
                        "the run cannot be resumed safely: start a new run")
    for name, want in saved.get("files", {}).items():
        copy = Path(out) / name
        try:
            ok = digest(copy.read_bytes()) == want
        except OSError:
            ok = False
        if not ok:
            raise UserError(f"--resume {out}: {copy} is missing or damaged (its SHA-256 differs from the one "
                            f"{CHECKPOINT} records); resume naming the scenario file again, e.g. "
                            f"rechallenge-sim run SCENARIO --resume {out}" if name == "scenario.resolved.yaml" else
                            f"--resume {out}: {copy} is missing or damaged (its SHA-256 differs from the one "
                            f"{CHECKPOINT} records): restore it, or start a new run")
    return saved


def differences(a, b, path="") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in dict.fromkeys([*a, *b]):
            out += differences(a.get(k), b.get(k), f"{path}.{k}" if path else str(k))
        return out
    return [] if a == b else [f"{path}: {b!r} in the checkpoint, {a!r} now"]


def check_resume(scenario: Scenario, out: Path, saved: dict | None = None) -> None:
    """Refuse to resume ``out`` with another scenario, seed or package version (naming what differs)."""
    saved = read_checkpoint(out) if saved is None else saved
    now = shared(scenario)
    for key, what in (("version", "package version"), ("seed", "seed")):
        if saved.get(key) != now[key]:
            raise UserError(f"--resume {out}: the {what} differs from the checkpoint's ({saved.get(key)!r} there, "
                            f"{now[key]!r} now); resume with the same {what}, or start a new run")
    diff = differences(now["scenario"], saved.get("scenario", {}))
    if diff:
        raise UserError(f"--resume {out}: the scenario differs from the checkpoint's: " + "; ".join(diff[:5])
                        + ("; ..." if len(diff) > 5 else ""))
