"""What the user sees is what was simulated: the run record, the report generated from it, one
validated override path, and the edge semantics of trials that never reach their target."""
from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest

import sim
from conftest import SCENARIOS, metric
from sim.cli import main
from sim.errors import UserError


def _report(path) -> str:
    return (path / "report.html").read_text(encoding="utf-8")


def _assumption(page: str, path: str) -> str:
    m = re.search(rf"<tr[^>]*data-path='{re.escape(path)}'><td>[^<]*</td><td>([^<]*)</td>", page)
    assert m, f"{path} not in the assumptions table"
    return html.unescape(m.group(1))


def test_set_overrides_show_in_the_report_and_in_every_label(tmp_path, capsys):
    out = tmp_path / "run"
    rc = main(["run", str(SCENARIOS / "expected.yaml"), "--set", "effects.rechallenge.dcr=0.6", "--set",
               "analysis.alpha=0.05", "--replicates", "100", "--seed", "3", "--out", str(out), "--quiet"])
    assert rc == 0
    page = _report(out)
    assert _assumption(page, "effects.rechallenge.dcr") == "0.6"
    assert _assumption(page, "analysis.alpha") == "0.05"
    assert _assumption(page, "effects.control.dcr") == "0.45"  # every effect, overridden or not
    overrides = page[page.index("id='overrides'"):page.index("id='question'")]
    assert "effects.rechallenge.dcr=0.6" in overrides and "analysis.alpha=0.05" in overrides
    assert page.index("id='overrides'") < page.index("Headline")  # at the top
    summary = json.loads((out / "summary.json").read_text())
    assert {(o["path"], o["value"], o["origin"]) for o in summary["overrides"]} >= {
        ("effects.rechallenge.dcr", 0.6, "--set"), ("analysis.alpha", 0.05, "--set")}
    labels = [d["label"] for d in summary["designs"]]
    assert len(labels) == 5
    for label in labels:  # each states the level it ran at, and none the file's 0.10
        assert "one-sided 0.05" in label and "0.1," not in label, label
        assert html.escape(label) in page
    assert "0.6" in re.search(r"<title>(.*)</title>", page).group(1)  # the title says it was changed
    # the question is generated: the configured DCRs of this run
    question = page[page.index("id='question'"):]
    assert "45% on control and 60% on rechallenge" in question


def test_a_60_patient_2_to_1_scenario_is_described_as_such(tmp_path):
    r = sim.run(SCENARIOS / "expected.yaml", tmp_path / "r", replicates=20, seed=1,
                set={"accrual.target_randomized": 60, "randomization.ratio": [2, 1], "randomization.block_size": 6})
    page = _report(r.out)
    question = html.unescape(page[page.index("id='question'"):page.index("Headline")])
    assert "randomizes 60 patients 2:1 (rechallenge : control)" in question
    assert "50 patients" not in question and "1:1" not in question
    assert metric(r.summary, "n_randomized")["estimate"] == pytest.approx(60)


def test_trials_that_never_reach_their_target_do_not_reject_and_run_to_where_accrual_stopped(tmp_path):
    """Hand-computed: with a target of 400 and accrual giving up at 24 months, no trial completes, so
    no trial rejects (power 0), accrual lasts exactly 24 months in every trial, and the time to the
    analysis is at least 24 months."""
    r = sim.run(SCENARIOS / "expected.yaml", tmp_path / "never", replicates=20, seed=2, report=False,
                set={"accrual.target_randomized": 400, "accrual.max_months": 24})
    a = r.analyses
    assert not a["accrual_complete"].any()
    assert not a[["reject", "reject_orr", "reject_pfs", "reject_os"]].to_numpy().any()
    assert np.allclose(a["accrual_months"], 24.0)
    assert (a["duration_months"] >= 24.0 - 1e-9).all()
    assert metric(r.summary, "power")["estimate"] == 0.0
    assert metric(r.summary, "accrual_months")["estimate"] == pytest.approx(24.0)
    assert metric(r.summary, "accrual_completed")["estimate"] == 0.0
    assert any("did not reach the randomization target" in w for w in r.summary["warnings"])


def test_power_never_exceeds_the_share_that_completed_accrual(tmp_path):
    r = sim.run(SCENARIOS / "expected.yaml", tmp_path / "some", replicates=200, seed=4, report=False,
                set={"accrual.max_months": 45})
    a = r.analyses[r.analyses["design"] == 0].set_index("replicate")
    completed = a["accrual_complete"]
    assert 0.05 < completed.mean() < 0.95  # some trials complete, some give up
    assert not (a["reject"] & ~completed).any()
    assert metric(r.summary, "power")["estimate"] <= metric(r.summary, "accrual_completed")["estimate"]
    given_up = ~completed
    assert np.allclose(a.loc[given_up, "accrual_months"], 45.0)
    # a completed trial's accrual ends at its last randomization
    rec = r.replicates.set_index("replicate")
    assert (a.loc[completed, "accrual_months"] <= 45.0).all()
    assert (rec.loc[completed[completed].index, "n_randomized"] == 50).all()


@pytest.mark.parametrize("kwargs, fragment", [
    ({"replicates": 0}, "monte_carlo.replicates: Input should be greater than 0"),
    ({"chunk_size": 0}, "monte_carlo.chunk_size: Input should be greater than 0"),
    ({"set": {"effects.control.dcr": 2}}, "effects.control.dcr: Input should be less than 1"),
])
def test_api_overrides_are_validated_like_the_file(tmp_path, kwargs, fragment):
    with pytest.raises(UserError, match=re.escape(fragment)):
        sim.run(SCENARIOS / "plain_binary.yaml", tmp_path / "x", report=False, **kwargs)
    loaded = sim.load_scenario(SCENARIOS / "plain_binary.yaml")
    with pytest.raises(UserError, match=re.escape(fragment)):
        sim.run(loaded, tmp_path / "y", report=False, **kwargs)


def test_grid_and_compare_overrides_are_validated(tmp_path):
    grid = tmp_path / "g.yaml"
    grid.write_text(f"name: g\nbase: {SCENARIOS / 'plain_binary.yaml'}\nscenarios: [{{name: a}}]\n"
                    f"designs: {{analysis.test: [fisher]}}\nmonte_carlo: {{replicates: 20}}\n")
    with pytest.raises(UserError, match="monte_carlo.replicates: Input should be greater than 0"):
        sim.compare(grid, tmp_path / "c", replicates=0)


def test_the_scan_based_median_says_when_its_mcse_cannot_be_estimated(tmp_path):
    """plain_binary scans every 56 days: the pooled observed median sits on a scan day."""
    r = sim.run(SCENARIOS / "plain_binary.yaml", tmp_path / "m", replicates=400, seed=5, report=False)
    for arm in ("control", "rechallenge"):
        row = metric(r.summary, f"median_pfs_observed_{arm}")
        if row["mcse"] is None:
            assert row["ci_low"] is None and "scan day" in row["note"]
        else:
            assert row["ci_high"] > row["ci_low"]  # never a zero-width interval with an MCSE
        true = metric(r.summary, f"median_pfs_true_{arm}")
        assert true["mcse"] > 0 and true["ci_high"] > true["ci_low"]
    assert r.summary["timings"]["summarize_s"] >= 0 and r.summary["versions"]["numpy"]
