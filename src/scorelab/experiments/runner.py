"""Running an experiment: plan the runs, run what is missing, assemble results.parquet.

The experiment folder (`DIR/<name>/`) holds the experiment file as given, `experiment.json`
(what it is and how far it got), one small JSON file per finished run under `rows/` (written
atomically by the driver), the shared baselines under `runs/`, and, once every run is stored,
`results.parquet`. Re-running the same command runs only the runs that have no row yet, so an
interrupted experiment resumes without losing or repeating work; the table is assembled from
the rows in canonical order (regime, point, replication), so it has the same bits whatever the
executor, the number of workers, or the order in which runs finished.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import scorelab
from scorelab.errors import ScorelabError
from scorelab.experiments.design import Design, sample
from scorelab.experiments.executors import make_executor
from scorelab.experiments.spec import Experiment, load_experiment, outcome_values
from scorelab.experiments.tasks import RUNS, BaselineTask, RunTask, known_baseline, write_json_atomic
from scorelab.reform import field_kind, root_of

EXPERIMENT_FILE = "experiment.yaml"
EXPERIMENT_JSON = "experiment.json"
RESULTS = "results.parquet"
ROWS = "rows"
FAILURES = "failures.json"

Progress = Callable[[str, int, int, int], None]  # (stage, done, failed, total)


def run_experiment(file: str | Path, out: str | Path, *, executor: str = "local", workers: int | None = None,
                   address: str | None = None, keep_runs: bool = False, progress: Progress | None = None) -> Path:
    """Run (or resume) the experiment in `file` under `out/<name>/`; returns that folder."""
    exp, text = load_experiment(file)
    return run_loaded(exp, text, out, executor=executor, workers=workers, address=address, keep_runs=keep_runs,
                      progress=progress)


def run_loaded(exp: Experiment, text: str, out: str | Path, *, executor: str = "local", workers: int | None = None,
               address: str | None = None, keep_runs: bool = False, progress: Progress | None = None) -> Path:
    ex = make_executor(executor, workers, address)  # option errors before anything is written
    folder = Path(out) / exp.name
    _open_folder(folder, exp, text)
    design = sample(exp)
    plan = plan_runs(exp, design, folder, keep_runs)
    stored = stored_keys(folder)
    todo = [t for t in plan if t.key not in stored]
    if todo and not stored:
        check_outcomes(exp)
    failures: dict[str, str] = {}
    if todo:
        _update(folder, status="running", executor=executor, workers=workers, address=address)
        with ex:
            base_failed = _run_baselines(ex, todo, failures, progress)
            todo = [t for t in todo if t.baseline is None or t.baseline.key not in base_failed]
            _run_points(ex, folder, todo, len(plan), len(stored), failures, progress)
    if failures:
        write_json_atomic(folder / FAILURES, failures)
        first = next(iter(failures.items()))
        raise ScorelabError(f"{len(failures)} of {len(plan)} runs failed (first, {first[0]}: {first[1]}); the "
                            f"others are stored: run the same command again to retry the failed ones",
                            path=str(folder))
    (folder / FAILURES).unlink(missing_ok=True)
    assemble(folder, exp, design, plan)
    if not keep_runs:
        shutil.rmtree(folder / RUNS, ignore_errors=True)
        shutil.rmtree(folder / "baselines", ignore_errors=True)
    _update(folder, status="complete", finished=_now())
    from scorelab.experiments.catalogue import refresh_experiments

    refresh_experiments(Path(out))
    return folder


# ---------------------------------------------------------------------------- planning
def seed_of(exp: Experiment, regime_index: int, point: int, replication: int) -> int:
    """Seeds derive from the experiment, never from the order of execution.

    common: replication r runs seed + r at every point and for every regime (common random
    numbers: differences between points are the parameters' effect, and one baseline per
    replication serves them all); independent: a seed hashed from (name, regime, point, r).
    """
    if exp.seeds == "common":
        return exp.seed + replication
    key = f"{exp.name}|{exp.seed}|{regime_index}|{point}|{replication}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big") & 0x7FFFFFFF


def task_key(regime_index: int, point: int, replication: int) -> str:
    return f"r{regime_index}-p{point:05d}-x{replication:03d}"


def plan_runs(exp: Experiment, design: Design, folder: Path, keep_runs: bool = False) -> list[RunTask]:
    """Every run in canonical order (regime, point, replication), each with its shared baseline."""
    tasks = []
    baselines: dict[str, BaselineTask] = {}
    for ri, regime in enumerate(exp.regimes):
        for point, values in enumerate(design.values):
            overrides = {**exp.set, **dict(zip(design.paths, values, strict=True))}
            society = {root_of(p)[1]: v for p, v in overrides.items() if root_of(p)[0] == "society"}
            world = {p: v for p, v in overrides.items() if root_of(p)[0] == "world"}  # the baseline's world too
            for rep in range(exp.replications):
                seed = seed_of(exp, ri, point, rep)
                base = None
                if exp.baseline is not None:
                    bkey = _baseline_key(exp, seed, society, world)
                    base = baselines.setdefault(bkey, BaselineTask(bkey, str(folder), exp.baseline, exp.citizens,
                                                                   exp.days, seed, society, exp.world, world))
                tasks.append(RunTask(task_key(ri, point, rep), str(folder), ri, point, rep, regime, exp.citizens,
                                     exp.days, seed, overrides, exp.outcomes, base, keep_runs, exp.world))
    return tasks


def _baseline_key(exp: Experiment, seed: int, society: dict, world: dict | None = None) -> str:
    """A baseline is the same run for the same (baseline regime, society spec, world, seed, days)."""
    ident = [exp.baseline, exp.citizens, exp.days, seed, sorted(society.items())]
    if exp.world is not None or world:  # the default world adds nothing: older experiments keep their keys
        ident += [exp.world, sorted((world or {}).items())]
    ident = json.dumps(ident, default=str)
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------- running
def _run_baselines(ex, todo: list[RunTask], failures: dict, progress: Progress | None) -> set[str]:
    needed = list({t.baseline.key: t.baseline for t in todo
                   if t.baseline is not None and known_baseline(t.baseline) is None}.values())
    failed: set[str] = set()
    done = 0
    if not needed:
        return failed
    if progress:
        progress("baselines", 0, 0, len(needed))

    def finished(task: BaselineTask, result, error) -> None:
        nonlocal done
        if error is not None:
            failed.add(task.key)
            failures[f"baseline {task.key} (seed {task.seed})"] = error
        else:
            done += 1
        if progress:
            progress("baselines", done, len(failed), len(needed))

    ex.map(needed, finished)
    return failed


def _run_points(ex, folder: Path, todo: list[RunTask], total: int, already: int, failures: dict,
                progress: Progress | None) -> None:
    done, failed = already, 0
    if progress:
        progress("runs", done, failed, total)

    def finished(task: RunTask, result, error) -> None:
        nonlocal done, failed
        if error is not None:
            failed += 1
            failures[task.key] = error
        else:
            write_json_atomic(folder / ROWS / f"{task.key}.json", result)
            done += 1
        if progress:
            progress("runs", done, failed, total)

    ex.map(todo, finished)


def stored_keys(folder: Path) -> set[str]:
    rows = folder / ROWS
    return {p.stem for p in rows.glob("*.json")} if rows.is_dir() else set()


def check_outcomes(exp: Experiment) -> None:
    """Every outcome must name a measure of the summary: checked on a tiny run before the real ones."""
    from scorelab.engine import runs

    with tempfile.TemporaryDirectory(prefix="scorelab-probe-") as tmp:
        folder = runs.run(exp.regimes[0], citizens=min(exp.citizens, 300), days=min(exp.days, 5), seed=exp.seed,
                          baseline=exp.baseline, out=tmp, events="none", overrides=exp.set, catalogue=False,
                          world=exp.world)
        summary = json.loads((folder / "summary.json").read_text())
    outcome_values(summary, exp.outcomes)


# ---------------------------------------------------------------------------- the folder
def _open_folder(folder: Path, exp: Experiment, text: str) -> None:
    meta = folder / EXPERIMENT_JSON
    if meta.is_file():
        old = read_experiment_meta(folder)
        if old.get("digest") != exp.digest():
            raise ScorelabError("holds another experiment of the same name (its file has changed since)",
                                path=str(folder), allowed="the same experiment file to resume it, another --out, "
                                                          "or another name")
        return
    if folder.exists() and any(folder.iterdir()):
        raise ScorelabError("exists and is not an experiment folder", path=str(folder),
                            allowed="another --out or another experiment name")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / EXPERIMENT_FILE).write_text(text, encoding="utf-8")
    design = sample(exp)
    write_json_atomic(meta, {
        "name": exp.name, "description": exp.description, "digest": exp.digest(),
        "scorelab_version": scorelab.__version__, "created": _now(), "finished": None, "status": "new",
        "regimes": list(exp.regimes), "citizens": exp.citizens, "days": exp.days, "seed": exp.seed,
        "replications": exp.replications, "seeds": exp.seeds, "baseline": exp.baseline, "world": exp.world,
        "sampler": exp.sampler.model_dump(),
        "parameters": [{"path": p, **v.model_dump(exclude_none=True)} for p, v in exp.parameters.items()],
        "set": exp.set, "outcomes": list(exp.outcomes), "points": design.points,
        "runs": design.points * exp.replications * len(exp.regimes),
    })


def read_experiment_meta(folder: Path) -> dict:
    try:
        return json.loads((Path(folder) / EXPERIMENT_JSON).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ScorelabError(f"not an experiment folder ({exc})", path=str(folder),
                            allowed="DIR/<name> written by `scorelab experiment`") from None


def _update(folder: Path, **changes) -> None:
    meta = read_experiment_meta(folder)
    meta.update(changes)
    write_json_atomic(folder / EXPERIMENT_JSON, meta)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- results
def assemble(folder: Path, exp: Experiment, design: Design, plan: list[RunTask]) -> Path:
    """results.parquet: one row per run in canonical order; parameters as applied, outcomes as measured."""
    rows = [json.loads((folder / ROWS / f"{t.key}.json").read_text()) for t in plan]
    cols: dict[str, pa.Array] = {
        "regime": pa.array([_regime_label(exp.regimes[t.regime_index]) for t in plan], pa.string()),
        "point": pa.array([t.point for t in plan], pa.int64()),
        "replication": pa.array([t.replication for t in plan], pa.int64()),
        "seed": pa.array([t.seed for t in plan], pa.int64()),
    }
    for j, path in enumerate(design.paths):
        cols[path] = _param_column(path, [design.values[t.point][j] for t in plan])
    for name in exp.outcomes:
        cols[name] = pa.array([_float(r["outcomes"][name]) for r in rows], pa.float64())
    cols["run_id"] = pa.array([r["run_id"] for r in rows], pa.string())
    table = pa.table(cols)
    tmp = folder / f".{RESULTS}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, folder / RESULTS)
    return folder / RESULTS


def _regime_label(regime: str) -> str:
    return Path(regime).stem if regime.endswith((".yaml", ".yml")) else regime


def _param_column(path: str, values: list) -> pa.Array:
    kind = field_kind(path)
    if all(isinstance(v, bool) for v in values) or kind == "bool":
        return pa.array([bool(v) for v in values], pa.bool_())
    if kind == "int" and all(isinstance(v, int) for v in values):
        return pa.array(values, pa.int64())
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return pa.array([float(v) for v in values], pa.float64())
    return pa.array([json.dumps(v) if not isinstance(v, str) else v for v in values], pa.string())


def _float(v) -> float:
    return math.nan if v is None else float(v)


def read_results(folder: str | Path):
    """results.parquet as a pandas DataFrame (or one clear error)."""
    path = Path(folder) / RESULTS
    if not path.is_file():
        meta = Path(folder) / EXPERIMENT_JSON
        if meta.is_file():
            m = read_experiment_meta(Path(folder))
            raise ScorelabError(f"experiment not complete ({len(stored_keys(Path(folder)))} of {m.get('runs')} runs "
                                f"stored)", path=str(folder), allowed="run `scorelab experiment` again to finish it")
        raise ScorelabError("no results.parquet here", path=str(folder),
                            allowed="an experiment folder DIR/<name> written by `scorelab experiment`")
    return pq.read_table(path).to_pandas()


__all__ = ["assemble", "plan_runs", "read_results", "run_experiment", "run_loaded", "seed_of"]
