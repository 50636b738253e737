"""What the routes share: the runs folder (read safely), the jobs, the report cache and the limits.

Ids come from URLs, so a run id is accepted only if it matches a strict pattern AND names a real
folder (not a symlink) directly inside the runs folder; it is never resolved as a path. A run folder
that holds a link is not shown at all (the report and `explain` read its files by path), and files
are opened relative to the folder's descriptor with O_NOFOLLOW, so a link planted between the check
and the read is refused rather than followed out of the runs folder.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from scorelab.errors import ScorelabError
from scorelab.store.runfolder import read_manifest, run_folders

RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.=+-]{0,199}$")  # "+path=value" names a reform
DEFAULT_MAX_CELLS = 400_000_000  # citizens x days of one composed run (100,000 x 365 is 36.5 million)


class BadInput(Exception):
    """Input a person can fix: shown on a 4xx page with what is allowed."""

    def __init__(self, text: str, status: int = 400, title: str = "Bad request") -> None:
        super().__init__(text)
        self.text, self.status, self.title = text, status, title


@dataclass(frozen=True)
class Limits:
    max_cells: int = DEFAULT_MAX_CELLS       # citizens x days of a composed run
    max_citizens: int = 2_000_000            # bigger runs belong on the command line
    max_days: int = 3650
    max_seed: int = 2**32 - 1
    max_pending_jobs: int = 4                # queued or running at once
    max_jobs_kept: int = 50                  # finished jobs remembered (oldest forgotten first)
    max_compare: int = 6
    max_reports: int = 24                    # report files kept in <runs>/.reports (least recently used go)
    sync_report_citizens: int = 300_000      # above this (summed over runs) a report is built in the background


def _regular(path: Path) -> bool:
    """A regular file, not a link to one."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


class RunsFolder:
    """The runs folder as the dashboard reads it: manifests, run folders by id, files without symlinks."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def folders(self) -> list[Path]:
        """Run folders that are real folders (not links) with a real manifest."""
        return [f for f in run_folders(self.root) if not f.is_symlink() and _regular(f / "manifest.json")]

    def folder(self, run_id: str) -> Path:
        """The folder of a run id listed in the runs folder; anything else is a 404 (never a path)."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id) or ".." in run_id:
            raise BadInput(f"no run '{run_id}': a run id is letters, digits, '.', '_' and '-' "
                           "(see the list of runs)", 404, "No such run")
        f = self.root / run_id
        try:
            st = os.lstat(f)
        except OSError:
            st = None
        if st is None or not stat.S_ISDIR(st.st_mode) or not _regular(f / "manifest.json"):
            raise BadInput(f"no run '{run_id}' in the runs folder (see the list of runs)", 404, "No such run")
        try:
            links = sorted(e.name for e in os.scandir(f) if e.is_symlink())
        except OSError:
            links = []
        if links:  # every reader (report, explain, downloads) would follow them: refuse the whole run
            raise BadInput(f"run '{run_id}' holds links ({', '.join(links[:5])}): the dashboard never follows "
                           "links, so it does not show this run", 422, "Run not shown")
        return f

    def manifest(self, folder: Path) -> dict:
        return read_manifest(folder)

    def summary(self, folder: Path) -> dict:
        try:
            return json.loads((folder / "summary.json").read_text())
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            return {}

    def catalogue(self) -> list[dict]:
        """The runs, read from their manifests (the source of truth), newest first, each followed by its
        paired baseline. Reading manifests, not writing catalogue.duckdb, keeps page views from racing a
        run that refreshes the catalogue as it finishes."""
        rows = []
        for folder in self.folders():
            try:
                m = read_manifest(folder)
            except ScorelabError:
                continue
            soc = m.get("society") if isinstance(m.get("society"), dict) else {}
            reg = m.get("regime") if isinstance(m.get("regime"), dict) else {}
            rows.append({"run_id": folder.name, "regime": reg.get("name"), "title": reg.get("title"),
                         "citizens": soc.get("citizens"), "days": m.get("days"), "seed": m.get("seed"),
                         "baseline": m.get("baseline"), "baseline_of": m.get("baseline_of"),
                         "created": m.get("created"), "wall_seconds": m.get("wall_seconds")})
        rows.sort(key=lambda r: (str(r["created"] or ""), r["run_id"]), reverse=True)
        ids = {r["run_id"] for r in rows}
        base = {r["baseline_of"]: r for r in rows if r["baseline_of"] in ids}
        ordered = []
        for r in rows:
            if r["baseline_of"] in ids and base.get(r["baseline_of"]) is r:
                continue
            ordered.append(r)
            if r["run_id"] in base:
                ordered.append(base[r["run_id"]])
        return ordered

    def open_file(self, run_id: str, name: str) -> BinaryIO:
        """A regular file directly inside a run folder, opened without following any symlink.

        The run folder is opened with O_NOFOLLOW | O_DIRECTORY and the file relative to it with
        O_NOFOLLOW, so neither can be swapped for a link between the check and the read.
        """
        self.folder(run_id)
        if "/" in name or name in ("", ".", ".."):
            raise BadInput(f"no file '{name}'", 404, "No such table")
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            dfd = os.open(self.root / run_id, flags | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            raise BadInput(f"no run '{run_id}' in the runs folder", 404, "No such run") from None
        try:
            fd = os.open(name, flags, dir_fd=dfd)
        except OSError:
            raise BadInput(f"this run has no readable {name} (a missing file, or a link, which is never "
                           "followed)", 404, "No such table") from None
        finally:
            os.close(dfd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise BadInput(f"this run has no readable {name}", 404, "No such table")
        return os.fdopen(fd, "rb")
