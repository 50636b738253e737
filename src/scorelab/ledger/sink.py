"""Column tables that grow day by day and stream to Parquet (the ledger and its siblings).

Rows arrive as batches of NumPy arrays; they are flushed to a Parquet row group once enough
have gathered, so a 10-million-citizen run never holds its whole ledger in memory. Label
columns (rule, scorer, channel, ...) are stored as small integer codes in memory and written
as Parquet dictionary columns (a negative code is written as null), readable as strings by DuckDB, pandas and polars.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

FLUSH_ROWS = 2_000_000


def parquet_options(schema: pa.Schema) -> dict:
    """How a run's tables are written: lz4; dictionary pages only for the label columns (numbers of
    a million distinct values would fill a dictionary that Parquet then throws away); min/max
    statistics only for `day`, the one column a row group's range narrows (rows are written day by
    day; a row group holds nearly every citizen). The same tables, encoded in 55-65% of the time
    (benchmarks/RESULTS.md, issue 12)."""
    return {"compression": "lz4",
            "use_dictionary": [f.name for f in schema if pa.types.is_dictionary(f.type)] or False,
            "write_statistics": ["day"] if "day" in schema.names else False}


def writer_thread() -> ThreadPoolExecutor:
    """One writer thread for a run's sinks: Parquet encoding and compression release the GIL, so
    writing overlaps the simulation on a second core; FIFO order keeps each file's row groups in
    the order they were added. Its owner shuts it down when the tables are closed, so that no
    thread outlives the run (a process with threads must not fork: engine/forked.py)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="scorelab-parquet")


class TableSink:
    def __init__(self, path: Path, columns: dict[str, np.dtype], labels: dict[str, list[str]] | None = None,
                 sample: np.ndarray | None = None, writer: ThreadPoolExecutor | None = None) -> None:
        """`labels` maps a column to its code->name table; `sample` (bool per citizen) keeps
        only rows of sampled citizens (a cohort ledger for very large runs); `writer` is the
        thread shared by a run's sinks (without one the sink has its own)."""
        self.path = path
        self.columns = columns
        self.labels = labels or {}
        self.sample = sample
        self._chunks: dict[str, list[np.ndarray]] = {c: [] for c in columns}
        self._pending = 0
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._futures: list[Future] = []
        self._own_pool = writer is None
        self._pool = writer or writer_thread()
        self._schema = pa.schema([
            pa.field(c, pa.dictionary(pa.int16(), pa.string()) if c in self.labels else pa.from_numpy_dtype(dt))
            for c, dt in columns.items()])

    def add(self, **cols: np.ndarray) -> None:
        n = next(len(v) for v in cols.values() if np.ndim(v) == 1)
        if n == 0:
            return
        keep = None
        if self.sample is not None and "citizen" in cols:
            keep = self.sample[cols["citizen"]]
            n = int(keep.sum())
            if n == 0:
                return
        for c, dt in self.columns.items():
            v = cols[c]
            v = np.full(len(keep) if keep is not None else n, v, dtype=dt) if np.ndim(v) == 0 else v
            if keep is not None:
                v = v[keep]
            self._chunks[c].append(np.asarray(v, dtype=dt))
        self._pending += n
        self.rows += n
        if self._pending >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Hand the pending chunks to the writer thread: joining them, building the Arrow table
        and encoding it happen there, in order (one writer thread per run), not on the main thread."""
        if self._pending == 0:
            return
        chunks, self._chunks = self._chunks, {c: [] for c in self.columns}
        self._futures.append(self._pool.submit(self._write, chunks))
        self._pending = 0

    def _table(self, chunks: dict[str, list[np.ndarray]]) -> pa.Table:
        arrays = []
        for c in self.columns:
            data = np.concatenate(chunks[c])
            if c in self.labels:
                codes = data.astype(np.int16)
                arrays.append(pa.DictionaryArray.from_arrays(pa.array(codes, mask=codes < 0),
                                                             pa.array(self.labels[c], pa.string())))
            else:
                arrays.append(pa.array(data))
        return pa.Table.from_arrays(arrays, schema=self._schema)

    def _write(self, chunks: dict[str, list[np.ndarray]]) -> None:
        table = self._table(chunks)
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self._schema, **parquet_options(self._schema))
        self._writer.write_table(table)

    def close(self) -> None:
        self.flush()
        self._futures.append(self._pool.submit(self._finish))
        for f in self._futures:
            f.result()  # re-raises a writer error here, in the caller's thread
        self._futures = []
        if self._own_pool:
            self._pool.shutdown(wait=True)

    def _finish(self) -> None:
        if self._writer is None:
            pq.write_table(self._schema.empty_table(), self.path)
        else:
            self._writer.close()
