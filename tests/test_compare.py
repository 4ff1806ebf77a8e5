"""compare: designs x scenarios on common random numbers, tidy output, paired differences."""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

import sim
from conftest import SCENARIOS


def _grid(tmp_path, body: str):
    path = tmp_path / "grid.yaml"
    path.write_text(textwrap.dedent(body).replace("@S@", str(SCENARIOS)))
    return path


SMALL = """
    name: small
    base: @S@/plain_binary.yaml
    scenarios:
      - {name: plain}
      - {name: "null", set: {effects.rechallenge.dcr: 0.35, effects.rechallenge.median_pfs_true_months: 1.21,
                             effects.rechallenge.orr: 0.05, effects.rechallenge.median_os_months: 6.0}}
    designs:
      accrual.target_randomized: [40, 50]
      analysis.test: [fisher, boschloo]
    monte_carlo: {replicates: 400, seed: 3, workers: 1, chunk_size: 100}
"""


def test_compare_tidy_table_and_paired_differences(tmp_path):
    r = sim.compare(_grid(tmp_path, SMALL), tmp_path / "out")
    t = r.table
    assert set(t["scenario"]) == {"plain", "null"} and t["design"].nunique() == 4
    assert {"accrual.target_randomized", "analysis.test", "metric", "estimate", "mcse"} <= set(t.columns)
    assert set(t[t["scenario"] == "null"]["metric"]) >= {"type_I_error", "n_screened", "n_randomized"}
    assert set(t[t["scenario"] == "plain"]["metric"]) >= {"power", "exact_power_plain_binomial"}
    on_disk = pd.read_parquet(r.out / "compare.parquet")
    assert len(on_disk) == len(t)
    d = r.differences
    power = d[(d["metric"] == "power") & (d["scenario"] == "plain")].set_index("design")
    # Same trials, other test: the paired MCSE is far below the unpaired one.
    same_trials = power.loc["target_randomized=40, test=boschloo"]
    assert same_trials["mcse_paired"] < 0.6 * same_trials["mcse_unpaired"]
    # Other sample size: other cells, paired through the per-patient streams, still smaller.
    other_n = power.loc["target_randomized=50, test=fisher"]
    assert other_n["mcse_paired"] < other_n["mcse_unpaired"]
    # The differences are those of the per-replicate decisions of both cells.
    a0 = r.runs[0].analyses
    a1 = r.runs[1].analyses
    ref = a0[a0["design"] == 0].set_index("replicate")["reject"].astype(float)
    other = a1[a1["design"] == 0].set_index("replicate")["reject"].astype(float)
    assert other_n["difference"] == pytest.approx((other - ref).mean())
    assert other_n["mcse_paired"] == pytest.approx((other - ref).std(ddof=1) / np.sqrt(len(ref)))


def test_patients_are_paired_across_sample_sizes(tmp_path):
    """Patient k of replicate i is the same patient in the 40- and the 50-patient trial."""
    g = _grid(tmp_path, SMALL)
    _, cells = sim.inputs.grid.load_grid(g)
    small, large = (sim.simulate_one(c.scenario, seed=3, replicate=5) for c in cells[:2])
    n = len(small.patients["arrival_day"])
    for col in ("arrival_day", "pfs_true_rel", "truly_mutant"):
        assert np.array_equal(small.patients[col][: n - 5], large.patients[col][: n - 5], equal_nan=True)


@pytest.mark.parametrize("body,expect", [
    ("name: x\nbase: @S@/plain_binary.yaml\n", "give scenarios, a sweep, or both"),
    ("name: x\nbase: @S@/plain_binary.yaml\nscenarios: [{name: a}]\ndesigns: {analysis.variants: [[]]}\n",
     "variants is shared by every design"),
    ("name: x\nbase: @S@/plain_binary.yaml\nscenarios: [{name: a, set: {effects.control.dcr: 2}}]\n",
     "scenario 'a'"),
    ("name: x\nbase: @S@/plain_binary.yaml\nsweep: {effects.rechallenge.dcr: [0.5, 0.6], effects.rechallenge.orr: [0.1]}\n",
     "they are zipped"),
    ("name: x\nbase: @S@/nope.yaml\nscenarios: [{name: a}]\n", "no such scenario file"),
    ("name: x\nbase: @S@/plain_binary.yaml\nscenarios: [{name: a}]\ndesigns: {analysis.tset: [fisher]}\n",
     "tset"),
])
def test_bad_grids_get_a_clear_error(tmp_path, body, expect, capsys):
    from sim.cli import main

    rc = main(["compare", str(_grid(tmp_path, body)), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 2 and expect in err and "Traceback" not in err, err


def test_power_curve_points_agree_with_the_exact_curve(tmp_path):
    """The plot's own data (figures/power_curve.csv, written with the figure): every simulated point
    within 3 MCSE of the exact curve, for Fisher and Boschloo on the plain binary design."""
    r = sim.compare(SCENARIOS / "grid_power_curve.yaml", tmp_path / "curve", replicates=400, seed=5)
    data = pd.read_csv(r.out / "figures" / "power_curve.csv")
    assert (r.out / "figures" / "power_curve.png").exists() and (r.out / "figures" / "power_curve.svg").exists()
    assert len(data) == 12 and data["exact_power"].notna().all()
    assert (abs(data["power"] - data["exact_power"]) <= 3 * data["mcse"].clip(lower=1e-3)).all(), data
    assert data.groupby("design")["exact_power"].apply(lambda s: s.is_monotonic_increasing).all()
    html = (r.out / "report.html").read_text()
    assert "Power against effect size" in html and 'src="data:image/png;base64,' in html


def test_an_interrupted_comparison_keeps_the_cells_that_ran(tmp_path, monkeypatch):
    """Ctrl-C during the pool of chunks: cells without any chunk are left out of the tables, not a crash."""
    import sim.engine.runner as runner

    real, calls = runner.run_chunk, []

    def interrupt_at_the_third(*a):
        calls.append(a)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*a)

    monkeypatch.setattr(runner, "run_chunk", interrupt_at_the_third)
    grid = _grid(tmp_path, SMALL.replace("replicates: 400, seed: 3, workers: 1, chunk_size: 100",
                                         "replicates: 40, seed: 3, workers: 1, chunk_size: 20"))
    r = sim.compare(grid, tmp_path / "out")
    ran = [run.summary["replicates"] for run in r.runs]
    assert ran == [40, 0, 0, 0]  # the first cell's two chunks, then the interruption
    assert set(r.table["cell"]) == {0} and (r.table["replicates"] == 40).all()
    assert r.differences.empty or set(r.differences["scenario"]) <= {"plain"}
