"""Bounded inputs (issue 12, part 5): what a file or a scenario can make the simulator read, hold or run.

An input file is read only if it is a regular file, and at most ``MAX_INPUT_BYTES`` of it: before,
``run /dev/zero`` read 5.5 GB and died of MemoryError, ``/dev/urandom`` ran until killed and a FIFO
without a writer blocked forever, through a scenario path, a grid file or the scenario files a grid
names. Every time a scenario gives is at most 50 years, and three checks bound what fields make
together (expected arrivals, the trial's span, the scans it could record): before, one trial
accruing for a million months used 4.26 GB. The devices and the FIFO run as real processes, with a
timeout: a regression hangs or exhausts memory there, not in the test runner.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.cli import main
from sim.fields import MAX_DAYS, MAX_MONTHS
from sim.inputs import resolve
from sim.model.cycles import CycleClock
from sim.model.trial import TrialModel, simulate
from sim.scenario import loader
from sim.scenario.loader import MAX_INPUT_BYTES, ScenarioError, read_input
from sim.scenario.schema import (
    MAX_BLOCK_SIZE,
    MAX_EXPECTED_ARRIVALS,
    MAX_RANDOMIZED,
    MAX_SCANS_PER_TRIAL,
    Scenario,
)
from sim.stats.binary_tests import REGISTRY as TESTS

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ROOT / "scenarios" / "expected.yaml"
EXPECTED_TEXT = EXPECTED.read_text(encoding="utf-8")
ONLY_REGULAR = f"only a regular file of at most {MAX_INPUT_BYTES} bytes (1 MiB) is read"


def _sim(*argv: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess, float]:
    """``python -m sim ...`` as a user runs it: (the finished process, seconds it took)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "sim", *argv], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)
    return proc, time.monotonic() - start


