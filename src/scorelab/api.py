"""The Python API; the command line (scorelab.cli) is a thin layer over these functions.

Reading runs (summary, explain, stories) stays light; making runs loads the engine
(scorelab.engine.runs) only when called.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from scorelab.regime.loader import load_regime
from scorelab.store.catalogue import refresh_catalogue
from scorelab.store.runfolder import read_manifest, resolve_run

if TYPE_CHECKING:
    from scorelab.society.model import Society

DEFAULT_RUNS = Path("runs")

__all__ = ["analyse_experiment", "build_society", "describe_run", "experiment", "explain", "list_experiments",
           "list_runs", "load_regime", "run", "stories", "summary"]


def build_society(citizens: int, seed: int = 0, **spec) -> Society:
    """Draw a society: `citizens` rows from the census marginals (see SocietySpec)."""
    from scorelab.engine import runs

    return runs.build_society(citizens, seed, **spec)


def run(regime: str | Path, citizens: int = 100_000, days: int = 365, seed: int = 0,
        baseline: str | None = "none", out: str | Path = DEFAULT_RUNS, society: str | Path | Society | None = None,
        ledger_cohort: float | None = None, events: str = "notable",
        progress: Callable[[str, int, int], None] | None = None, overrides: Mapping[str, object] | None = None,
        ) -> Path:
    """Run a regime (and its paired baseline) and return the new run folder.

    The baseline, when given, runs on the same society with the same seed (common random
    numbers), so the difference between the two runs is the regime's effect. `overrides`
    is a reform, {path: value}: `{"scorers.state.channels.cameras.misattribution": 0.01,
    "society.mean_degree": 12}` (paths in scorelab.reform and docs/EXPERIMENTS.md); the run id
    and manifest record it, and the run folder's regime.yaml is the effective regime.
    """
    from scorelab.engine import runs

    return runs.run(regime, citizens=citizens, days=days, seed=seed, baseline=baseline, out=out, society=society,
                    ledger_cohort=ledger_cohort, events=events, progress=progress, overrides=overrides)


def list_runs(out: str | Path = DEFAULT_RUNS) -> list[dict]:
    return refresh_catalogue(Path(out))


def summary(run: str | Path, out: str | Path = DEFAULT_RUNS) -> dict:
    folder = resolve_run(run, Path(out))
    cached = folder / "summary.json"
    if cached.exists():
        return json.loads(cached.read_text())
    from scorelab.metrics.summary import summarize

    return summarize(folder)


def describe_run(run: str | Path, out: str | Path = DEFAULT_RUNS) -> dict:
    return read_manifest(resolve_run(run, Path(out)))


def explain(run: str | Path, citizen: int, out: str | Path = DEFAULT_RUNS) -> dict:
    """One citizen's timeline and plain-language account (scorelab.ledger.explain)."""
    from scorelab.ledger.explain import explain as _explain

    return _explain(resolve_run(run, Path(out)), citizen)


def stories(run: str | Path, out: str | Path = DEFAULT_RUNS) -> list[dict]:
    """Illustrative citizens by criterion, each explained (scorelab.ledger.stories)."""
    from scorelab.ledger.stories import stories as _stories

    return _stories(resolve_run(run, Path(out)))


DEFAULT_EXPERIMENTS = Path("experiments")


def experiment(file: str | Path, out: str | Path = DEFAULT_EXPERIMENTS, executor: str = "local",
               workers: int | None = None, address: str | None = None, keep_runs: bool = False,
               progress: Callable[[str, int, int, int], None] | None = None) -> Path:
    """Run (or resume) an experiment file (docs/EXPERIMENTS.md); returns `out/<name>/` with results.parquet.

    `progress(stage, done, failed, total)` is called as runs finish (stage: baselines, runs).
    """
    from scorelab.experiments import run_experiment

    return run_experiment(file, out, executor=executor, workers=workers, address=address, keep_runs=keep_runs,
                          progress=progress)


def analyse_experiment(folder: str | Path, where: str | None = None) -> dict:
    """Per-point means with 95% intervals, SALib indices and PRIM boxes (`where`: "outcome > 0.01")."""
    from scorelab.experiments import analyse

    return analyse(folder, where=where)


def list_experiments(out: str | Path = DEFAULT_EXPERIMENTS) -> list[dict]:
    """The experiments under `out` (and their DuckDB catalogue, experiments.duckdb)."""
    from scorelab.experiments import refresh_experiments

    return refresh_experiments(Path(out)) if Path(out).is_dir() else []
