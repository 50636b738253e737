"""Run folders: written under a hidden temporary name and renamed into place when complete.

A killed run leaves only a `.partial-*` folder, which no reader lists as a run. The format is
documented in docs/RUN_FORMAT.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scorelab.errors import ScorelabError

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")  # '+path=value' names a reform (scorelab.reform)


def new_run_id(runs_dir: Path, stem: str) -> str:
    """A fresh id: `stem`, or `stem-2`, `stem-3`... if taken."""
    stem = re.sub(r"[^A-Za-z0-9_.=+-]", "-", stem)
    run_id, k = stem, 1
    while (runs_dir / run_id).exists():
        k += 1
        run_id = f"{stem}-{k}"
    return run_id


@contextmanager
def partial_folder(runs_dir: Path, run_id: str) -> Iterator[Path]:
    """Yield a temporary folder; on success it becomes runs_dir/run_id, on failure it is removed."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    tmp = runs_dir / f".partial-{run_id}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        if not (tmp / MANIFEST).exists():
            raise RuntimeError("run folder has no manifest; refusing to publish it")
        os.replace(tmp, runs_dir / run_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_manifest(folder: Path, manifest: dict) -> None:
    """The manifest follows the tables (summary.json may follow it); the folder's rename is what
    publishes a run, and no reader lists a folder without a manifest."""
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    os.replace(tmp, folder / MANIFEST)


def resolve_run(run: str | Path, runs_dir: Path | None = None) -> Path:
    """A run given as a folder path or as an id inside runs_dir; never a path outside it by id."""
    p = Path(run)
    if (p / MANIFEST).is_file():
        return p
    if runs_dir is not None and _ID.match(str(run)) and (runs_dir / str(run) / MANIFEST).is_file():
        return runs_dir / str(run)
    where = f" in {runs_dir}" if runs_dir is not None else ""
    raise ScorelabError(f"no run '{run}'{where}", key="RUN",
                        allowed="a run id listed by `scorelab runs` or the path of a run folder")


def read_manifest(folder: Path) -> dict:
    try:
        return json.loads((folder / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ScorelabError(f"unreadable manifest: {exc}", path=str(folder / MANIFEST)) from None


def run_folders(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())
