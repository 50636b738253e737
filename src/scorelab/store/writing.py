"""Writing runs safely: ids reserved atomically, runs published by rename, crashed writers cleaned up.

A run is written into `<runs>/.partial-<run_id>/`. That folder is created with mkdir, which fails
if it exists, so two processes writing into one runs folder never get the same id. It holds
`owner.json` (pid, host, process start time) while it is written. A run and its paired baseline
are published together by two renames, baseline first; a baseline whose run was never published
(its writer died between the renames, or before this design) is an orphan.

`clean_stale` removes what crashed writers leave: partial folders whose writer is gone, orphan
baselines, half-written catalogues. Every writer and every listing calls it.

An identical re-run (same regime text, society, seed, days, baseline and options: the run's
`request`) reuses the run already written, unless forced; a forced re-run gets the suffix
`-rerun<k>`, a different run whose natural id is taken gets `-<k>`, and both are announced.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scorelab.errors import ScorelabError
from scorelab.store.faults import crash_point
from scorelab.store.runfolder import MANIFEST, read_manifest, run_folders

PARTIAL = ".partial-"
TRASH = ".trash-"
CATALOGUE_TMP = ".catalogue-"
OWNER = "owner.json"
OWNERLESS_GRACE_SECONDS = 600  # a partial folder without owner.json is left alone this long (just created)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=+-]")  # "+path=value" names a reform (scorelab.reform)

Notify = Callable[[str], None]


@dataclass(frozen=True)
class Slot:
    """A reserved run id: its partial folder exists and is ours until published or released."""

    runs_dir: Path
    run_id: str

    @property
    def partial(self) -> Path:
        return self.runs_dir / f"{PARTIAL}{self.run_id}"

    @property
    def final(self) -> Path:
        return self.runs_dir / self.run_id

    @contextmanager
    def writing(self):
        """The folder to write the run into; it must hold a manifest when the block ends."""
        yield self.partial
        if not (self.partial / MANIFEST).is_file():
            raise RuntimeError("run folder has no manifest; refusing to publish it")

    def release(self) -> None:
        shutil.rmtree(self.partial, ignore_errors=True)


@dataclass
class Pending:
    """A run (and its baseline) being written; publish() or abandon() ends it."""

    run: Slot
    baseline: Slot | None

    def publish(self) -> Path:
        crash_point("publish")
        if self.baseline is not None:
            _publish(self.baseline)
            crash_point("baseline-published")
        try:
            _publish(self.run)
        except BaseException:
            if self.baseline is not None:  # no baseline without the run it belongs to
                _remove(self.baseline.final)
            raise
        return self.run.final

    def abandon(self) -> None:
        self.run.release()
        if self.baseline is not None:
            self.baseline.release()


def ensure_runs_dir(runs_dir: Path, key: str = "runs") -> Path:
    """The runs folder, created if missing; one clear error if it is a file or cannot be written."""
    runs_dir = Path(runs_dir)
    if runs_dir.exists() and not runs_dir.is_dir():
        raise ScorelabError("is a file, not a folder", path=str(runs_dir), key=key,
                            allowed="a folder for runs (created if missing)")
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ScorelabError(f"cannot create the runs folder: {exc.strerror or exc}", path=str(runs_dir),
                            key=key, allowed="a folder you can write to") from None
    if not os.access(runs_dir, os.W_OK | os.X_OK):
        raise ScorelabError("cannot write in this folder", path=str(runs_dir), key=key,
                            allowed="a folder you can write to")
    return runs_dir


def request_key(request: dict) -> str:
    """A run's identity: the hash of what determines its results (see `begin`)."""
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


