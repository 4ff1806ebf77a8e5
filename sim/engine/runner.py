"""Run many replicates: chunks on joblib workers, each written to disk as soon as it finishes.

Replicate i depends only on (scenario, seed, i) (see model/streams.py), and chunk boundaries
depend only on chunk_size, so results are identical for any number of workers. Finished
chunks are files under ``<out>/chunks``; an interrupted run (Ctrl-C) keeps them and the
summary is computed from whatever chunks exist.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed, parallel_config

from ..errors import UserError
from ..scenario.schema import Scenario
from . import store
from .checkpoint import run_id
from .chunk import ChunkResult, run_chunk



def chunk_ranges(replicates: int, chunk_size: int) -> list[tuple[int, int]]:
    return [(s, min(s + chunk_size, replicates)) for s in range(0, replicates, chunk_size)]


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


#: set in each local worker process: the parent it must outlive no longer than a poll
_PARENT_PID: int | None = None
PARENT_POLL_S = 0.5
#: environment variable through which local workers learn their parent's pid
PARENT_ENV = "RECHALLENGE_SIM_PARENT_PID"


def _init_worker() -> None:
    """Local (loky) worker set-up. Ctrl-C reaches the whole process group: only the parent handles it
    (keeping the finished chunks and stopping the pool); workers ignore it instead of printing
    tracebacks. A worker whose parent dies (SIGKILL) exits within PARENT_POLL_S and never writes
    another chunk into a folder that is no longer its run's (a resumed run may hold it by then)."""
    global _PARENT_PID
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # The pid the parent gave (a worker that starts after its parent died would see its reaper as parent).
    _PARENT_PID = int(os.environ.get(PARENT_ENV, os.getppid()))
    if os.getppid() != _PARENT_PID:
        os._exit(1)
    threading.Thread(target=_watch_parent, name="watch-parent", daemon=True).start()


def _watch_parent() -> None:
    while True:
        time.sleep(PARENT_POLL_S)
        if os.getppid() != _PARENT_PID:
            os._exit(1)


def _parent_alive() -> bool:
    return _PARENT_PID is None or os.getppid() == _PARENT_PID


def pending(scenario: Scenario, out: Path, start: int = 0, stop: int | None = None) -> list[tuple[int, int]]:
    """Chunks of replicates [start, stop) (default: all of monte_carlo.replicates) not yet on disk.
    Chunk boundaries are multiples of chunk_size whatever the range; a resumed run skips finished ones
    (their manifests exist: ``store.audit_chunks`` has checked them before)."""
    mc = scenario.monte_carlo
    stop = mc.replicates if stop is None else stop
    done = set(store.manifests(out))
    return [(a, b) for a, b in chunk_ranges(stop, mc.chunk_size) if a >= start and store.chunk_stem(a) not in done]


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
    ids = [run_id(sc) for sc, _ in cells]
    tasks = [(str(out), ids[j], payloads[j], sc.monte_carlo.seed, a, b)
             for j, (sc, out) in enumerate(cells) for a, b in todo[j]]
    t0 = time.perf_counter()
    interrupted = False

    def count(n: int) -> None:
        if progress is not None:
            progress(n)

    global _SIMULATING
    if _STOP_REQUESTED:  # a stop signal arrived before the chunks started: run none of them
        return True, 0.0
    _SIMULATING = True
    try:
        if mc.backend == "dask":
            _run_on_dask(mc, tasks, count)
        elif mc.workers == 1:
            for task in tasks:
                count(_task_written(*task))
        else:
            # Local workers share the disk: each writes its own chunk files (the parent only counts).
            os.environ[PARENT_ENV] = str(os.getpid())
            try:
                with parallel_config(backend="loky", initializer=_init_worker):
                    for n in Parallel(n_jobs=mc.workers, return_as="generator_unordered")(
                            delayed(_task_written)(*task) for task in tasks):
                        count(n)
            finally:
                # Idle workers would otherwise stay alive (and resident) through the summary.
                from joblib.externals.loky import get_reusable_executor

                get_reusable_executor().shutdown(wait=True)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        _SIMULATING = False
    return interrupted, time.perf_counter() - t0


_SIMULATING = False
_STOP_REQUESTED = False


def request_stop(requested: bool = True) -> None:
    """A stop signal arrived outside the simulation (``faults.deferred_interrupts``): chunks not started
    yet are not started."""
    global _STOP_REQUESTED
    _STOP_REQUESTED = requested


def simulating() -> bool:
    """True while chunks run: a stop signal then ends the simulation (its finished chunks are kept)."""
    return _SIMULATING


def _task(payload: str, seed: int, start: int, stop: int) -> ChunkResult:
    return run_chunk(payload, seed, start, stop)


