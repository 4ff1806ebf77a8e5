"""A run killed with SIGKILL at any point continues with --resume and ends with the summary of an
uninterrupted run; resume refuses another scenario, seed or package version."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

import sim
from conftest import ROOT, SCENARIOS
from sim.cli import main
from sim.engine.checkpoint import seal

ARGS = ["--set", "monte_carlo.chunk_size=25", "--replicates", "400", "--seed", "9", "--workers", "2", "--quiet"]


def _cli(*argv) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)


def _kill_after(proc: subprocess.Popen, out, chunks: int, extra: float) -> None:
    """SIGKILL the whole process group once ``chunks`` chunks are on disk, plus ``extra`` seconds."""
    deadline = time.time() + 120
    while len(list((out / "chunks").glob("*.trials.parquet"))) < chunks and proc.poll() is None:
        assert time.time() < deadline, "no progress"
        time.sleep(0.02)
    time.sleep(extra)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_sigkill_at_three_random_points_then_resume_gives_the_uninterrupted_summary(tmp_path):
    sc = sim.load_scenario(SCENARIOS / "plain_binary.yaml", ["monte_carlo.chunk_size=25"])
    whole = sim.run(sc, tmp_path / "whole", replicates=400, seed=9, workers=2, report=False).summary
    rng = random.Random(20261125)
    points = sorted(rng.sample(range(1, 14), 3))
    out = tmp_path / "killed"
    for n, chunks in enumerate(points):
        argv = ["run", str(SCENARIOS / "plain_binary.yaml"), "--out", str(out), *ARGS] if n == 0 else \
            ["run", "--resume", str(out), "--quiet"]
        _kill_after(_cli(*argv), out, chunks, extra=rng.uniform(0.0, 0.3))
        assert not (out / "summary.json").exists() or json.loads((out / "summary.json").read_text())
    done = subprocess.run([sys.executable, "-m", "sim", "run", "--resume", str(out), "--quiet"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    resumed = json.loads((out / "summary.json").read_text())
    assert resumed["replicates"] == 400 and not resumed["interrupted"]
    assert resumed["metrics"] == whole["metrics"]


@pytest.mark.parametrize("change,expect", [
    (["--seed", "10"], "the seed differs from the checkpoint's (9 there, 10 now)"),
    (["--set", "effects.control.dcr=0.3"], "the scenario differs from the checkpoint's: effects.control.dcr: 0.35"),
])
def test_resume_refuses_another_scenario_or_seed(tmp_path, capsys, change, expect):
    out = tmp_path / "r"
    assert main(["run", str(SCENARIOS / "plain_binary.yaml"), "--out", str(out), *ARGS[:-1], "--quiet"]) == 0
    capsys.readouterr()
    same = [a for a in ARGS if a not in ("--quiet",)]
    rc = main(["run", str(SCENARIOS / "plain_binary.yaml"), "--resume", str(out), *same, *change, "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and expect in err and "Traceback" not in err, err


def test_resume_refuses_another_package_version(tmp_path, capsys):
    out = tmp_path / "r"
    assert main(["run", str(SCENARIOS / "plain_binary.yaml"), "--out", str(out), *ARGS]) == 0
    checkpoint = json.loads((out / "checkpoint.json").read_text())
    checkpoint["version"] = "0.0.1"
    # Edited without its seal, the checkpoint reads as damaged, not as another version.
    (out / "checkpoint.json").write_text(json.dumps(checkpoint))
    capsys.readouterr()
    rc = main(["run", "--resume", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "checkpoint.json is damaged (its content does not match its own SHA-256)" in err, err
    # Sealed, as the older version would have written it: refused for the version, named.
    (out / "checkpoint.json").write_text(json.dumps(seal(checkpoint)))
    rc = main(["run", "--resume", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "the package version differs from the checkpoint's ('0.0.1' there" in err
