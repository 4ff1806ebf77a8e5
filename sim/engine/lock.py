"""One writer per results folder: an exclusive OS lock held for the whole life of a run or comparison.

Two runs started into the same ``--out`` would otherwise interleave their chunks, summaries and
reports (seed 8's metrics under seed 7's label). ``hold(folder)`` takes ``flock(LOCK_EX | LOCK_NB)``
on ``<folder>/.lock`` before anything else is written there and keeps it until the process ends or
leaves the block; a second writer is refused at once (exit 2) with the holder's pid, host, start time
and command, which the holder writes into the lock file once it has the lock.

The lock is the operating system's: it disappears with the process that holds it (also after
SIGKILL), so there is no stale lock to clean up. Its descriptor is close-on-exec, so worker
processes do not inherit it. It is re-entrant within one process (``run`` inside ``compare``, the
report after the engine). ``flock`` is advisory and local: on a network file system shared between
machines, give each machine its own folder.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserError

LOCK_FILE = ".lock"

#: folder (resolved) -> [descriptor, depth] for the locks this process holds
_HELD: dict[str, list[int]] = {}


class FolderBusy(UserError):
    """Another process holds the folder's lock."""


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode("utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process (it has not yet written who it is)"
    return (f"pid {info.get('pid')} on {info.get('host')}, started {info.get('started')} "
            f"({info.get('command')})")


@contextmanager
def hold(folder: Path, what: str = "run"):
    """Hold ``folder``'s exclusive lock for the block (creating the folder if needed)."""
    key = str(Path(folder).resolve())
    if key in _HELD:
        _HELD[key][1] += 1
        try:
            yield
        finally:
            _HELD[key][1] -= 1
        return
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise UserError(f"{folder}: cannot create the {what} folder's lock file ({e.strerror or e})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        who = _holder(fd)
        os.close(fd)
        raise FolderBusy(f"{folder}: in use by {who}; wait for it to finish, or choose another folder "
                         f"(two writers would mix their results)") from None
    try:
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:500]}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode("utf-8"), 0)
    except OSError:
        pass  # who holds it is a courtesy; the lock itself is what protects the folder
    _HELD[key] = [fd, 1]
    try:
        yield
    finally:
        _HELD[key][1] -= 1
        if _HELD[key][1] == 0:
            del _HELD[key]
            os.close(fd)  # releases the lock; the file stays (removing it would race a waiting writer)


def is_held(folder: Path) -> bool:
    return str(Path(folder).resolve()) in _HELD
