"""The design: the points an experiment runs, from its sampler (SALib where SALib has it).

The design is a pure function of the experiment (its parameters, sampler and seed), so the
analysis can rebuild exactly the matrix SALib's estimators expect, and a resumed experiment
runs exactly the points it started with.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from scorelab.experiments.spec import Experiment, point_value


@dataclass(frozen=True)
class Design:
    paths: tuple[str, ...]
    raw: np.ndarray            # points x parameters as sampled (numbers; grid: the values' positions)
    values: tuple[tuple, ...]  # points x parameters as applied (int fields rounded; grid values as given)
    problem: dict              # SALib's problem: names and bounds

    @property
    def points(self) -> int:
        return len(self.values)


def problem_of(exp: Experiment) -> dict:
    names = list(exp.paths)
    bounds = [[p.low, p.high] if p.values is None else [0, len(p.values) - 1] for p in exp.parameters.values()]
    return {"num_vars": len(names), "names": names, "bounds": bounds}


def sample(exp: Experiment) -> Design:
    """Every point of the experiment, in a fixed order (the `point` column is the row index)."""
    s = exp.sampler
    problem = problem_of(exp)
    seed = exp.seed
    if s.method == "grid":
        axes = [list(p.values) if p.values is not None else list(np.linspace(p.low, p.high, s.levels))
                for p in exp.parameters.values()]
        combos = list(itertools.product(*axes))
        raw = np.array(list(itertools.product(*[range(len(a)) for a in axes])), dtype=float)
        return Design(exp.paths, raw, tuple(tuple(point_value(path, x) for path, x in zip(exp.paths, c, strict=True))
                                             for c in combos), problem)
    if s.method == "mc":
        lo = np.array([b[0] for b in problem["bounds"]])
        hi = np.array([b[1] for b in problem["bounds"]])
        raw = lo + (hi - lo) * np.random.default_rng(seed).random((s.n, len(lo)))
    elif s.method == "lhs":
        from SALib.sample import latin

        raw = latin.sample(problem, s.n, seed=seed)
    elif s.method == "sobol":
        from SALib.sample import sobol

        raw = sobol.sample(problem, s.n, calc_second_order=s.second_order, seed=seed)
    elif s.method == "morris":
        from SALib.sample import morris

        raw = morris.sample(problem, s.n, num_levels=s.levels, seed=seed)
    else:
        from SALib.sample import fast_sampler

        raw = fast_sampler.sample(problem, s.n, M=s.interference, seed=seed)
    raw = np.asarray(raw, dtype=float)
    values = tuple(tuple(point_value(path, x) for path, x in zip(exp.paths, row, strict=True)) for row in raw)
    return Design(exp.paths, raw, values, problem)
