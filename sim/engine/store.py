"""The files of a run folder, written so that a damaged one is never read as a good one.

Atomic writes. Every file is written under a temporary name unique to its writer
(``.<name>.<pid>.<random>.tmp``), flushed, and renamed over its final name: a reader sees the old
file or the whole new one, never part of one, and two writers never share a temporary file. A
failed write removes its temporary file.

Chunks are self-describing. A chunk is three data files (``<stem>.npz``: patient times;
``<stem>.designs.parquet``: decisions; ``<stem>.trials.parquet``: per-replicate rows) and, written
last, ``<stem>.manifest.json``: the run it belongs to (the digest of the checkpoint), its replicate
range, and the size and SHA-256 of each data file. A chunk exists only when its manifest does;
reading it checks every size and digest, so a flipped byte, a truncated or empty file, a file from
another run or a leftover from a killed writer is found and named (``ChunkDamaged``), never decoded
into a wrong number. ``--resume`` checks every chunk this way and recomputes the damaged ones.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import UserError

CHUNK_DIR = "chunks"
#: the data files of a chunk, in the order they are written (the manifest comes last)
CHUNK_PARTS = ("npz", "designs.parquet", "trials.parquet")
MANIFEST = "manifest.json"


class ChunkDamaged(UserError):
    """A chunk file does not match its manifest (or has none)."""


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path to write ``path`` through; renamed over ``path`` when the block succeeds."""
    path = Path(path)
    tmp = temporary_name(path)
    try:
        yield tmp
        if tmp.exists():
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException as e:
        try:
            tmp.unlink()
        except OSError:
            pass
        if isinstance(e, OSError) and not e.filename:  # write() errors name no file: name the one being written
            raise OSError(e.errno, e.strerror or str(e), str(path)) from e
        raise


def write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_digest(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
            size += len(block)
    return size, h.hexdigest()


# --- chunks ---------------------------------------------------------------------------------

def chunk_stem(start: int) -> str:
    return f"chunk_{start:09d}"


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    sink = io.BytesIO()
    np.savez(sink, **arrays)
    return sink.getvalue()


def write_chunk(out: Path, run_id: str, start: int, stop: int, pooled: dict, analyses: pd.DataFrame,
                records: pd.DataFrame) -> None:
    """The chunk's three data files, then its manifest (which makes it exist)."""
    d = Path(out) / CHUNK_DIR
    d.mkdir(parents=True, exist_ok=True)
    stem = chunk_stem(start)
    files = {}
    for part, data in zip(CHUNK_PARTS, (_npz_bytes(pooled), _parquet_bytes(analyses), _parquet_bytes(records))):
        write_bytes(d / f"{stem}.{part}", data)
        files[part] = {"bytes": len(data), "sha256": digest(data)}
    write_json(d / f"{stem}.{MANIFEST}", {"run": run_id, "start": start, "stop": stop, "files": files})


def manifests(out: Path) -> list[str]:
    """Stems of the chunks whose manifest exists, in replicate order."""
    d = Path(out) / CHUNK_DIR
    return sorted(p.name.removesuffix(f".{MANIFEST}") for p in d.glob(f"chunk_*.{MANIFEST}"))


@dataclass(frozen=True)
class ChunkInfo:
    stem: str
    start: int
    stop: int
    files: dict


def check_chunk(out: Path, stem: str, run_id: str) -> ChunkInfo:
    """The chunk's manifest, after checking that it belongs to ``run_id`` and that every data file has the
    size and digest it records; ChunkDamaged naming the file otherwise."""
    d = Path(out) / CHUNK_DIR
    path = d / f"{stem}.{MANIFEST}"
    try:
        m = json.loads(path.read_bytes().decode("utf-8"))
        info = ChunkInfo(stem, int(m["start"]), int(m["stop"]), dict(m["files"]))
        run = m["run"]
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ChunkDamaged(f"{path}: unreadable chunk manifest ({type(e).__name__}: {e})") from None
    if run != run_id:
        raise ChunkDamaged(f"{path}: belongs to another run (run {run!r}, this run {run_id!r})")
    if stem != chunk_stem(info.start) or info.stop <= info.start or set(info.files) != set(CHUNK_PARTS):
        raise ChunkDamaged(f"{path}: inconsistent chunk manifest")
    for part in CHUNK_PARTS:
        f = d / f"{stem}.{part}"
        want = info.files[part]
        try:
            size, sha = file_digest(f)
        except OSError as e:
            raise ChunkDamaged(f"{f}: cannot read it ({e.strerror or e})") from None
        if size != want.get("bytes"):
            raise ChunkDamaged(f"{f}: {size} bytes, its manifest records {want.get('bytes')} (truncated or damaged)")
        if sha != want.get("sha256"):
            raise ChunkDamaged(f"{f}: its SHA-256 differs from the one its manifest records (damaged)")
    return info


def read_chunk(out: Path, info: ChunkInfo, columns: dict[str, list[str] | None] | None = None
               ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    """(records, analyses, pooled) of a checked chunk. ``columns``: per part ("trials", "designs",
    "npz"), the columns to read (None: all; a part absent from the mapping is not read)."""
    d = Path(out) / CHUNK_DIR
    want = columns if columns is not None else {"trials": None, "designs": None, "npz": None}
    records = pq.read_table(d / f"{info.stem}.trials.parquet", columns=want["trials"]).to_pandas() \
        if "trials" in want else pd.DataFrame()
    analyses = pq.read_table(d / f"{info.stem}.designs.parquet", columns=want["designs"]).to_pandas() \
        if "designs" in want else pd.DataFrame()
    pooled = {}
    if "npz" in want:
        with np.load(d / f"{info.stem}.npz") as z:
            pooled = {k: z[k] for k in (z.files if want["npz"] is None else want["npz"])}
    return records, analyses, pooled


def remove_chunk(out: Path, stem: str) -> None:
    """Remove a chunk (manifest first, so that a half-removed chunk does not exist)."""
    d = Path(out) / CHUNK_DIR
    for name in (f"{stem}.{MANIFEST}", *(f"{stem}.{p}" for p in CHUNK_PARTS)):
        try:
            (d / name).unlink()
        except FileNotFoundError:
            pass


def sweep_temporary(folder: Path) -> int:
    """Remove temporary files left by killed writers (only call while holding the folder's lock)."""
    n = 0
    for p in list(Path(folder).glob(".*.tmp")) + list((Path(folder) / CHUNK_DIR).glob(".*.tmp")):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n


def audit_chunks(out: Path, run_id: str, expected: dict[int, int]) -> tuple[list[ChunkInfo], list[str]]:
    """Check every chunk of a folder before resuming: (good chunks, what was wrong with the others).

    Damaged chunks and chunks whose range is not one this run would write are removed, so that
    they are recomputed; data files without a manifest (a killed write) are removed too."""
    d = Path(out) / CHUNK_DIR
    good, problems = [], []
    for stem in manifests(out):
        try:
            info = check_chunk(out, stem, run_id)
            if expected.get(info.start) != info.stop:
                raise ChunkDamaged(f"{d / stem}.{MANIFEST}: replicates {info.start}-{info.stop - 1} are not a chunk "
                                   f"of this run")
            good.append(info)
        except ChunkDamaged as e:
            problems.append(f"{e}; recomputed")
            remove_chunk(out, stem)
    kept = {i.stem for i in good}
    if d.is_dir():
        for p in d.glob("chunk_*"):
            stem = p.name.split(".")[0]
            if stem not in kept:
                problems.append(f"{p}: part of a chunk that never finished (no manifest); recomputed")
                p.unlink(missing_ok=True)
    return good, problems
