"""The units of work an executor runs: a shared baseline, or one run of one point.

Both are plain functions of a frozen task, so any executor (a process pool, Ray workers on
this machine or a cluster) runs them the same way and gets the same bits: nothing depends on
which worker runs a task, when, or how often (a retried task starts from a clean folder).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from scorelab.experiments.spec import outcome_values

RUNS = "runs"          # published run folders: shared baselines (and runs with --keep-runs)
BASELINES = "baselines"  # baseline key -> run id of the published baseline


def scratch(root: Path, name: str) -> Path:
    """A task's scratch folder on the worker's own disk (not the experiment's, which may be shared
    storage): a run writes its tables there and only its summary row travels. The name is fixed per
    experiment and task, so a retried task starts by removing what a killed attempt left."""
    tag = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"scorelab-exp-{tag}-{name}"


@dataclass(frozen=True)
class BaselineTask:
    """A run of the baseline regime: it depends on the society and the seed, not on the levers."""

    key: str
    folder: str
    regime: str
    citizens: int
    days: int
    seed: int
    society: dict = field(default_factory=dict)  # society.* overrides
    world: str | None = None  # the experiment's world (preset or file)
    world_set: dict = field(default_factory=dict)  # world.* overrides, by full path


@dataclass(frozen=True)
class RunTask:
    """One run of one point: regime `regime_index` of the experiment, design row `point`, replication."""

    key: str
    folder: str
    regime_index: int
    point: int
    replication: int
    regime: str
    citizens: int
    days: int
    seed: int
    overrides: dict
    outcomes: tuple[str, ...]
    baseline: BaselineTask | None
    keep_run: bool = False
    world: str | None = None


def execute(task: BaselineTask | RunTask) -> dict:
    """Run a task in this process; returns what the driver stores (small, JSON-able)."""
    if isinstance(task, BaselineTask):
        return {"run_id": run_baseline(task)}
    return _run(task)


def run_baseline(task: BaselineTask) -> str:
    """Publish the baseline under runs/ (once: a second writer finds it there) and return its id."""
    root = Path(task.folder)
    known = known_baseline(task)
    if known is not None:
        return known
    work = scratch(root, f"baseline-{task.key}")
    shutil.rmtree(work, ignore_errors=True)
    from scorelab.engine import runs

    made = runs.run(task.regime, citizens=task.citizens, days=task.days, seed=task.seed, baseline=None, out=work,
                    events="none", overrides={**{f"society.{k}": v for k, v in task.society.items()}, **task.world_set},
                    catalogue=False, world=task.world)
    dest = root / RUNS / made.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.parent / f".partial-{made.name}-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(made, partial)  # scratch and runs/ may be on different disks: copy, then rename
    try:
        os.rename(partial, dest)
    except OSError:  # published meanwhile by another worker: the same bits, keep theirs
        shutil.rmtree(partial, ignore_errors=True)
        if not (dest / "manifest.json").is_file():
            raise
    shutil.rmtree(work, ignore_errors=True)
    write_json_atomic(root / BASELINES / f"{task.key}.json", {"run_id": made.name})
    return made.name


def known_baseline(task: BaselineTask) -> str | None:
    marker = Path(task.folder) / BASELINES / f"{task.key}.json"
    if not marker.is_file():
        return None
    name = json.loads(marker.read_text())["run_id"]
    return name if (Path(task.folder) / RUNS / name / "manifest.json").is_file() else None


def _run(task: RunTask) -> dict:
    from scorelab.engine import runs

    root = Path(task.folder)
    work = scratch(root, task.key)
    shutil.rmtree(work, ignore_errors=True)  # what a killed attempt left
    work.mkdir(parents=True)
    base = None
    if task.baseline is not None:
        # on a cluster without shared storage the baseline may live on another node: make it here
        base = run_baseline(task.baseline)
        os.symlink((root / RUNS / base).resolve(), work / base)
    made = runs.run(task.regime, citizens=task.citizens, days=task.days, seed=task.seed, baseline=None, out=work,
                    events="none", overrides=task.overrides, baseline_run=base, catalogue=False, world=task.world)
    summary = json.loads((made / "summary.json").read_text())
    row = {"outcomes": outcome_values(summary, task.outcomes), "run_id": made.name}
    if task.keep_run and not (root / RUNS / made.name).exists():
        partial = root / RUNS / f".partial-{made.name}-{os.getpid()}"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(made, partial, symlinks=True)
        try:
            os.rename(partial, root / RUNS / made.name)
        except OSError:  # the same run kept meanwhile by another task (a repeated design point)
            shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)
    return row


def write_json_atomic(path: Path, data: dict) -> None:
    """Atomic: a reader sees the whole file or none of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True, allow_nan=True))
    os.replace(tmp, path)
