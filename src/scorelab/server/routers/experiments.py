"""Experiments (issue 11, scorelab.experiments): folders holding a `results.parquet`, one row per run.

The page works whether or not the experiments package is installed: it lists the experiment folders it
finds under `<runs>/experiments/` and directly in the runs folder, and says "no experiments yet" when
there are none.
"""

from __future__ import annotations

import importlib.util
import os
import stat
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from scorelab.server.state import RUN_ID, BadInput
from scorelab.server.templating import render

router = APIRouter(tags=["experiments"])
RESULTS = "results.parquet"
MAX_LISTED = 200
HEAD_ROWS = 100


def experiments_available() -> bool:
    try:
        return importlib.util.find_spec("scorelab.experiments") is not None
    except (ImportError, ValueError):
        return False


def _bases(root: Path) -> list[Path]:
    return [root / "experiments", root]


def _results(folder: Path) -> Path | None:
    """folder/results.parquet if both are real (no symlinks)."""
    try:
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            return None
        path = folder / RESULTS
        return path if stat.S_ISREG(os.lstat(path).st_mode) else None
    except OSError:
        return None


def list_experiments(root: Path) -> list[dict]:
    out, seen = [], set()
    for base in _bases(root):
        if not base.is_dir() or base.is_symlink():
            continue
        for folder in sorted(base.iterdir()):
            if folder.name.startswith(".") or folder.name in seen or not RUN_ID.match(folder.name):
                continue
            path = _results(folder)
            if path is None:
                continue
            try:
                meta = pq.ParquetFile(path)
                rows, columns = meta.metadata.num_rows, meta.schema_arrow.names
            except (OSError, pa.ArrowException):
                continue
            seen.add(folder.name)
            out.append({"name": folder.name, "rows": rows, "columns": columns, "path": path})
            if len(out) >= MAX_LISTED:
                return out
    return out


@router.get("/experiments", response_class=HTMLResponse)
def experiments_page(request: Request) -> Response:
    root = request.app.state.dashboard.runs.root
    return render(request, "experiments.html", title="Experiments", experiments=list_experiments(root),
                  available=experiments_available(), folder_name=root.name)


@router.get("/experiments/{name}", response_class=HTMLResponse)
def experiment_page(request: Request, name: str) -> Response:
    root = request.app.state.dashboard.runs.root
    found = next((x for x in list_experiments(root) if x["name"] == name), None) if RUN_ID.match(name) else None
    if found is None:
        raise BadInput(f"no experiment '{name}' (see the list of experiments)", 404, "No such experiment")
    try:
        pf = pq.ParquetFile(found["path"])
        head = next(pf.iter_batches(batch_size=HEAD_ROWS), None)
    except (OSError, pa.ArrowException):
        raise BadInput(f"experiment '{name}': its results cannot be read", 422, "Damaged experiment") from None
    rows = [list(r.values()) for r in head.to_pylist()] if head is not None else []
    return render(request, "experiment.html", title=f"Experiment {name}", rows=found["rows"],
                  columns=found["columns"], head=rows)
