"""--target-mcse: replicates in batches until the MCSE of a metric reaches the target."""
from __future__ import annotations

import json

import pytest

import sim
from conftest import SCENARIOS, metric
from sim.cli import main
from sim.engine.run import Target, run


def test_runs_until_the_power_mcse_is_reached_and_is_a_prefix_of_a_plain_run(tmp_path):
    sc = sim.load_scenario(SCENARIOS / "plain_binary.yaml", ["monte_carlo.replicates=5000", "monte_carlo.workers=1",
                                                             "monte_carlo.chunk_size=50"])
    r = run(sc, tmp_path / "t", target=Target(0.015))
    t = r.summary["target"]
    assert t["reached"] and t["achieved_mcse"] <= 0.015
    power = metric(r.summary, "power")
    assert power["mcse"] <= 0.015
    # Enough replicates, not many more than needed: p(1-p)/target^2, plus the 10% margin and a chunk.
    needed = power["estimate"] * (1 - power["estimate"]) / 0.015 ** 2
    assert needed <= t["replicates_needed"] <= 1.1 * needed + 100 and t["replicates_needed"] < 5000
    plain = sim.run(sc, tmp_path / "p", replicates=t["replicates_needed"], report=False)
    assert metric(plain.summary, "power") == power


def test_the_cap_is_reported_when_the_target_is_out_of_reach(tmp_path):
    sc = sim.load_scenario(SCENARIOS / "plain_binary.yaml", ["monte_carlo.replicates=200", "monte_carlo.workers=1"])
    r = run(sc, tmp_path / "t", target=Target(0.001))
    assert not r.summary["target"]["reached"] and r.summary["replicates"] == 200


def test_cli_target_mcse_and_bad_metric(tmp_path, capsys):
    out = tmp_path / "cli"
    rc = main(["run", str(SCENARIOS / "plain_binary.yaml"), "--target-mcse", "0.02", "--target-metric", "power",
               "--workers", "1", "--out", str(out), "--quiet"])
    assert rc == 0
    s = json.loads((out / "summary.json").read_text())
    assert s["target"]["reached"] and metric(s, "power")["mcse"] <= 0.02
    assert "target MCSE 0.02 of power reached" in capsys.readouterr().out
    rc = main(["run", str(SCENARIOS / "plain_binary.yaml"), "--target-mcse", "0.02", "--target-metric", "powr",
               "--workers", "1", "--out", str(tmp_path / "bad"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "--target-metric powr: no such metric" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_cli_refuses_a_bad_target(tmp_path, capsys, value):
    rc = main(["run", str(SCENARIOS / "plain_binary.yaml"), "--target-mcse", value, "--out", str(tmp_path / "x")])
    assert rc == 2 and "--target-mcse" in capsys.readouterr().err