def begin(runs_dir: Path, stem: str, request: dict, baseline_name: str | None, *, force: bool = False,
          notify: Notify | None = None) -> Path | Pending:
    """Reuse an identical run (returns its folder) or reserve ids for a new one (returns Pending)."""
    notify = notify or (lambda message: None)
    ensure_runs_dir(runs_dir)
    clean_stale(runs_dir)
    key = request_key(request)
    same = find_identical(runs_dir, key)
    if same is not None and not force:
        notify(f"reusing run {same.name}: same regime text, society, seed, days, baseline and options "
               "(--force makes a new one)")
        return same
    stem = _UNSAFE.sub("-", stem)
    run = reserve(runs_dir, stem, suffix="-rerun" if same is not None else "-", request_key=key)
    if same is not None:
        notify(f"new run {run.run_id} beside the identical {same.name} (--force)")
    elif run.run_id != stem:
        notify(f"{stem} holds a different run (another regime text, society, baseline or options) or one being "
               f"written; this run is {run.run_id}")
    base = None
    if baseline_name is not None:
        try:
            base_stem = _UNSAFE.sub("-", f"{run.run_id}--baseline-{baseline_name}")
            _remove_orphan(runs_dir / base_stem, run.run_id)
            base = reserve(runs_dir, base_stem)
        except BaseException:
            run.release()
            raise
    return Pending(run, base)


def reserve(runs_dir: Path, stem: str, *, suffix: str = "-", request_key: str | None = None) -> Slot:
    """Reserve `stem`, or `stem<suffix>2`, `stem<suffix>3`...: the first id nobody has or is writing."""
    k = 1
    while True:
        run_id = stem if k == 1 else f"{stem}{suffix}{k}"
        k += 1
        if os.path.lexists(runs_dir / run_id):
            continue
        slot = Slot(runs_dir, run_id)
        try:
            slot.partial.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise ScorelabError(f"cannot write in the runs folder: {exc.strerror or exc}", path=str(runs_dir),
                                key="runs", allowed="a folder you can write to") from None
        _write_json(slot.partial / OWNER, {**_me(), "request_key": request_key})
        if os.path.lexists(slot.final):  # published between our look and our mkdir
            slot.release()
            continue
        return slot


def find_identical(runs_dir: Path, key: str) -> Path | None:
    """The newest complete run (not a baseline) with this request key, its baseline intact."""
    found = []
    for folder in run_folders(runs_dir):
        try:
            m = read_manifest(folder)
            if m.get("baseline_of") or manifest_request_key(m, runs_dir) != key:
                continue
            if m.get("baseline") and read_manifest(runs_dir / m["baseline"]).get("baseline_of") != folder.name:
                continue
        except (ScorelabError, KeyError, TypeError, AttributeError):
            continue
        found.append((str(m.get("created") or ""), folder.name, folder))
    return max(found)[2] if found else None


def manifest_request_key(m: dict, runs_dir: Path) -> str:
    """The request key of a run on disk; derived from the manifest for runs written before it was stored."""
    if m.get("request_key"):
        return m["request_key"]
    base_sha = None
    if m.get("baseline"):
        base_sha = read_manifest(runs_dir / m["baseline"])["regime"]["sha256"]
    return request_key(run_request(m["regime"]["sha256"], base_sha, m["society"], m["seed"], m["days"],
                                   m["ledger"]["cohort_share"], m["events_written"], m.get("format_version"),
                                   m.get("scorelab_version")))


def run_request(regime_sha256: str, baseline_sha256: str | None, society: dict, seed: int, days: int,
                ledger_cohort: float, events: str, format_version, scorelab_version) -> dict:
    """What determines a run's results; stored in its manifest as `request`."""
    return {"regime_sha256": regime_sha256, "baseline_sha256": baseline_sha256, "society": society, "seed": seed,
            "days": days, "ledger_cohort": ledger_cohort, "events": events, "format_version": format_version,
            "scorelab_version": scorelab_version}


def society_fingerprint(society) -> str:
    """A hash of a society's columns and graphs, for societies made in memory (not from their spec)."""
    h = hashlib.blake2b(digest_size=16)
    arrays = [society.cols[k] for k in sorted(society.cols)]
    arrays += [society.household_indptr, society.household_members, society.graph_indptr, society.graph_indices]
    for a in arrays:
        h.update(str(a.dtype).encode())
        h.update(a.tobytes())
    return h.hexdigest()


