"""Environmental faults and stop signals, as an operator meets them: a message and exit 2, nothing lost.

``folder_faults(out)`` turns an operating-system error while a run or comparison writes (disk
full, quota, read-only file system, permission) into a UserError naming the path and the cause,
and saying what is kept: chunks are written atomically with their manifests, so every finished
one stays valid and ``--resume`` continues from them once the cause is fixed.

``deferred_interrupts()`` decides what SIGINT (Ctrl-C) and SIGTERM (a batch scheduler's stop)
do in each phase. While chunks run (``runner.simulating()``) a signal stops the simulation: the
engine keeps the finished chunks and summarizes them (the run is marked interrupted, exit 130).
Outside it (checks, the summary, the report) the first signal is remembered and the work in hand
finishes, so that a stop never leaves a run without its summary; a second signal stops at once
(the files being written are temporary and are removed, the chunks stay for ``--resume``).
"""
from __future__ import annotations

import errno
import signal
import threading
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserError
from . import runner, store

#: causes of an OSError that a user fixes (space, permissions), by errno
CAUSES = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
          errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
          errno.EPERM: "operation not permitted", errno.EFBIG: "file too large for the file system",
          errno.EIO: "input/output error from the device"}


class FolderFault(UserError):
    """The results folder cannot be written (space, permissions, device)."""


def kept(out: Path) -> str:
    """What of the run in ``out`` survives, and how to continue it."""
    out = Path(out)
    cells = [out, *sorted((out / "cells").glob("*"))] if out.is_dir() else []
    done = sum(len(store.manifests(c)) for c in cells)
    if not done:
        return f"nothing of the run was finished in {out}"
    return f"the {done} finished chunk(s) in {out} are valid: fix the cause and continue with --resume {out}"


def explain(e: OSError, out: Path) -> str:
    where = e.filename or out
    cause = CAUSES.get(e.errno, e.strerror or str(e))
    return f"cannot write {where}: {cause}; {kept(out)}"


@contextmanager
def folder_faults(out: Path):
    """Environmental faults inside the block become one message (exit 2) that says what is kept."""
    try:
        yield
    except runner.DaskLost as e:
        raise FolderFault(f"{e}; {kept(Path(out))}") from None
    except OSError as e:
        if e.errno not in CAUSES and not e.filename:
            raise
        raise FolderFault(explain(e, Path(out))) from None


class _Stop:
    def __init__(self):
        self.received: str | None = None

    def handle(self, signum, frame):
        name = signal.Signals(signum).name
        if runner.simulating() or self.received:
            self.received = self.received or name
            raise KeyboardInterrupt
        self.received = name  # the work in hand finishes; a second signal stops it
        runner.request_stop()  # and no chunk starts after it


@contextmanager
def deferred_interrupts():
    """Install the handlers for the block (main thread only; elsewhere signals keep their handlers)."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {s: signal.signal(s, stop.handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        runner.request_stop(False)
