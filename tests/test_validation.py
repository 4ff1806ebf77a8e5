"""The simulator against exact results and against what the scenario configured.

Tolerances are Monte Carlo errors: a simulated figure must lie within 3 MCSE of the truth.
"""
import math

import pytest

import sim
from sim.stats.exact import exact_power

from conftest import SCENARIOS, metric


def test_plain_binary_power_matches_exact_enumeration(tmp_path):
    result = sim.run(SCENARIOS / "plain_binary.yaml", tmp_path / "run", replicates=4000, report=False, seed=12345, workers=2)
    power = metric(result.summary, "power")
    exact = exact_power(25, 25, 0.60, 0.35, "fisher", 0.025, "one")
    assert metric(result.summary, "exact_power_plain_binomial")["estimate"] == pytest.approx(exact, abs=1e-12)
    assert power["mcse"] == pytest.approx(math.sqrt(power["estimate"] * (1 - power["estimate"]) / 4000))
    assert abs(power["estimate"] - exact) <= 3 * power["mcse"], (power, exact)
    # Every patient is a Bernoulli(dcr) draw at the first scan: the observed DCR is the configured one.
    for arm, p in (("control", 0.35), ("rechallenge", 0.60)):
        obs = metric(result.summary, f"dcr_observed_{arm}")
        assert abs(obs["estimate"] - p) <= 3 * obs["mcse"], (arm, obs)
    assert result.summary["notes"] == []


@pytest.fixture(scope="module")
def default_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("default") / "run"
    return sim.run(SCENARIOS / "default.yaml", out, replicates=1500, report=False, seed=2024, workers=2)


@pytest.mark.parametrize("name", [
    "dcr_control", "dcr_rechallenge", "orr_control", "orr_rechallenge",
    "median_pfs_true_control", "median_pfs_true_rechallenge", "median_os_control", "median_os_rechallenge",
])
def test_default_scenario_reproduces_configured_figures(default_run, name):
    row = metric(default_run.summary, name)
    configured = default_run.summary["configured"][name]
    assert row["mcse"] > 0
    assert abs(row["estimate"] - configured) <= 3 * row["mcse"], (row, configured)


def test_observed_median_pfs_is_reported_beside_the_true_one_and_is_later(default_run):
    for arm in ("control", "rechallenge"):
        true = metric(default_run.summary, f"median_pfs_true_{arm}")["estimate"]
        observed = metric(default_run.summary, f"median_pfs_observed_{arm}")["estimate"]
        # Progression is seen at the next scan (or clinically after a lag): never earlier.
        assert observed > true


def test_summary_contract(default_run):
    s = default_run.summary
    for key in ("seed", "replicates", "scenario", "versions", "elapsed_s", "metrics"):
        assert key in s
    assert s["replicates"] == 1500 and s["seed"] == 2024
    for row in s["metrics"]:
        assert set(row) == {"design", "metric", "estimate", "mcse", "ci_low", "ci_high", "note"}
    names = {r["metric"] for r in s["metrics"]}
    assert {"power", "exact_power_plain_binomial", "dcr_control", "dcr_rechallenge", "orr_control", "orr_rechallenge",
            "median_pfs_true_control", "median_pfs_true_rechallenge", "median_pfs_observed_control",
            "median_pfs_observed_rechallenge", "median_os_control", "median_os_rechallenge", "n_screened",
            "n_randomized", "accrual_months", "time_to_primary_analysis_months"} <= names
    out = default_run.out
    assert (out / "replicates.parquet").exists() and (out / "scenario.resolved.yaml").exists()
    assert len(default_run.replicates) == 1500
    # The resolved scenario runs again and is the same scenario.
    again = sim.load_scenario(out / "scenario.resolved.yaml")
    assert again.model_dump() == sim.load_scenario(out / "scenario.resolved.yaml").model_dump()
    assert again.effects == sim.load_scenario(SCENARIOS / "default.yaml").effects


def test_same_seed_same_metrics_for_1_and_2_workers(tmp_path):
    runs = [sim.run(SCENARIOS / "expected.yaml", tmp_path / f"w{w}", replicates=240, report=False, seed=99, workers=w,
                    chunk_size=40) for w in (1, 2)]
    assert runs[0].summary["metrics"] == runs[1].summary["metrics"]
    assert runs[0].replicates.equals(runs[1].replicates)


def test_a_different_seed_gives_different_trials(tmp_path):
    a = sim.run(SCENARIOS / "expected.yaml", tmp_path / "a", replicates=40, report=False, seed=1, workers=1)
    b = sim.run(SCENARIOS / "expected.yaml", tmp_path / "b", replicates=40, report=False, seed=2, workers=1)
    assert not a.replicates["n_screened"].equals(b.replicates["n_screened"])


@pytest.mark.slow
def test_null_type_one_error_of_fisher_is_at_most_alpha(tmp_path):
    result = sim.run(SCENARIOS / "null.yaml", tmp_path / "null", replicates=20000, report=False, seed=5, workers=2)
    power = metric(result.summary, "power")
    assert power["estimate"] <= 0.10 + 2 * power["mcse"]
