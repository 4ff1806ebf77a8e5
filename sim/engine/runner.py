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
import pyarrow.parquet as pq
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
    """All finished chunks, in replicate order: trial rows, design rows, pooled patient times.

    Memory stays near one copy of the data whatever the number of chunks: Parquet chunks are
    concatenated as Arrow tables and converted to pandas once (freeing Arrow buffers as it goes),
    and patient times are joined one column at a time."""
    d = out / CHUNK_DIR
    stems = finished_chunks(out)
    records = _read_parquet([d / f"{stem}.trials.parquet" for stem in stems])
    analyses = _read_parquet([d / f"{stem}.designs.parquet" for stem in stems])
    pooled: dict[str, list[np.ndarray]] = {}
    for stem in stems:
        with np.load(d / f"{stem}.npz") as z:
            for k in z.files:
                pooled.setdefault(k, []).append(z[k])
    merged = {}
    for k in list(pooled):
        merged[k] = np.concatenate(pooled.pop(k))
    return records, analyses, merged


def _read_parquet(files: list[Path]) -> pd.DataFrame:
    """Chunk files into one frame: columns preallocated from the files' row counts and filled a
    chunk at a time, so the peak is one copy of the data plus one chunk."""
    if not files:
        return pd.DataFrame()
    n = sum(pq.read_metadata(f).num_rows for f in files)
    columns: dict[str, np.ndarray] = {}
    pos = 0
    for f in files:
        part = pq.read_table(f).to_pandas()
        for name in part.columns:
            values = part[name].to_numpy()
            col = columns.get(name)
            if col is None:
                col = columns[name] = np.empty(n, dtype=values.dtype)
            elif np.result_type(col.dtype, values.dtype) != col.dtype:  # e.g. a count column with NaN
                col = columns[name] = col.astype(np.result_type(col.dtype, values.dtype))
            col[pos: pos + len(part)] = values
        pos += len(part)
    return pd.DataFrame(columns, copy=False)


def sort_frame(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """``frame`` sorted by ``keys`` (stable), reordering one column at a time to bound the peak memory."""
    if frame.empty:
        return frame
    order = np.lexsort([frame[k].to_numpy() for k in reversed(keys)])
    if np.array_equal(order, np.arange(len(order))):
        return frame
    out = {}
    for name in list(frame.columns):
        out[name] = frame[name].to_numpy()[order]
        del frame[name]
    return pd.DataFrame(out, copy=False)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _keep(out: Path, result: ChunkResult, progress) -> None:
    write_chunk(out, result)
    if progress is not None:
        progress(len(result.records))


def pending(scenario: Scenario, out: Path, start: int = 0, stop: int | None = None) -> list[tuple[int, int]]:
    """Chunks of replicates [start, stop) (default: all of monte_carlo.replicates) not yet on disk.
    Chunk boundaries are multiples of chunk_size whatever the range; a resumed run skips finished ones."""
    mc = scenario.monte_carlo
    stop = mc.replicates if stop is None else stop
    done = set(finished_chunks(out))
    return [(a, b) for a, b in chunk_ranges(stop, mc.chunk_size) if a >= start and _chunk_stem(a) not in done]


def run_replicates(scenario: Scenario, out: Path, progress=None, start: int = 0,
                   stop: int | None = None) -> tuple[bool, float]:
    """Run the pending chunks of replicates [start, stop) into ``out``; returns (interrupted, seconds)."""
    return run_cells([(scenario, out)], progress, [pending(scenario, out, start, stop)])


def run_cells(cells: list[tuple[Scenario, Path]], progress=None,
              todo: list[list[tuple[int, int]]] | None = None) -> tuple[bool, float]:
    """Run the pending chunks of several simulations (a comparison's cells) as one pool of tasks, so
    that workers stay busy across cells; each chunk goes to its own cell's folder as it finishes.
    The backend and workers are the first cell's monte_carlo settings."""
    todo = todo if todo is not None else [pending(sc, out) for sc, out in cells]
    mc = cells[0][0].monte_carlo
    payloads = [sc.model_dump_json() for sc, _ in cells]
    tasks = [(j, payloads[j], sc.monte_carlo.seed, a, b) for j, (sc, _) in enumerate(cells) for a, b in todo[j]]
    t0 = time.perf_counter()
    interrupted = False

    def keep(j: int, result: ChunkResult) -> None:
        _keep(cells[j][1], result, progress)

    try:
        if mc.backend == "dask":
            _run_on_dask(mc, tasks, keep)
        elif mc.workers == 1:
            for task in tasks:
                keep(*_task(*task))
        else:
            # Ctrl-C reaches the whole process group: only the parent handles it (keeping the
            # finished chunks and stopping the pool); workers ignore it instead of printing tracebacks.
            # Local workers share the disk: each writes its own chunk files (the parent only counts).
            with parallel_config(backend="loky", initializer=_ignore_sigint):
                for n in Parallel(n_jobs=mc.workers, return_as="generator_unordered")(
                        delayed(_task_written)(cells[task[0]][1], *task[1:]) for task in tasks):
                    if progress is not None:
                        progress(n)
    except KeyboardInterrupt:
        interrupted = True
    return interrupted, time.perf_counter() - t0


def _task(j: int, payload: str, seed: int, start: int, stop: int) -> tuple[int, ChunkResult]:
    return j, run_chunk(payload, seed, start, stop)


def _task_written(out: Path, payload: str, seed: int, start: int, stop: int) -> int:
    """Run a chunk and write its files from the worker; returns the number of replicates."""
    result = run_chunk(payload, seed, start, stop)
    write_chunk(out, result)
    return len(result.records)


def _run_on_dask(mc, tasks, keep) -> None:
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
        futures = client.map(_task, *zip(*tasks), pure=False) if tasks else []
        for future in as_completed(futures):
            keep(*future.result())
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
