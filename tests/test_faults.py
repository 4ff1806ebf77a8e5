"""Fault injection on real processes: what an operator does to a run, and what must come of it.

Concurrent writers, byte flips and truncation of chunk files, SIGKILL of the parent alone, SIGTERM
at the end of the simulation, a full disk and read-only folders (a small tmpfs in a private mount
namespace: ``unshare``, which needs no root where user namespaces are enabled; the tests skip with
the reason where it cannot), a comparison killed and resumed. Each asserts the exit code, that no
traceback reaches the user, that the message names the path or the resource, and that the results
are those of an uninterrupted run. The default sizes are small; ``-m slow`` runs the issue's figures
(20 concurrent pairs, 200 byte flips).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from functools import lru_cache
from pathlib import Path

import pandas as pd
import pytest

import sim
from conftest import ROOT, SCENARIOS
from sim.cli import main
from sim.engine import store

PLAIN = SCENARIOS / "plain_binary.yaml"
SMALL = ["--replicates", "300", "--set", "monte_carlo.chunk_size=50", "--workers", "1", "--quiet"]


def _cli(*argv: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)


@lru_cache(maxsize=None)
def _whole(seed: int, replicates: int = 300) -> str:
    """The metrics of an uninterrupted run (JSON text, so that the cache cannot be mutated)."""
    out = Path(os.environ.get("PYTEST_TMP_WHOLE", "/tmp")) / f"whole-{os.getpid()}-{seed}-{replicates}"
    shutil.rmtree(out, ignore_errors=True)
    r = sim.run(PLAIN, out, report=False, replicates=replicates, seed=seed, chunk_size=50, workers=1)
    shutil.rmtree(out, ignore_errors=True)
    return json.dumps(r.summary["metrics"])


def _metrics(out: Path) -> list[dict]:
    return json.loads((out / "summary.json").read_text())["metrics"]


# --- one writer per folder ---------------------------------------------------------------------

@pytest.mark.parametrize("pairs", [pytest.param(1, id="1-pair"), pytest.param(20, id="20-pairs", marks=pytest.mark.slow)])
def test_two_runs_started_together_into_one_folder_one_runs_the_other_is_refused(tmp_path, pairs):
    for k in range(pairs):
        out = tmp_path / f"shared{k}"
        procs = {seed: _cli("run", str(PLAIN), "--out", str(out), "--seed", str(seed), *SMALL) for seed in (7, 8)}
        done = {seed: (p.wait(timeout=300), p.stderr.read()) for seed, p in procs.items()}
        codes = sorted(rc for rc, _ in done.values())
        assert codes == [0, 2], done
        winner = next(seed for seed, (rc, _) in done.items() if rc == 0)
        loser_err = next(err for rc, err in done.values() if rc == 2)
        assert "Traceback" not in loser_err
        assert ("in use by pid" in loser_err or "folder is not empty" in loser_err) and str(out) in loser_err, loser_err
        summary = json.loads((out / "summary.json").read_text())
        assert summary["seed"] == winner
        assert summary["metrics"] == json.loads(_whole(winner))


def test_the_lock_names_its_holder_and_is_released_when_the_holder_dies(tmp_path):
    out = tmp_path / "held"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from sim.engine.lock import hold
        with hold(__import__('pathlib').Path({str(out)!r})):
            print('held', flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        rc = main(["run", str(PLAIN), "--out", str(out), *SMALL])
        assert rc == 2
        assert not (out / "checkpoint.json").exists(), "the refused run wrote into the folder"
    finally:
        holder.kill()
        holder.wait()
    assert main(["run", str(PLAIN), "--out", str(out), *SMALL]) == 0  # an OS lock dies with its holder


# --- damaged chunks ----------------------------------------------------------------------------

def _flip(path: Path, rng: random.Random) -> int:
    data = bytearray(path.read_bytes())
    at = rng.randrange(len(data))
    data[at] ^= rng.randrange(1, 256)
    path.write_bytes(bytes(data))
    return at


KINDS = (*store.CHUNK_PARTS, store.MANIFEST)


@pytest.mark.parametrize("flips", [pytest.param(12, id="12-flips"), pytest.param(200, id="200-flips", marks=pytest.mark.slow)])
def test_byte_flips_in_chunk_files_are_detected_and_recomputed_never_decoded(tmp_path, capsys, flips):
    """One flip per chunk per round, cycling through every kind of chunk file and spreading the offsets;
    after --resume the metrics are those of the uninterrupted run, and every flip was either named
    and recomputed or left the metrics identical (0 silently different results)."""
    whole = json.loads(_whole(11))
    base = tmp_path / "base"
    assert main(["run", str(PLAIN), "--out", str(base), "--seed", "11", *SMALL]) == 0
    rng = random.Random(20261203)
    done, detected, harmless, k = 0, 0, 0, 0
    while done < flips:
        out = tmp_path / f"round{k}"
        shutil.copytree(base, out)
        flipped = {}
        for j, stem in enumerate(store.manifests(out)):
            if done == flips:
                break
            kind = KINDS[(k + j) % len(KINDS)]
            f = out / store.CHUNK_DIR / f"{stem}.{kind}"
            before = f.read_bytes()
            _flip(f, rng)
            flipped[f.name] = (before, f.read_bytes())
            done += 1
        capsys.readouterr()
        assert main(["run", "--resume", str(out), "--quiet"]) == 0
        err = capsys.readouterr().err
        assert "Traceback" not in err
        summary = json.loads((out / "summary.json").read_text())
        assert summary["metrics"] == whole, f"round {k}: a flip changed the results"
        for name, (before, after) in flipped.items():
            stem = name.split(".")[0]  # a flipped digest in a manifest is reported at the file it describes
            if any(stem in w and "recomputed" in w for w in summary["warnings"]):
                detected += 1
            else:  # provably harmless: a manifest whose JSON still says exactly the same (e.g. a space for a tab)
                assert name.endswith(store.MANIFEST) and json.loads(after) == json.loads(before), name
                harmless += 1
        shutil.rmtree(out)
        k += 1
    print(f"{flips} flips: {detected} detected and recomputed, {harmless} provably harmless, 0 silently different")
    assert detected + harmless == flips


def test_truncated_empty_and_foreign_chunks_are_named_and_recomputed(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(PLAIN), "--out", str(out), "--seed", "11", *SMALL]) == 0
    stems = store.manifests(out)
    d = out / store.CHUNK_DIR
    trials = d / f"{stems[0]}.trials.parquet"
    trials.write_bytes(trials.read_bytes()[: trials.stat().st_size // 2])
    (d / f"{stems[1]}.npz").write_bytes(b"")
    (d / f"{stems[2]}.{store.MANIFEST}").unlink()  # a chunk whose write was killed before its manifest
    other = tmp_path / "other"  # a chunk of another run (seed 12) copied in
    assert main(["run", str(PLAIN), "--out", str(other), "--seed", "12", *SMALL]) == 0
    for part in KINDS:
        shutil.copy(other / store.CHUNK_DIR / f"{stems[3]}.{part}", d / f"{stems[3]}.{part}")
    capsys.readouterr()
    assert main(["run", "--resume", str(out), "--quiet"]) == 0
    warnings = json.loads((out / "summary.json").read_text())["warnings"]
    text = "\n".join(warnings)
    assert f"{stems[0]}.trials.parquet" in text and "truncated or damaged" in text
    assert f"{stems[1]}.npz" in text
    assert f"{stems[2]}" in text and "no manifest" in text
    assert f"{stems[3]}.{store.MANIFEST}: belongs to another run" in text
    assert _metrics(out) == json.loads(_whole(11))


def test_a_damaged_chunk_met_by_the_summary_stops_with_its_name(tmp_path):
    """Without --resume nothing is recomputed: the summary refuses a chunk that does not match its manifest."""
    from sim.engine.outputs import summarize_chunks
    from sim.errors import UserError

    out = tmp_path / "run"
    sim.run(PLAIN, out, report=False, replicates=100, seed=1, chunk_size=50, workers=1)
    f = out / store.CHUNK_DIR / f"{store.manifests(out)[1]}.designs.parquet"
    _flip(f, random.Random(1))
    with pytest.raises(UserError, match=f"{f.name}: its SHA-256 differs"):
        summarize_chunks(sim.load_scenario(out / "scenario.resolved.yaml"), out)


def test_damaged_checkpoint_or_scenario_copy_refuses_resume_naming_the_file(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(PLAIN), "--out", str(out), *SMALL]) == 0
    for name, expect in (("checkpoint.json", "is damaged"),
                         ("scenario.source.yaml", "is missing or damaged")):
        keep = (out / name).read_bytes()
        _flip(out / name, random.Random(name))
        capsys.readouterr()
        assert main(["run", "--resume", str(out), "--quiet"]) == 2
        err = capsys.readouterr().err
        assert name in err and expect in err and "Traceback" not in err, err
        (out / name).write_bytes(keep)


# --- processes that die -------------------------------------------------------------------------

def _session_pids(sid: int) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if os.getsid(int(p.name)) == sid:
                    pids.append(int(p.name))
            except (ProcessLookupError, PermissionError):
                pass
    return pids


def _wait_for_chunks(out: Path, n: int, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while len(store.manifests(out)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline, "no progress"
        time.sleep(0.05)


def test_workers_stop_when_only_the_parent_is_killed(tmp_path):
    out = tmp_path / "orphans"
    proc = _cli("run", str(PLAIN), "--out", str(out), "--replicates", "1000000", "--set", "monte_carlo.chunk_size=20",
                "--workers", "2", "--quiet")
    _wait_for_chunks(out, 2, proc)
    os.kill(proc.pid, signal.SIGKILL)  # the parent alone, not its process group
    proc.wait()
    deadline = time.time() + 30  # a worker still importing (a loaded CI machine) checks once it starts
    while _session_pids(proc.pid) and time.time() < deadline:
        time.sleep(0.1)
    assert _session_pids(proc.pid) == [], "workers outlived their parent"
    files = sorted(p.name for p in (out / store.CHUNK_DIR).iterdir())
    time.sleep(1.5)
    assert sorted(p.name for p in (out / store.CHUNK_DIR).iterdir()) == files, "chunks written after the parent died"


def test_sigterm_when_the_chunks_are_done_still_writes_the_summary_and_report(tmp_path):
    """A stop signal after the last chunk (the summary, the typical trial, the report) waits for them."""
    out = tmp_path / "late"
    proc = _cli("run", str(PLAIN), "--out", str(out), "--replicates", "2000", "--set", "monte_carlo.chunk_size=100",
                "--workers", "1", "--quiet")
    _wait_for_chunks(out, 20, proc)
    os.kill(proc.pid, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode in (0, 130) and "Traceback" not in stderr, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["replicates"] == 2000 and (out / "report.html").exists()
    assert len(pd.read_parquet(out / "analyses.parquet")) == 2000 * len(summary["designs"])


def test_sigterm_while_simulating_keeps_and_summarizes_the_finished_chunks(tmp_path):
    out = tmp_path / "stopped"
    proc = _cli("run", str(PLAIN), "--out", str(out), "--replicates", "1000000", "--set", "monte_carlo.chunk_size=20",
                "--workers", "2", "--quiet")
    _wait_for_chunks(out, 3, proc)
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] and summary["replicates"] == 20 * len(store.manifests(out))


# --- a full disk and read-only places (a tmpfs in a private mount namespace) ----------------------

def _namespace() -> list[str]:
    """The command prefix that gives a private mount namespace where tmpfs can be mounted, or skip."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("no unshare(1) here: cannot mount a small tmpfs without root")
    for prefix in ([unshare, "-rm"], [unshare, "-m"]):
        probe = subprocess.run([*prefix, "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs \"$d\""],
                               capture_output=True)
        if probe.returncode == 0:
            return prefix
    pytest.skip("cannot mount a tmpfs in a private mount namespace here (user namespaces disabled, no root)")