# ---------------------------------------------------------------------------------------- cleaning up


def clean_stale(runs_dir: Path) -> list[str]:
    """Remove what crashed writers left behind; return the names removed. Never raises."""
    removed: list[str] = []
    try:
        entries = list(Path(runs_dir).iterdir())
    except OSError:
        return removed
    for p in entries:
        name = p.name
        try:
            if name.startswith(PARTIAL) and p.is_dir() and not _writer_alive(p):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(name)
            elif name.startswith(TRASH) and not _pid_alive(_trailing_pid(name)):
                _rmtree_or_unlink(p)
                removed.append(name)
            elif name.startswith(CATALOGUE_TMP) and not _pid_alive(_catalogue_tmp_pid(name)):
                p.unlink(missing_ok=True)
                removed.append(name)
        except OSError:
            continue
    for folder in run_folders(runs_dir):
        try:
            if is_orphan(folder):
                _remove(folder)
                removed.append(folder.name)
        except OSError:
            continue
    return removed


def is_orphan(folder: Path) -> bool:
    """A baseline whose run is neither being written nor published with it as its baseline."""
    try:
        m = read_manifest(folder)
    except ScorelabError:
        return False
    owner = m.get("baseline_of")
    if not owner or not isinstance(owner, str):
        return False
    partial = folder.parent / f"{PARTIAL}{owner}"
    if partial.is_dir() and _writer_alive(partial):
        return False
    run = folder.parent / owner
    if (run / MANIFEST).is_file():
        try:
            return read_manifest(run).get("baseline") != folder.name
        except ScorelabError:
            return False  # cannot tell: keep it
    return True


def _remove_orphan(folder: Path, owner: str) -> None:
    """Before reserving a baseline id: a published baseline of our (unpublished) run is an orphan."""
    if (folder / MANIFEST).is_file():
        try:
            stale = read_manifest(folder).get("baseline_of") == owner
        except ScorelabError:
            stale = False
        if stale:
            _remove(folder)


def _remove(folder: Path) -> None:
    """Take a published folder away at once (a rename), then delete it."""
    trash = folder.parent / f"{TRASH}{folder.name}-{os.getpid()}"
    try:
        os.rename(folder, trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _publish(slot: Slot) -> None:
    (slot.partial / OWNER).unlink(missing_ok=True)
    os.rename(slot.partial, slot.final)


def _rmtree_or_unlink(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def _writer_alive(partial: Path) -> bool:
    try:
        owner = json.loads((partial / OWNER).read_text())
        if not isinstance(owner, dict):
            raise ValueError("not a mapping")
    except FileNotFoundError:
        # just created (owner.json follows at once), or left by a version that named the pid in the folder
        if time.time() - partial.stat().st_mtime < OWNERLESS_GRACE_SECONDS:
            return True
        return _pid_alive(_trailing_pid(partial.name))
    except (OSError, ValueError):
        return time.time() - partial.stat().st_mtime < OWNERLESS_GRACE_SECONDS
    if owner.get("host") != socket.gethostname():
        return True  # another machine's writer (a shared folder): we cannot tell, so keep it
    pid = owner.get("pid")
    if not isinstance(pid, int) or not _pid_alive(pid):
        return False
    start = owner.get("start")
    return start is None or _process_start(pid) in (None, start)


def _me() -> dict:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "start": _process_start(pid),
            "created": datetime.now(UTC).isoformat(timespec="seconds")}


def _process_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), to tell a reused pid from its first owner."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _pid_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _trailing_pid(name: str) -> int | None:
    m = re.search(r"-(\d+)$", name)
    return int(m.group(1)) if m else None


def _catalogue_tmp_pid(name: str) -> int | None:
    m = re.match(rf"^{re.escape(CATALOGUE_TMP)}(\d+)-", name)
    return int(m.group(1)) if m else None


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True))
