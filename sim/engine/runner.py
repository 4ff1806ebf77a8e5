"""Run many replicates: chunks on joblib workers, each written to disk as soon as it finishes.

Replicate i depends only on (scenario, seed, i) (see model/streams.py), and chunk boundaries
depend only on chunk_size, so results are identical for any number of workers. Finished
chunks are files under ``<out>/chunks``; an interrupted run (Ctrl-C) keeps them and the
summary is computed from whatever chunks exist.
"""
from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config

from ..errors import UserError
from ..scenario.schema import Scenario
from .chunk import ChunkResult, run_chunk

CHUNK_DIR = "chunks"


def chunk_ranges(replicates: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk_size, replicates)) for s in range(0, replicates, chunk_size)]


def _chunk_stem(start: int) -> str:
    return f"chunk_{start:09d}"


def write_chunk(out: Path, result: ChunkResult) -> None:
    """Three files per chunk; the trial rows are written last and mark the chunk complete."""
    d = out / CHUNK_DIR
    d.mkdir(parents=True, exist_ok=True)
    stem = _chunk_stem(result.start)
    # Write under a temporary name, then rename: a chunk file on disk is always complete.
    tmp = d / f"{stem}.npz.tmp"
    with open(tmp, "wb") as fh:
        np.savez(fh, **result.pooled)
    tmp.replace(d / f"{stem}.npz")
    for frame, kind in ((result.analyses, "designs"), (result.records, "trials")):
        tmp = d / f"{stem}.{kind}.parquet.tmp"
        frame.to_parquet(tmp, index=False)
        tmp.replace(d / f"{stem}.{kind}.parquet")


def finished_chunks(out: Path) -> list[str]:
    """Stems of the complete chunks (their trial rows, written last, exist)."""
    d = out / CHUNK_DIR
    return sorted(p.name.removesuffix(".trials.parquet") for p in d.glob("chunk_*.trials.parquet"))


def read_chunks(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """All finished chunks, in replicate order: trial rows, design rows, pooled patient times."""
    d = out / CHUNK_DIR
    trials, designs, pooled = [], [], []
    for stem in finished_chunks(out):
        trials.append(pd.read_parquet(d / f"{stem}.trials.parquet"))
        designs.append(pd.read_parquet(d / f"{stem}.designs.parquet"))
        with np.load(d / f"{stem}.npz") as z:
            pooled.append({k: z[k] for k in z.files})
    records = pd.concat(trials, ignore_index=True) if trials else pd.DataFrame()
    analyses = pd.concat(designs, ignore_index=True) if designs else pd.DataFrame()
    merged = {k: np.concatenate([p[k] for p in pooled]) for k in pooled[0]} if pooled else {}
    return records, analyses, merged


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _keep(out: Path, result: ChunkResult, progress) -> None:
    write_chunk(out, result)
    if progress is not None:
        progress(len(result.records))


def run_replicates(scenario: Scenario, out: Path, progress=None, start: int = 0,
                   stop: int | None = None) -> tuple[bool, float]:
    """Run the chunks of replicates [start, stop) (default: all of monte_carlo.replicates); returns
    (interrupted, elapsed seconds). Chunk boundaries are multiples of chunk_size whatever the range."""
    mc = scenario.monte_carlo
    payload = scenario.model_dump_json()
    stop = mc.replicates if stop is None else stop
    done = set(finished_chunks(out))  # a resumed run skips the chunks already on disk
    todo = [(a, b) for a, b in chunk_ranges(stop, mc.chunk_size) if a >= start and _chunk_stem(a) not in done]
    t0 = time.perf_counter()
    interrupted = False
    tasks = (delayed(run_chunk)(payload, mc.seed, a, b) for a, b in todo)
    try:
        if mc.backend == "dask":
            _run_on_dask(mc, payload, todo, out, progress)
        elif mc.workers == 1:
            for a, b in todo:
                _keep(out, run_chunk(payload, mc.seed, a, b), progress)
        else:
            # Ctrl-C reaches the whole process group: only the parent handles it (keeping the
            # finished chunks and stopping the pool); workers ignore it instead of printing tracebacks.
            with parallel_config(backend="loky", initializer=_ignore_sigint):
                for result in Parallel(n_jobs=mc.workers, return_as="generator_unordered")(tasks):
                    _keep(out, result, progress)
    except KeyboardInterrupt:
        interrupted = True
    return interrupted, time.perf_counter() - t0


def _run_on_dask(mc, payload: str, todo, out: Path, progress) -> None:
    """Chunks as dask.distributed tasks: on the cluster at mc.scheduler, or on a LocalCluster of
    mc.workers processes. Each chunk is written by this process as it arrives, as with joblib."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UserError("monte_carlo.backend dask needs dask.distributed: pip install 'rechallenge-sim[dask]'") from None
    if mc.scheduler:
        try:
            client = Client(mc.scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise UserError(f"monte_carlo.scheduler {mc.scheduler}: cannot reach the dask scheduler ({e})") from None
        cluster = None
    else:
        cluster = LocalCluster(n_workers=mc.workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    futures = []
    try:
        futures = client.map(run_chunk, [payload] * len(todo), [mc.seed] * len(todo), [a for a, _ in todo],
                             [b for _, b in todo], pure=False)
        for future in as_completed(futures):
            _keep(out, future.result(), progress)
    finally:
        client.cancel(futures)
        client.close()
        if cluster is not None:
            cluster.close()


def write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=_json_default) + "\n")
    tmp.replace(path)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