def _in_namespace(tmp_path: Path, script: str) -> subprocess.CompletedProcess:
    mnt = tmp_path / "mnt"
    mnt.mkdir(exist_ok=True)
    body = script.replace("@MNT@", str(mnt)).replace("@PY@", sys.executable).replace("@S@", str(SCENARIOS))
    return subprocess.run([*_namespace(), "sh", "-c", body], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_disk_full_exit_2_names_the_file_and_the_finished_chunks_resume(tmp_path):
    keep = tmp_path / "kept"
    r = _in_namespace(tmp_path, f"""
        mount -t tmpfs -o size=600k tmpfs @MNT@ || exit 99
        @PY@ -m sim run @S@/plain_binary.yaml --out @MNT@/run --seed 11 --replicates 800 \\
            --set monte_carlo.chunk_size=50 --workers 1 --quiet
        echo "rc=$?"
        cp -a @MNT@/run {keep}
    """)
    assert "rc=2" in r.stdout, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert "no space left on the device" in r.stderr and "@MNT@" not in r.stderr and "/mnt/run" in r.stderr
    assert "--resume" in r.stderr
    finished = store.manifests(keep)
    assert finished, "no chunk finished before the disk filled"
    assert main(["run", "--resume", str(keep), "--replicates", "300", "--quiet"]) == 2  # not the run it was
    assert main(["run", "--resume", str(keep), "--quiet"]) == 0
    summary = json.loads((keep / "summary.json").read_text())
    assert summary["replicates"] == 800
    full = sim.run(PLAIN, tmp_path / "full", report=False, replicates=800, seed=11, chunk_size=50, workers=1)
    assert summary["metrics"] == full.summary["metrics"]


@pytest.mark.parametrize("case", ["out-on-read-only-fs", "existing-out-read-only", "compare-under-read-only"])
def test_read_only_places_exit_2_naming_the_path(tmp_path, case):
    grid = tmp_path / "grid.yaml"
    grid.write_text(textwrap.dedent(f"""
        name: ro
        base: {PLAIN}
        scenarios: [{{name: plain}}]
        designs: {{analysis.test: [fisher, chisq]}}
        monte_carlo: {{replicates: 40, seed: 3, workers: 1, chunk_size: 20}}
    """))
    command = {
        "out-on-read-only-fs": "mount -t tmpfs -o ro,size=64k tmpfs @MNT@ || exit 99; "
                               "@PY@ -m sim run @S@/plain_binary.yaml --out @MNT@/run --replicates 40 --quiet",
        "existing-out-read-only": "mount -t tmpfs -o size=64k tmpfs @MNT@ || exit 99; mkdir @MNT@/run; "
                                  "mount -o remount,ro @MNT@ || exit 99; "
                                  "@PY@ -m sim run @S@/plain_binary.yaml --out @MNT@/run --replicates 40 --quiet",
        "compare-under-read-only": f"mount -t tmpfs -o ro,size=64k tmpfs @MNT@ || exit 99; "
                                   f"@PY@ -m sim compare {grid} --out @MNT@/cmp --quiet",
    }[case]
    r = _in_namespace(tmp_path, command + "; echo rc=$?")
    if "rc=" not in r.stdout and r.returncode == 99:
        pytest.skip("cannot remount read-only here")
    assert "rc=2" in r.stdout, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    assert str(tmp_path / "mnt") in r.stderr and ("read-only" in r.stderr.lower()), r.stderr


# --- comparisons resume --------------------------------------------------------------------------

GRID = """
    name: resumable
    base: @S@/plain_binary.yaml
    scenarios:
      - {name: plain}
      - {name: "null", set: {effects.rechallenge.dcr: 0.35, effects.rechallenge.median_pfs_true_months: 1.21,
                             effects.rechallenge.orr: 0.05, effects.rechallenge.median_os_months: 6.0}}
    designs:
      accrual.target_randomized: [40, 50]
      analysis.test: [fisher, boschloo]
    monte_carlo: {replicates: 120, seed: 5, workers: 2, chunk_size: 20}
"""


def test_compare_killed_at_three_points_and_resumed_gives_the_uninterrupted_tables(tmp_path):
    grid = tmp_path / "grid.yaml"
    grid.write_text(textwrap.dedent(GRID).replace("@S@", str(SCENARIOS)))
    whole = sim.compare(grid, tmp_path / "whole", report=False)
    out = tmp_path / "killed"
    rng = random.Random(20261203)
    total = 4 * 120 // 20
    for n, chunks in enumerate(sorted(rng.sample(range(2, total - 2), 3))):
        argv = ["compare", str(grid), "--out", str(out), "--quiet"] if n == 0 else \
            ["compare", "--resume", str(out), "--quiet"]
        proc = _cli(*argv)
        deadline = time.time() + 120
        while sum(len(store.manifests(c)) for c in (out / "cells").glob("*")) < chunks and proc.poll() is None:
            assert time.time() < deadline
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.2))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done = subprocess.run([sys.executable, "-m", "sim", "compare", "--resume", str(out), "--quiet"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("compare", "differences"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{name}.parquet"), pd.read_parquet(whole.out / f"{name}.parquet"))


def test_compare_resume_refuses_a_changed_grid_or_seed_naming_it(tmp_path, capsys):
    grid = tmp_path / "grid.yaml"
    grid.write_text(textwrap.dedent(GRID).replace("@S@", str(SCENARIOS)).replace("replicates: 120", "replicates: 40"))
    out = tmp_path / "cmp"
    assert main(["compare", str(grid), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["compare", str(grid), "--resume", str(out), "--seed", "6", "--quiet"]) == 2
    assert "the seed differs from the checkpoint's (5 there, 6 now)" in capsys.readouterr().err
    grid.write_text(grid.read_text().replace("target_randomized: [40, 50]", "target_randomized: [40, 60]"))
    assert main(["compare", "--resume", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "differs from the checkpoint's" in err and "target_randomized" in err, err
    assert main(["compare", str(grid), "--out", str(out), "--quiet"]) == 2  # not empty, and not --resume
    assert "folder is not empty" in capsys.readouterr().err


# --- a dask cluster that loses its scheduler or its workers --------------------------------------

def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*argv: str) -> subprocess.Popen:
    pytest.importorskip("dask.distributed", reason="dask is an extra: pip install 'rechallenge-sim[dask]'")
    return subprocess.Popen([sys.executable, "-m", "dask", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _scheduler() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = _dask("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    address = f"tcp://127.0.0.1:{port}"
    import socket

    deadline = time.time() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, address
        except OSError:
            assert time.time() < deadline, "the dask scheduler did not start"
            time.sleep(0.2)


def _stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def test_a_dask_cluster_without_workers_is_waited_for_a_bounded_time(tmp_path):
    scheduler, address = _scheduler()
    try:
        t0 = time.time()
        proc = _cli("run", str(PLAIN), "--out", str(tmp_path / "run"), "--scheduler", address,
                    "--set", "monte_carlo.worker_wait_s=3", *SMALL)
        _, stderr = proc.communicate(timeout=120)
        assert proc.returncode == 2 and "Traceback" not in stderr, stderr
        assert f"the dask cluster at {address} has no worker after 3 s (monte_carlo.worker_wait_s)" in stderr
        assert time.time() - t0 < 60
    finally:
        _stop(scheduler)


def test_a_killed_dask_worker_is_replaced_and_a_lost_scheduler_is_a_clear_error(tmp_path):
    scheduler, address = _scheduler()
    workers = [_dask("worker", address, "--nthreads", "1", "--no-dashboard") for _ in range(2)]
    out = tmp_path / "run"
    args = ["--replicates", "400", "--set", "monte_carlo.chunk_size=10", "--seed", "11", "--quiet"]
    try:
        proc = _cli("run", str(PLAIN), "--out", str(out), "--scheduler", address, *args)
        _wait_for_chunks(out, 3, proc)
        _stop(workers[0])  # a worker dies: its tasks run on the other one
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0 and "Traceback" not in stderr, stderr
        local = sim.run(PLAIN, tmp_path / "local", report=False, replicates=400, seed=11, chunk_size=10, workers=1)
        assert _metrics(out) == local.summary["metrics"]

        lost = tmp_path / "lost"
        proc = _cli("run", str(PLAIN), "--out", str(lost), "--scheduler", address,
                    *[a if a != "400" else "100000" for a in args])
        _wait_for_chunks(lost, 3, proc)
        _stop(scheduler)
        _, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 2 and "Traceback" not in stderr, stderr
        assert "lost the dask scheduler" in stderr and address in stderr and f"--resume {lost}" in stderr, stderr
        assert store.manifests(lost), "the chunks finished before the loss are kept"
    finally:
        _stop(scheduler, *workers)
