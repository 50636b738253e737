"""Run folders: find them, read their manifests, tell a damaged one from a run.

Runs are written under a hidden temporary name and renamed into place when complete
(store/writing.py), so a killed run leaves only a `.partial-*` folder, which no reader lists as
a run. The format is documented in docs/RUN_FORMAT.md.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from scorelab.errors import ScorelabError
from scorelab.store.faults import crash_point

MANIFEST = "manifest.json"
FORMAT_VERSION = 1
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]*$")  # '+path=value' names a reform (scorelab.reform)


def new_run_id(runs_dir: Path, stem: str) -> str:
    """A free name: `stem`, or `stem-2`, `stem-3`... if a folder or a folder being written has it.

    Not a reservation: runs are named by store/writing.py (`reserve`, atomic); this stays for
    folders written in one step by other modules (e.g. replication sets)."""
    stem = re.sub(r"[^A-Za-z0-9_.=+-]", "-", stem)
    name, k = stem, 1
    while (runs_dir / name).exists() or (runs_dir / f".partial-{name}").exists():
        k += 1
        name = f"{stem}-{k}"
    return name


def write_manifest(folder: Path, manifest: dict) -> None:
    """The manifest follows the tables (summary.json may follow it); the folder's rename is what
    publishes a run, and no reader lists a folder without a manifest."""
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
    crash_point("manifest")
    os.replace(tmp, folder / MANIFEST)


def write_json_atomic(path: Path, data) -> None:
    """A JSON file replaced in one step (written beside it, then renamed)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2, default=float))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def resolve_run(run: str | Path, runs_dir: Path | None = None) -> Path:
    """A run given as a folder path or as an id inside runs_dir; never a path outside it by id.

    A run whose manifest is damaged is one clear error here, for every command alike."""
    p = Path(run)
    if (p / MANIFEST).is_file():
        read_manifest(p)
        return p
    if runs_dir is not None and _ID.match(str(run)) and (runs_dir / str(run) / MANIFEST).is_file():
        read_manifest(runs_dir / str(run))
        return runs_dir / str(run)
    where = f" in {runs_dir}" if runs_dir is not None else ""
    raise ScorelabError(f"no run '{run}'{where}", key="RUN",
                        allowed="a run id listed by `scorelab runs` or the path of a run folder")


def read_manifest(folder: Path) -> dict:
    """A run's manifest, checked for the keys every reader relies on; a damaged one is one clear error."""
    path = folder / MANIFEST
    try:
        m = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)[:200]
        raise ScorelabError(f"damaged run folder: unreadable manifest ({detail})", path=str(path),
                            allowed="a run folder written by `scorelab run`") from None
    problem = _manifest_problem(m)
    if problem:
        raise ScorelabError(f"damaged run folder: manifest {problem}", path=str(path),
                            allowed="a run folder written by `scorelab run`")
    return m


def _manifest_problem(m) -> str | None:
    if not isinstance(m, dict):
        return "is not a JSON object"
    checks = (("regime", dict), ("society", dict), ("days", int), ("seed", int))
    for key, kind in checks:
        if not isinstance(m.get(key), kind) or isinstance(m.get(key), bool):
            return f"has no valid '{key}'"
    if not isinstance(m["regime"].get("name"), str):
        return "has no valid 'regime.name'"
    citizens = m["society"].get("citizens")
    if not isinstance(citizens, int) or isinstance(citizens, bool) or citizens < 1:
        return "has no valid 'society.citizens'"
    for key in ("baseline", "baseline_of"):
        if m.get(key) is not None and not (isinstance(m[key], str) and _ID.match(m[key])):
            return f"has no valid '{key}'"
    return None


def run_folders(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        return []
    return sorted(p for p in runs_dir.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / MANIFEST).is_file())
