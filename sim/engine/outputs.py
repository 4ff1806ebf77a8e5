"""From the chunk files to the run's tables and metric rows, in memory that does not grow with the run.

One pass over the chunks in replicate order, each checked against its manifest before it is read
(``store.check_chunk``): its rows are appended to ``replicates.parquet`` and, per design, to
``analyses.parquet`` (sorted by design, then replicate), and fed to the summary's mergeable
accumulators (``summary.summarize.Summarizer``). A second pass reads back only the columns the
summary still needs (the values around the quantiles it reports). Parquet files are written
through row groups of ``ROW_GROUP_ROWS`` rows under temporary names and renamed when complete,
so a kill leaves the previous file or none, never a truncated one. Peak memory is a few row
groups plus one chunk, whatever the number of replicates.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..analyses.plan import AnalysisPlan
from ..scenario.schema import Scenario
from ..summary.summarize import Summarizer
from ..summary.summarize import configured_figures
from . import store
from .checkpoint import run_id
from .runner import sort_frame

#: rows per Parquet row group of the final tables (memory per open table: this many rows)
ROW_GROUP_ROWS = 16_384


@dataclass
class Summarized:
    rows: list[dict]
    notes: list[str]
    replicates: int
    incomplete: int       # trials that did not reach the randomization target


class _Appender:
    """Appends pandas frames to one Parquet file in row groups of ROW_GROUP_ROWS, cast to one schema."""

    def __init__(self, path: Path, schema: pa.Schema):
        self.path, self.schema, self.parts, self.rows = path, schema, [], 0
        self.writer = pq.ParquetWriter(path, schema)

    def add(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.parts.append(pa.Table.from_pandas(frame, preserve_index=False).select(self.schema.names)
                              .cast(self.schema))
            self.rows += len(frame)
        if self.rows >= ROW_GROUP_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            self.writer.write_table(pa.concat_tables(self.parts), row_group_size=ROW_GROUP_ROWS)
            self.parts, self.rows = [], 0

    def close(self) -> None:
        self.flush()
        self.writer.close()


def _schema(files: list[Path]) -> pa.Schema | None:
    """One schema for the chunks' tables: a column that is whole numbers in one chunk and has a
    missing value (float) in another is float in all."""
    if not files:
        return None
    schemas = [pq.read_schema(f) for f in files]
    return pa.unify_schemas([s.remove_metadata() for s in schemas], promote_options="permissive")


def summarize_chunks(scenario: Scenario, out: Path, configured: dict | None = None,
                     write_tables: bool = True) -> Summarized:
    """Check every chunk, write replicates.parquet and analyses.parquet (``write_tables``), and return the
    metric rows of everything on disk."""
    out = Path(out)
    configured = configured_figures(scenario) if configured is None else configured
    identity = run_id(scenario)
    chunks = [store.check_chunk(out, stem, identity) for stem in store.manifests(out)]
    d = out / store.CHUNK_DIR
    summarizer = Summarizer(scenario, configured)
    designs = len(AnalysisPlan.from_scenario(scenario).designs)
    R = incomplete = 0
    with contextlib.ExitStack() as stack:
        records_out = by_design = None
        if write_tables and chunks:
            trials_schema = _schema([d / f"{c.stem}.trials.parquet" for c in chunks])
            designs_schema = _schema([d / f"{c.stem}.designs.parquet" for c in chunks])
            records_out = _open(stack, out / "replicates.parquet", trials_schema)
            by_design = [_open(stack, store.temporary_name(out / f"analyses.design{k}.parquet"), designs_schema,
                               final=False) for k in range(designs)]
        for info in chunks:
            records, analyses, pooled = store.read_chunk(out, info)
            records = sort_frame(records, ["replicate"])
            analyses = sort_frame(analyses, ["design", "replicate"])
            summarizer.add(records, analyses, pooled)
            R += len(records)
            incomplete += int((~records["accrual_complete"].astype(bool)).sum()) if len(records) else 0
            if records_out is not None:
                records_out.add(records)
                for k, appender in enumerate(by_design):
                    appender.add(analyses[analyses["design"] == k])
            del records, analyses, pooled
        if by_design is not None:
            for appender in by_design:
                appender.close()
            with store.atomic_path(out / "analyses.parquet") as tmp:
                final = pq.ParquetWriter(tmp, designs_schema)
                try:
                    for appender in by_design:
                        part = pq.ParquetFile(appender.path)
                        for g in range(part.num_row_groups):
                            final.write_table(part.read_row_group(g), row_group_size=ROW_GROUP_ROWS)
                finally:
                    final.close()
            for appender in by_design:
                appender.path.unlink(missing_ok=True)
    if write_tables and not chunks:  # nothing finished: empty tables, so that readers find the files
        for name in ("replicates", "analyses"):
            with store.atomic_path(out / f"{name}.parquet") as tmp:
                pd.DataFrame().to_parquet(tmp, index=False)
    columns = summarizer.second_pass_columns
    if columns:
        for info in chunks:
            records, analyses, _ = store.read_chunk(out, info, columns)
            summarizer.add_second(records, analyses)
    rows, notes = summarizer.result()
    return Summarized(rows, notes, R, incomplete)


def _open(stack: contextlib.ExitStack, path: Path, schema: pa.Schema, final: bool = True) -> _Appender:
    """An appender writing ``path`` (through a temporary name renamed at the end, for a final table)."""
    if final:
        tmp = stack.enter_context(store.atomic_path(path))
        appender = _Appender(tmp, schema)
        stack.callback(appender.close)  # runs before the rename (callbacks unwind last-in first-out)
        return appender
    appender = _Appender(path, schema)
    stack.callback(lambda: (appender.writer.close(), path.unlink(missing_ok=True)))
    return appender