def _refused(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, f"{fragment!r} not in:\n{proc.stderr}"


def _write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


@pytest.fixture(autouse=True)
def guard(monkeypatch):
    """Fail at once, in this process, if refused input gets as far as running replicates."""
    import importlib

    def refuse(*_a, **_k):
        raise AssertionError("the input was not refused before the run started")

    monkeypatch.setattr(importlib.import_module("sim.engine.run"), "run", refuse)


# --- what is read: regular files only, at most MAX_INPUT_BYTES ---------------------------------

@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_at_once(device, tmp_path):
    """Was: /dev/zero read until MemoryError (5.5 GB), /dev/urandom until killed."""
    proc, seconds = _sim("run", device, "--quiet", "--out", str(tmp_path / "out"))
    _refused(proc, f"error: {device}: is a character device, not a scenario file; {ONLY_REGULAR}")
    assert seconds < 30, f"took {seconds:.0f} s"
    assert not (tmp_path / "out").exists()


def test_a_fifo_without_a_writer_is_refused_without_blocking(tmp_path):
    """Was: open() waited forever for a writer."""
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    proc, _ = _sim("run", str(fifo), "--quiet", "--out", str(tmp_path / "out"))
    _refused(proc, f"error: {fifo}: is a named pipe (FIFO), not a scenario file; {ONLY_REGULAR}")


def test_a_resumed_runs_scenario_is_read_the_same_way(tmp_path):
    """``run --resume DIR`` reads DIR/scenario.resolved.yaml through the same reader."""
    run = tmp_path / "run"
    run.mkdir()
    os.mkfifo(run / "scenario.resolved.yaml")
    proc, _ = _sim("run", "--resume", str(run), "--quiet")
    _refused(proc, f"{run / 'scenario.resolved.yaml'}: is a named pipe (FIFO), not a scenario file")


def test_a_folder_is_refused(tmp_path, capsys):
    assert main(["run", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert f"error: {tmp_path}: is a folder, not a scenario file; {ONLY_REGULAR}" in capsys.readouterr().err


def test_a_file_over_the_limit_is_refused_by_its_size(tmp_path, capsys):
    big = tmp_path / "big.yaml"
    big.write_bytes(EXPECTED_TEXT.encode() + b"#" * (MAX_INPUT_BYTES + 1 - len(EXPECTED_TEXT.encode())))
    assert main(["run", str(big), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"error: {big}: {MAX_INPUT_BYTES + 1} bytes is too large for a scenario file; {ONLY_REGULAR}" in err, err


def test_a_file_at_the_limit_is_read(tmp_path):
    """The limit is inclusive: a scenario padded with a comment to exactly MAX_INPUT_BYTES is valid."""
    exact = tmp_path / "exact.yaml"
    head = EXPECTED_TEXT.encode() + b"# "
    exact.write_bytes(head + b"x" * (MAX_INPUT_BYTES - len(head) - 1) + b"\n")
    assert exact.stat().st_size == MAX_INPUT_BYTES
    assert resolve(exact).scenario.name == "expected"


def test_at_most_one_byte_over_the_limit_is_read_whatever_the_size_says(tmp_path, monkeypatch):
    """A file that grows while it is read, or tells no size (/proc files say 0), is read only to
    MAX_INPUT_BYTES + 1 bytes and refused."""
    grown = tmp_path / "grown.yaml"
    grown.write_bytes(b"#" * (3 * MAX_INPUT_BYTES))
    real_fstat, real_read, asked = os.fstat, os.read, []

    def small_fstat(fd):  # the size it had when it was opened
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid, st.st_gid, 10,
                               st.st_atime, st.st_mtime, st.st_ctime))

    def counted_read(fd, n):
        out = real_read(fd, n)
        asked.append(len(out))
        return out

    monkeypatch.setattr(loader.os, "fstat", small_fstat)
    monkeypatch.setattr(loader.os, "read", counted_read)
    with pytest.raises(ScenarioError) as e:
        read_input(grown)
    assert str(e.value) == (f"{grown}: more than {MAX_INPUT_BYTES} bytes (though its size said 10) is too large "
                            f"for a scenario file; {ONLY_REGULAR}")
    assert sum(asked) == MAX_INPUT_BYTES + 1


def test_the_limit_fits_the_parser_limits():
    """1 MiB holds the MAX_YAML_VALUES values a file may have at about ten bytes each ('  - 1234\\n')."""
    assert loader.MAX_YAML_VALUES * len("  - 1234\n") <= MAX_INPUT_BYTES < 2 * loader.MAX_YAML_VALUES * 10


# --- the same through a grid --------------------------------------------------------------

GRID = """\
    name: bounded
    base: {base}
    scenarios:
      - {{name: a}}
    designs:
      analysis.test: [fisher]
    monte_carlo: {{replicates: 10, seed: 1, workers: 1}}
    """


@pytest.mark.parametrize("what", ["/dev/zero", "fifo"])
def test_a_grid_naming_a_device_or_a_fifo_is_refused(what, tmp_path):
    target = what
    if what == "fifo":
        target = str(tmp_path / "scenario.yaml")
        os.mkfifo(target)
    grid = _write(tmp_path / "grid.yaml", GRID.format(base=target))
    proc, seconds = _sim("compare", str(grid), "--quiet", "--out", str(tmp_path / "out"))
    kind = "a character device" if what == "/dev/zero" else "a named pipe (FIFO)"
    line = _line_of(grid.read_text(), "{name: a}")
    _refused(proc, f"error: {grid}:{line}: {target}: is {kind}, not a scenario file; {ONLY_REGULAR}")
    assert seconds < 30, f"took {seconds:.0f} s"


def test_a_grid_file_that_is_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "grid.yaml"
    os.mkfifo(fifo)
    proc, _ = _sim("compare", str(fifo), "--quiet", "--out", str(tmp_path / "out"))
    _refused(proc, f"error: {fifo}: is a named pipe (FIFO), not a grid file; {ONLY_REGULAR}")


def test_a_grid_naming_a_file_with_a_nul_character_is_refused(tmp_path, capsys):
    """YAML can spell a NUL ("\\0") that no command line can: os.open raises ValueError, not OSError."""
    grid = _write(tmp_path / "grid.yaml", GRID.format(base='"a\\0b.yaml"'))
    assert main(["compare", str(grid), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"{grid}:{_line_of(grid.read_text(), '{name: a}')}: '{tmp_path}/a\\x00b.yaml': cannot read the scenario " \
           f"file (embedded null byte)" in err, err


def test_a_grid_reads_each_scenario_file_once(tmp_path, monkeypatch):
    """Every cell of a grid starts from its scenario file: it is read once, not once per cell."""
    from sim.inputs.grid import load_grid

    grid = _write(tmp_path / "grid.yaml", f"""\
        name: cells
        base: {ROOT / 'scenarios' / 'plain_binary.yaml'}
        scenarios: [{{name: a}}, {{name: b, set: {{analysis.alpha: 0.05}}}}]
        designs:
          accrual.target_randomized: [40, 50, 60]
        """)
    reads = []
    real = loader.read_input
    monkeypatch.setattr(loader, "read_input", lambda path, what="scenario file": reads.append(str(path)) or
                        real(path, what))
    _, cells = load_grid(grid)
    assert len(cells) == 6
    assert sorted(reads) == sorted([str(grid), str(ROOT / "scenarios" / "plain_binary.yaml")])


# --- every time at most 50 years, and what fields make together ----------------------------

def _edited(tmp_path: Path, pairs: dict[str, str]) -> tuple[Path, str]:
    """scenarios/expected.yaml with ``key: value`` lines replaced (key as it starts the line)."""
    text = EXPECTED_TEXT
    for old, new in pairs.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "bounded.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def test_max_months_above_the_bound_is_refused_with_file_and_line(tmp_path):
    """Was: accrual.max_months 1e6 ran (4.26 GB for one trial). Now the field names its bound."""
    path, text = _edited(tmp_path, {"max_months: 120 ": "max_months: 1000000 "})
    proc, _ = _sim("run", str(path), "--quiet", "--out", str(tmp_path / "out"))
    _refused(proc, f"error: {path}:{_line_of(text, 'max_months:')}: accrual.max_months: Input should be less than "
                   f"or equal to {MAX_MONTHS:g} (got 1000000)")


BOUNDS = [  # (--set assignment, the message after "--set ...: ")
    ("accrual.max_months=600.5", f"accrual.max_months: Input should be less than or equal to {MAX_MONTHS:g}"),
    ("analysis.follow_up_cutoff_months=601",
     "analysis.follow_up_cutoff_months: Input should be less than or equal to 600"),
    ("effects.reference_assessment_day=20000",
     f"effects.reference_assessment_day: Input should be less than or equal to {MAX_DAYS:g}"),
    ("treatment.delay.days.mean=1e9", f"treatment.delay.days.mean: Input should be less than or equal to {MAX_DAYS:g}"),
    ("screening.turnaround_days.mean=1e9", "screening.turnaround_days.mean: Input should be less than or equal to"),
    ("treatment.days_to_first_cycle=1e9", "treatment.days_to_first_cycle: Input should be less than or equal to"),
    ("treatment.backbones.0.cycle_days=100000",
     "treatment.backbones[0].cycle_days: Input should be less than or equal to 18262"),
    ("imaging.scan_after_cycles=[4, 8, 1000000000]",
     "imaging.scan_after_cycles[2]: Input should be less than or equal to 18262"),
    ("imaging.follow_up_interval_days=0.001",
     "imaging.follow_up_interval_days: Input should be greater than or equal to 1"),
    ("imaging.clinical_detection_lag_days=1e9",
     "imaging.clinical_detection_lag_days: Input should be less than or equal"),
    ("screening.ras_mutant.half_life_months=1e9",
     "screening.ras_mutant.half_life_months: Input should be less than or equal to 600"),
    ("screening.ras_mutant.months_since_cetuximab.mean=700",
     "screening.ras_mutant.months_since_cetuximab.mean: 700 months is more than 600 (50 years)"),
    ("accrual.screening_rates=[{from_month: 0, per_month: 1}, {from_month: 1e9, per_month: 2}]",
     "accrual.screening_rates[1].from_month: Input should be less than or equal to 600"),
    (f"accrual.target_randomized={MAX_RANDOMIZED + 1}",
     f"accrual.target_randomized: Input should be less than or equal to {MAX_RANDOMIZED}"),
    (f"randomization.block_size={MAX_BLOCK_SIZE * 10}",
     f"randomization.block_size: Input should be less than or equal to {MAX_BLOCK_SIZE}"),
]


@pytest.mark.parametrize("assignment,expect", BOUNDS)
def test_every_time_and_size_has_a_bound(assignment, expect, tmp_path, capsys):
    assert main(["run", str(EXPECTED), "--set", assignment, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"error: --set {assignment}: {expect}" in err, err


def test_expected_arrivals_are_bounded_naming_max_months_and_the_rates(tmp_path, capsys):
    """Accrual draws arrivals until the target is randomized or max_months: a target it never reaches
    makes it draw every arrival the rates give by then."""
    rate = (MAX_EXPECTED_ARRIVALS - 1.2 * 6 - 2.0 * 6) / 108 * 1.01  # just over the bound at max_months 120
    path, text = _edited(tmp_path, {"- {from_month: 12, per_month: 2.4}": f"- {{from_month: 12, per_month: {rate}}}"})
    expected = 1.2 * 6 + 2.0 * 6 + rate * 108
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {path}:{_line_of(text, 'max_months:')}: accrual.max_months: 120 months at accrual.screening_rates (up "
        f"to {rate:g} per month) expect {expected:,.0f} screening arrivals, should the target not be reached; a trial "
        f"may expect at most {MAX_EXPECTED_ARRIVALS:,} (each is simulated): lower max_months or the rates"), err


def test_the_span_of_the_trial_is_bounded_naming_both_fields(tmp_path, capsys):
    path, text = _edited(tmp_path, {"follow_up_cutoff_months: 24 ": "follow_up_cutoff_months: 500 "})
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {path}:{_line_of(text, 'follow_up_cutoff_months:')}: analysis.follow_up_cutoff_months: "
        f"accrual.max_months 120 + analysis.follow_up_cutoff_months 500 after the last randomization make the "
        f"simulated trial span 620 months; it may span at most 600 months (50 years)"), err


def test_the_span_counts_fixed_time_analyses_and_cycle_tied_scans(tmp_path, capsys):
    argv = ["run", str(EXPECTED), "--out", str(tmp_path / "out"), "--set"]
    late = "analysis.variants=[{primary_analysis: months_after_last_randomized, primary_analysis_months: 590}]"
    assert main([*argv, late]) == 2
    assert ("analysis.variants[0].primary_analysis_months: accrual.max_months 120 + "
            "analysis.variants[0].primary_analysis_months 590 after the last randomization make the simulated trial "
            "span 710 months") in capsys.readouterr().err
    assert main([*argv, "imaging.scan_after_cycles=[4, 8, 12, 1000]"]) == 2
    assert ("imaging.scan_after_cycles: accrual.max_months 120 + the scan after cycle 1000 of 28-day cycles 919.9 "
            "months after randomization make the simulated trial span 1040 months") in capsys.readouterr().err


def test_the_scans_a_trial_could_record_are_bounded(tmp_path, capsys):
    path, text = _edited(tmp_path, {"target_randomized: 50 ": "target_randomized: 400 ",
                                    "follow_up_interval_days: 56 ": "follow_up_interval_days: 1 "})
    per_patient = 3 + math.ceil(144 * 30.4375 / 1)
    assert 400 * per_patient > MAX_SCANS_PER_TRIAL
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        f"error: {path}:{_line_of(text, 'target_randomized:')}: accrual.target_randomized: 400 randomized patients, "
        f"each followed for up to 144 months (accrual.max_months 120 + analysis.follow_up_cutoff_months 24 after the "
        f"last randomization) with 3 scans after cycles and then one every 1 days (imaging.follow_up_interval_days), "
        f"could have {400 * per_patient:,} scans; a trial may have at most {MAX_SCANS_PER_TRIAL:,}"), err


def test_exact_unconditional_tests_bound_the_arms(tmp_path, capsys):
    """Their p-value matrix grows as n^2.5 (1.3-1.8 GB at 500 per arm): the design names the limit."""
    most = TESTS["boschloo"].max_arm
    assert most is not None and TESTS["barnard"].max_arm == most and TESTS["fisher"].max_arm is None
    argv = ["run", str(EXPECTED), "--out", str(tmp_path / "out"), "--set", "analysis.variants=[]"]
    assert main([*argv, "--set", "analysis.test=barnard", "--set", f"accrual.target_randomized={2 * most + 2}"]) == 2
    assert (f"analysis.test barnard is computed for arms of at most {most} patients (its p-values of every outcome "
            f"table take memory and time growing as n^2.5), and the planned arms are {most + 1} and {most + 1} "
            f"(accrual.target_randomized {2 * most + 2}); use fisher or chisq") in capsys.readouterr().err


def _largest() -> dict[str, dict]:
    """The scenarios benchmarks/largest_trial.py measures (its module docstring has the figures)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("largest_trial", ROOT / "benchmarks" / "largest_trial.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.scenarios()


@pytest.mark.parametrize("name", ["fisher", "barnard"])
def test_the_benchmarked_largest_trials_reach_every_bound(name, tmp_path):
    """What the benchmark measures is the largest trial: a step further on any axis is refused."""
    data = _largest()[name]
    path = tmp_path / "largest.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    scenario = resolve(path).scenario
    assert scenario.accrual.expected_arrivals() == pytest.approx(MAX_EXPECTED_ARRIVALS)
    months, _, _ = scenario.span()
    assert months == MAX_MONTHS
    target, interval = scenario.accrual.target_randomized, scenario.imaging.follow_up_interval_days
    assert target == (MAX_RANDOMIZED if name == "fisher" else 2 * TESTS[name].max_arm)
    scans = target * (1 + math.ceil(MAX_DAYS / interval))
    assert MAX_SCANS_PER_TRIAL - target <= scans <= MAX_SCANS_PER_TRIAL  # at most one scan a patient short
    for assignment in ["accrual.max_months=100.01", "analysis.follow_up_cutoff_months=500.01",
                       f"imaging.follow_up_interval_days={interval * 0.99}", f"accrual.target_randomized={target + 2}"]:
        with pytest.raises(ScenarioError):
            resolve(path, [assignment])


def test_the_example_scenarios_are_well_inside_the_bounds():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "base" in data:  # a grid
            continue
        s = resolve(path).scenario
        assert isinstance(s, Scenario)
        assert s.accrual.expected_arrivals() < MAX_EXPECTED_ARRIVALS / 10
        assert s.span()[0] < MAX_MONTHS / 2


# --- the model: no per-patient memory that grows with time ---------------------------------

@pytest.mark.parametrize("field", ["treatment.withdrawal_prob_per_cycle", "treatment.discontinuation_toxicity_prob_per_cycle"])
def test_a_tiny_per_cycle_probability_costs_no_memory(field):
    """Was: treatment stopping after cycle ~1e6 (probability 1e-6 per cycle) stored a million cycle starts
    per patient: 1 GB for two trials of 50 patients; 1e-9 would need 30 GB. Cycles are computed when
    needed, a period of delay columns at a time."""
    other = ({"treatment.withdrawal_prob_per_cycle", "treatment.discontinuation_toxicity_prob_per_cycle"} - {field}).pop()
    model = TrialModel(resolve(EXPECTED, {field: 1e-9, other: 0.0}).scenario)
    tracemalloc.start()
    try:
        table = simulate(model, 1, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50e6, f"{peak / 1e6:.0f} MB"
    assert table.patients["arm"].max() >= 0


def test_cycle_starts_do_not_depend_on_the_order_they_are_asked_for():
    """Only the latest period of cycle starts is kept: going back recomputes it from the first,
    bit for bit as the cumulative sum of every cycle's length and delay."""
    rng = np.random.default_rng(5)
    length, k = 14.0, 104
    delays = np.where(rng.random(k) < 0.3, rng.gamma(2.0, 3.0, k), 0.0)
    first = np.concatenate(([0.0], np.cumsum(length + delays)))
    starts = [*first.tolist()]
    while len(starts) < 2000:  # later periods reuse the delay columns, each from the last start
        starts += np.cumsum(np.concatenate(([starts[-1]], length + delays)))[1:].tolist()
    clock = CycleClock(length, first, delays)
    for c in rng.permutation(np.arange(1, 2000)).tolist()[:400] + [1999, 1, 700, 105, 106, 1500, 2]:
        assert clock.start(c) == starts[c - 1]
        assert clock.end(c) == starts[c - 1] + length
        assert clock.ends_before(c, clock.end(c) + 1e-9) and not clock.ends_before(c, clock.end(c))
    for t in rng.uniform(0, starts[1998], 300).tolist() + [starts[104], starts[105], starts[1000]]:
        assert clock.started_before(t) == int(np.searchsorted(starts, t, side="left"))


def test_a_screening_of_no_days_at_a_high_rate_does_not_crash():
    """Was: ValueError 'Negative delay -2.2e-16' from SimPy: the decision of a patient whose screening
    takes 0 days came a rounding before 'now' (now + (t - now) can exceed t)."""
    scenario = resolve(EXPECTED, {"accrual.screening_rates": [{"from_month": 0, "per_month": 500}],
                                  "accrual.max_months": 1, "screening.turnaround_days": {"distribution": "fixed",
                                                                                         "mean": 0}}).scenario
    table = simulate(TrialModel(scenario), 20200901, 0)
    assert len(table.patients["arm"]) > 100


def test_a_chunk_of_large_trials_is_bounded_naming_the_chunk_size_that_fits(capsys):
    """A worker holds a whole chunk: chunk_size x the arrivals a trial may expect is bounded."""
    from sim.scenario.schema import MAX_ARRIVALS_PER_CHUNK

    sc = resolve(ROOT / "scenarios" / "default.yaml").scenario
    per_trial = max(sc.accrual.expected_arrivals(), sc.accrual.target_randomized)
    fits = int(MAX_ARRIVALS_PER_CHUNK // per_trial)
    assert resolve(sc, [f"monte_carlo.chunk_size={fits}"]).scenario.monte_carlo.chunk_size == fits
    rc = main(["run", str(ROOT / "scenarios" / "default.yaml"), "--set", f"monte_carlo.chunk_size={fits + 1}",
               "--quiet", "--out", "/nonexistent/never-written"])
    err = capsys.readouterr().err
    assert rc == 2 and "monte_carlo.chunk_size" in err and f"use a chunk_size of at most {fits:,}" in err, err
