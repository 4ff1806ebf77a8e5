"""The 'at_scan' DCR definition (disease control at the cycle-8 scan), added as one source file."""
from __future__ import annotations

import sim
from conftest import SCENARIOS, metric


def test_dcr_at_the_cycle_8_scan_matches_its_law_and_nests(tmp_path):
    """plain_binary: one 14-day backbone, nobody stops, scans on days 56, 112, 168. Control at the
    cycle-8 scan (day 112) is true PFS beyond day 112: its rate is S(112), which the law gives exactly;
    it lies between 'controlled through cycle 8' (the same here) and the first-scan DCR."""
    from sim.inputs import load_scenario
    from sim.outcomes.laws import arm_laws

    sc = load_scenario(SCENARIOS / "plain_binary.yaml", [
        'analysis.variants=[{dcr_definition: at_scan, dcr_horizon_cycles: 8},'
        ' {dcr_definition: controlled, dcr_horizon_cycles: 8}]'])
    r = sim.run(sc, tmp_path / "r", replicates=1500, report=False, seed=8)
    labels = [d["label"] for d in r.summary["designs"]]
    assert "DCR at the cycle-8 scan" in labels[1]
    laws, _ = arm_laws(sc)
    a = r.analyses
    for code, arm in ((1, "rechallenge"), (0, "control")):
        row = metric(r.summary, f"dcr_observed_{arm}", 1)
        truth = float(laws[code].pfs_survival(112.0))
        assert abs(row["estimate"] - truth) <= 3 * row["mcse"], (arm, row, truth)
        at, controlled, first = (a[a["design"] == d].set_index("replicate")[f"dcr_successes_{arm}"] for d in (1, 2, 0))
        assert (at == controlled).all() and (at <= first).all()
