"""Ctrl-C during a long run keeps the finished chunks and summarizes what finished."""
import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from conftest import ROOT, SCENARIOS
from sim.engine import store


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_keeps_finished_chunks_and_writes_their_summary(tmp_path, workers):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "sim", "run", str(SCENARIOS / "expected.yaml"), "--replicates", "1000000",
           "--set", "monte_carlo.chunk_size=20", "--workers", str(workers), "--out", str(out), "--quiet"]
    # A terminal's Ctrl-C signals the whole foreground process group: do the same.
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 120
    while len(list((out / "chunks").glob("*.trials.parquet"))) < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "no chunks written"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    text = stdout.decode() + stderr.decode()
    assert proc.returncode == 130, text
    assert "Traceback" not in text
    summary = json.loads((out / "summary.json").read_text())
    chunks = store.manifests(out)  # a chunk exists once its manifest is written (a killed write has none)
    assert summary["interrupted"] is True
    assert summary["replicates"] == 20 * len(chunks) >= 60
    assert summary["replicates_requested"] == 1000000
    reps = pd.read_parquet(out / "replicates.parquet")
    assert len(reps) == summary["replicates"] and reps["replicate"].is_unique
    power = [r for r in summary["metrics"] if r["metric"] == "power"][0]
    assert 0 <= power["estimate"] <= 1 and power["mcse"] > 0
    assert "INTERRUPTED" in text
