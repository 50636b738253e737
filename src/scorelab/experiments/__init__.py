"""Experiments (issue 11): sweeps, sensitivity analysis and scenario discovery over reforms.

`run_experiment(file, out)` runs an experiment file (docs/EXPERIMENTS.md) on a process pool or
on Ray and writes `out/<name>/results.parquet`; `analyse(folder)` summarises it (intervals,
SALib indices, PRIM boxes); `scorelab.experiments.plots.figures(folder)` gives its Plotly
figures; `list_experiments(out)` lists the experiments under a folder.
"""

from __future__ import annotations

from scorelab.experiments.catalogue import list_experiments, refresh_experiments
from scorelab.experiments.runner import read_results, run_experiment
from scorelab.experiments.spec import Experiment, load_experiment, parse_experiment

__all__ = ["Experiment", "analyse", "list_experiments", "load_experiment", "parse_experiment", "read_results",
           "refresh_experiments", "run_experiment"]


def analyse(folder, where: str | None = None) -> dict:
    """Per-point means and intervals, sensitivity indices and PRIM boxes (scorelab.experiments.analysis)."""
    from scorelab.experiments.analysis import analyse as _analyse

    return _analyse(folder, where=where)