def _write(out: str, run: str, result: ChunkResult) -> int:
    store.write_chunk(Path(out), run, result.start, result.start + len(result.records), result.pooled,
                      result.analyses, result.records)
    return len(result.records)


def _task_written(out: str, run: str, payload: str, seed: int, start: int, stop: int) -> int:
    """Run a chunk and write its files (from the worker, on a local pool); returns the number of replicates."""
    result = run_chunk(payload, seed, start, stop)
    if not _parent_alive():
        os._exit(1)
    return _write(out, run, result)


def _run_on_dask(mc, tasks, count) -> None:
    """Chunks as dask.distributed tasks: on the cluster at mc.scheduler, or on a LocalCluster of
    mc.workers processes. Each chunk is written by this process as it arrives, as with joblib.

    A cluster without workers is waited for at most mc.worker_wait_s; a lost scheduler or cluster
    stops the run with a message (DaskLost): the chunks written so far stay valid for --resume."""
    try:
        from dask.distributed import Client, LocalCluster, wait
    except ImportError:
        raise UserError("monte_carlo.backend dask needs dask.distributed: pip install 'rechallenge-sim[dask]'") from None
    where = mc.scheduler or "a LocalCluster"
    # dask logs a lost connection with its traceback (also from its own threads, after this returns); the
    # run says what happened in one message instead. Its loggers stay quiet for the rest of the process.
    for name in ["distributed", *(n for n in list(logging.root.manager.loggerDict) if n.startswith("distributed."))]:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    _dask_chunks(mc, tasks, count, where, Client, LocalCluster, wait)


def _dask_chunks(mc, tasks, count, where, Client, LocalCluster, wait) -> None:
    cluster = None
    try:
        if mc.scheduler:
            client = Client(mc.scheduler, timeout="10s")
        else:
            cluster = LocalCluster(n_workers=mc.workers, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
    except (OSError, TimeoutError) as e:
        raise DaskLost(f"monte_carlo.scheduler {where}: cannot reach the dask scheduler ({e})") from None
    futures = []
    try:
        try:
            client.wait_for_workers(1, timeout=mc.worker_wait_s)
        except (TimeoutError, OSError):
            raise DaskLost(f"the dask cluster at {where} has no worker after {mc.worker_wait_s:g} s "
                           f"(monte_carlo.worker_wait_s); start workers (dask worker {where}) and run again") from None
        futures = client.map(_task_chunk, tasks, pure=False) if tasks else []
        left, idle_s = set(futures), 0.0
        while left:
            try:
                done, _ = wait(list(left), timeout=DASK_POLL_S, return_when="FIRST_COMPLETED")
                idle_s = idle_s + DASK_POLL_S if not done and not client.scheduler_info()["workers"] else 0.0
            except _dask_errors() as e:
                if not isinstance(e, TimeoutError):
                    raise DaskLost(f"lost the dask scheduler at {where} ({type(e).__name__}: {e})") from None
                done = set()
                idle_s = idle_s + DASK_POLL_S if not client.scheduler_info()["workers"] else 0.0
            if idle_s > mc.worker_wait_s:
                raise DaskLost(f"the dask cluster at {where} has had no worker for {mc.worker_wait_s:g} s "
                               f"(monte_carlo.worker_wait_s)")
            for future in done:
                left.discard(future)
                try:
                    task, result = future.result()
                except _dask_errors() as e:
                    raise DaskLost(f"lost the dask scheduler or its workers at {where} "
                                   f"({type(e).__name__}: {e})") from None
                count(_write(task[0], task[1], result))
    finally:
        try:
            client.cancel(futures)
            client.close(timeout=5)
        except Exception:  # noqa: BLE001 - a lost scheduler cannot be told anything more
            pass
        if cluster is not None:
            cluster.close()


def _task_chunk(task):
    return task, run_chunk(*task[2:])


def _dask_errors() -> tuple[type[BaseException], ...]:
    """What dask raises when the scheduler or the workers are gone (a future cannot complete)."""
    import asyncio
    import concurrent.futures

    errors: list[type[BaseException]] = [asyncio.CancelledError, concurrent.futures.CancelledError, OSError,
                                         TimeoutError]
    try:
        from distributed.client import FutureCancelledError
        errors.append(FutureCancelledError)
    except ImportError:
        pass
    try:
        from distributed.comm.core import CommClosedError
        errors.append(CommClosedError)
    except ImportError:
        pass
    try:
        from distributed.scheduler import KilledWorker
        errors.append(KilledWorker)
    except ImportError:
        pass
    return tuple(errors)


class DaskLost(UserError):
    """The dask cluster cannot run the chunks (unreachable, no workers, lost mid-run)."""


#: how often the dask loop checks that the cluster still has workers while no chunk finishes
DASK_POLL_S = 1.0
