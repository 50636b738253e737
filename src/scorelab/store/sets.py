"""Replication sets: N runs of one regime with seeds s..s+N-1, and a set folder that names them.

A set folder `<first run id>-r<N>` lives beside its runs in the runs directory and holds
`set.json` (what was run and which run folders belong to it) and `summary.json` (the set
summary, metrics/intervals.py). It has no manifest, so no reader takes it for a run; it is written
under a hidden name and renamed into place, like a run. Format: docs/RUN_FORMAT.md.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from scorelab.errors import ScorelabError
from scorelab.store.runfolder import _ID, new_run_id, read_manifest, resolve_run

SET_FILE = "set.json"
SUMMARY = "summary.json"
SET_FORMAT_VERSION = 1


def write_set(runs_dir: Path, runs: list[str], society_shared: bool) -> Path:
    """Write the set folder for these run ids (oldest first) and return it."""
    if not runs:
        raise ScorelabError("a replication set needs at least one run", key="replications", allowed="1 or more")
    manifests = [read_manifest(runs_dir / r) for r in runs]
    first = manifests[0]
    set_id = new_run_id(runs_dir, f"{runs[0]}-r{len(runs)}")
    doc = {
        "format_version": SET_FORMAT_VERSION, "set_id": set_id, "kind": "replication_set",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "regime": first["regime"]["name"], "citizens": first["society"]["citizens"], "days": first["days"],
        "seeds": [m["seed"] for m in manifests], "replications": len(runs),
        "society": first["society"], "society_shared": society_shared,
        "baseline_regime": _baseline_regime(runs_dir, first),
        "runs": list(runs), "baselines": [m.get("baseline") for m in manifests],
    }
    tmp = runs_dir / f".partial-{set_id}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        (tmp / SET_FILE).write_text(json.dumps(doc, indent=2))
        (tmp / SUMMARY).write_text(json.dumps(set_summary_of(runs_dir, doc), indent=2, default=float))
        os.replace(tmp, runs_dir / set_id)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return runs_dir / set_id


def _baseline_regime(runs_dir: Path, manifest: dict) -> str | None:
    base = manifest.get("baseline")
    if not base or not (runs_dir / base / "manifest.json").exists():
        return None
    return read_manifest(runs_dir / base)["regime"]["name"]


def set_summary_of(runs_dir: Path, doc: dict) -> dict:
    """The set summary: what was run, then every measure with its interval (metrics/intervals.py)."""
    from scorelab.metrics.intervals import summarize_set
    from scorelab.metrics.summary import summarize

    summaries = []
    for r in doc["runs"]:
        folder = resolve_run(r, runs_dir)
        cached = folder / SUMMARY
        summaries.append(json.loads(cached.read_text()) if cached.exists() else summarize(folder))
    head = {"set_id": doc["set_id"], "regime": doc["regime"], "citizens": doc["citizens"], "days": doc["days"],
            "seeds": doc["seeds"], "replications": len(summaries), "runs": doc["runs"],
            "society_seed": doc["society"].get("seed"), "society_shared": doc["society_shared"]}
    return {**head, **summarize_set(summaries)}


def is_set(folder: Path) -> bool:
    return (folder / SET_FILE).is_file()


def resolve_set(name: str | Path, runs_dir: Path | None = None) -> Path | None:
    """A set given as its folder or as its id inside runs_dir; None if it is not a set."""
    p = Path(name)
    if is_set(p):
        return p
    if runs_dir is not None and _ID.match(str(name)) and is_set(runs_dir / str(name)):
        return runs_dir / str(name)
    return None


def read_set(folder: Path) -> dict:
    try:
        return json.loads((folder / SET_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ScorelabError(f"unreadable set file: {exc}", path=str(folder / SET_FILE)) from None


def read_set_summary(folder: Path) -> dict:
    """The stored set summary, or one made again from the runs if it is missing."""
    cached = folder / SUMMARY
    if cached.exists():
        return json.loads(cached.read_text())
    return set_summary_of(folder.parent, read_set(folder))


def list_sets(runs_dir: Path) -> list[dict]:
    """The replication sets in a runs directory, oldest first: one row per set (for the catalogue)."""
    if not runs_dir.is_dir():
        return []
    rows = []
    for p in sorted(runs_dir.iterdir()):
        if p.name.startswith(".") or not is_set(p):
            continue
        d = read_set(p)
        rows.append({"set_id": p.name, "regime": d.get("regime"), "citizens": d.get("citizens"),
                     "days": d.get("days"), "seeds": d.get("seeds"), "replications": d.get("replications"),
                     "runs": d.get("runs"), "created": d.get("created"), "path": str(p.resolve())})
    rows.sort(key=lambda r: (r["created"] or "", r["set_id"]))
    return rows
