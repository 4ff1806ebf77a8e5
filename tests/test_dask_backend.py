"""The dask.distributed backend on a real LocalCluster of worker processes gives the local backend's
results, metric for metric."""
from __future__ import annotations

import pytest

import sim
from conftest import SCENARIOS

pytest.importorskip("dask.distributed", reason="dask.distributed is not installed (pip install -e '.[test]')")


def test_dask_local_cluster_matches_the_local_backend(tmp_path):
    sc = sim.load_scenario(SCENARIOS / "expected.yaml", ["monte_carlo.chunk_size=40"])
    local = sim.run(sc, tmp_path / "local", replicates=200, seed=4, workers=2, report=False)
    dask = sim.run(sc, tmp_path / "dask", replicates=200, seed=4, workers=2, backend="dask", report=False)
    assert dask.summary["scenario"]["monte_carlo"]["backend"] == "dask"
    assert dask.summary["metrics"] == local.summary["metrics"]
    assert dask.analyses.equals(local.analyses)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, capsys):
    from sim.cli import main

    rc = main(["run", str(SCENARIOS / "plain_binary.yaml"), "--scheduler", "tcp://127.0.0.1:1", "--replicates", "20",
               "--out", str(tmp_path / "x"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot reach the dask scheduler" in err and "Traceback" not in err, err
