"""Run tables as Parquet (the file itself) or CSV (converted while it streams), from an allow-list only."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from scorelab.server.state import BadInput
from scorelab.server.tables import FORMATS, TABLES

router = APIRouter(tags=["downloads"])
CHUNK = 1024 * 1024


@router.get("/runs/{run_id}/tables/{name}")
def download(request: Request, run_id: str, name: str) -> StreamingResponse:
    """The file is opened without following symlinks (RunsFolder.open_file) and streamed from that handle."""
    runs = request.app.state.dashboard.runs
    runs.folder(run_id)
    table, _, fmt = name.rpartition(".")
    if table not in TABLES or fmt not in FORMATS:
        raise BadInput(f"no table '{name}': allowed: " + ", ".join(f"{t}.csv, {t}.parquet" for t in TABLES),
                       404, "No such table")
    fh = runs.open_file(run_id, TABLES[table])
    if fmt == "csv":
        try:
            pf = pq.ParquetFile(fh)
        except (OSError, pa.ArrowException):
            fh.close()
            raise BadInput(f"this run's {table} table cannot be read (a damaged file?)", 422, "Damaged table") from None
        body = _csv_chunks(pf, fh)
    else:
        body = _file_chunks(fh)
    filename = f"{run_id}-{table}.{fmt}"
    return StreamingResponse(body, media_type=FORMATS[fmt],
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _file_chunks(fh: BinaryIO) -> Iterator[bytes]:
    with fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def _csv_chunks(pf: pq.ParquetFile, fh: BinaryIO) -> Iterator[bytes]:
    """Parquet to CSV, batch by batch: memory stays flat however large the table."""
    with fh:
        header = True
        for batch in pf.iter_batches(batch_size=65_536):
            buf = io.BytesIO()
            pacsv.write_csv(pa.Table.from_batches([batch]), buf,
                            write_options=pacsv.WriteOptions(include_header=header))
            header = False
            yield buf.getvalue()
        if header:  # no rows: the header alone
            buf = io.BytesIO()
            pacsv.write_csv(pf.schema_arrow.empty_table(), buf)
            yield buf.getvalue()
