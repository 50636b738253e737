"""Analysing an experiment: intervals per point, sensitivity indices (SALib), scenario discovery (PRIM).

- Per point: the mean of each outcome over its replications with a 95% t interval.
- Sobol (first-order and total, with confidence intervals), Morris (mu*, sigma) and FAST
  indices from SALib, computed on the per-point means in the sampler's own order (the design
  is rebuilt from the experiment file, so it is exactly the matrix SALib drew).
- PRIM boxes (EMA Workbench's implementation) for the runs where a condition holds
  (`wrongful_sanction_share > 0.01`): the peeling trajectory with coverage and density, and the
  box with the highest density among those that keep at least half of the cases.
"""

from __future__ import annotations

import math
import operator
import re
import warnings
from pathlib import Path

import numpy as np

from scorelab.errors import ScorelabError
from scorelab.experiments.design import sample
from scorelab.experiments.runner import EXPERIMENT_FILE, read_results
from scorelab.experiments.spec import Experiment, parse_experiment

MIN_COVERAGE = 0.5  # the reported PRIM box keeps at least this share of the cases of interest
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le, "==": operator.eq,
       "!=": operator.ne}
_WHERE = re.compile(r"^\s*([A-Za-z_][\w.:-]*)\s*(>=|<=|==|!=|>|<)\s*([-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?)\s*$")


def load_folder_experiment(folder: Path) -> Experiment:
    path = Path(folder) / EXPERIMENT_FILE
    if not path.is_file():
        raise ScorelabError("not an experiment folder (no experiment.yaml)", path=str(folder),
                            allowed="DIR/<name> written by `scorelab experiment`")
    return parse_experiment(path.read_text(encoding="utf-8"), str(path), check=False)


def analyse(folder: str | Path, where: str | None = None) -> dict:
    folder = Path(folder)
    exp = load_folder_experiment(folder)
    df = read_results(folder)
    design = sample(exp)
    condition = parse_where(where, exp) if where else None
    out = {
        "experiment": exp.name, "folder": str(folder), "method": exp.sampler.method, "regimes": list(exp.regimes),
        "parameters": list(exp.paths), "outcomes": list(exp.outcomes), "runs": int(len(df)),
        "points": design.points, "replications": exp.replications,
        "citizens": exp.citizens, "days": exp.days,
        "per_point": per_point(df, exp),
        "indices": indices(df, exp, design) if exp.sampler.method in ("sobol", "morris", "fast") else None,
        "prim": prim_boxes(df, exp, *condition) if condition else None,
    }
    return _clean(out)


# ---------------------------------------------------------------------------- per point
def per_point(df, exp: Experiment) -> list[dict]:
    from scipy import stats

    rows = []
    for (regime, point), g in df.groupby(["regime", "point"], sort=False):
        row = {"regime": regime, "point": int(point),
               "parameters": {p: g[p].iloc[0] for p in exp.paths}, "outcomes": {}}
        for name in exp.outcomes:
            y = g[name].to_numpy(dtype=float)
            y = y[~np.isnan(y)]
            n = len(y)
            mean = float(y.mean()) if n else None
            sd = float(y.std(ddof=1)) if n > 1 else None
            ci = None
            if n > 1:
                half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
                ci = [mean - half, mean + half]
            row["outcomes"][name] = {"mean": mean, "sd": sd, "ci95": ci, "n": n}
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------- sensitivity
def indices(df, exp: Experiment, design) -> dict:
    """SALib indices per regime and outcome, on the per-point means (replications averaged)."""
    out: dict = {}
    for regime, g in df.groupby("regime", sort=False):
        out[regime] = {}
        means = g.groupby("point")[list(exp.outcomes)].mean().sort_index()
        for name in exp.outcomes:
            y = means[name].to_numpy(dtype=float)
            if np.isnan(y).any():
                out[regime][name] = {"skipped": f"{int(np.isnan(y).sum())} points have no value for this outcome"}
                continue
            if np.ptp(y) == 0:
                out[regime][name] = {"skipped": "the outcome does not vary across points"}
                continue
            out[regime][name] = _salib(exp, design, y)
    return out


def _salib(exp: Experiment, design, y: np.ndarray) -> dict:
    s = exp.sampler
    problem = design.problem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if s.method == "sobol":
            from SALib.analyze import sobol

            r = sobol.analyze(problem, y, calc_second_order=s.second_order, conf_level=0.95, seed=exp.seed)
            keys = ("S1", "S1_conf", "ST", "ST_conf")
        elif s.method == "morris":
            from SALib.analyze import morris

            r = morris.analyze(problem, design.raw, y, conf_level=0.95, num_levels=s.levels, seed=exp.seed)
            keys = ("mu", "mu_star", "mu_star_conf", "sigma")
        else:
            from SALib.analyze import fast

            r = fast.analyze(problem, y, M=s.interference, conf_level=0.95, seed=exp.seed)
            keys = ("S1", "S1_conf", "ST", "ST_conf")
    return {path: {k: float(np.asarray(r[k])[i]) for k in keys if k in r} for i, path in enumerate(problem["names"])}


# ---------------------------------------------------------------------------- scenario discovery
def parse_where(where: str, exp: Experiment) -> tuple[str, str, float]:
    m = _WHERE.match(where)
    if not m:
        raise ScorelabError(f"got {where!r}", key="--where",
                            allowed="OUTCOME OP NUMBER with OP one of > >= < <= == !=, e.g. "
                                    "\"wrongful_sanction_share > 0.01\"")
    name, op, value = m.group(1), m.group(2), float(m.group(3))
    if name not in exp.outcomes:
        raise ScorelabError(f"'{name}' is not an outcome of this experiment", key="--where",
                            allowed=", ".join(exp.outcomes))
    return name, op, value


def prim_boxes(df, exp: Experiment, outcome: str, op: str, value: float) -> dict:
    """PRIM (Friedman and Fisher 1999) with EMA Workbench: which parameter ranges make the condition likely."""
    import pandas as pd

    data = df[~df[outcome].isna()]
    x = pd.DataFrame({p: data[p].to_numpy() for p in exp.paths})
    if len(exp.regimes) > 1:
        x["regime"] = pd.Categorical(data["regime"].to_numpy())
    y = OPS[op](data[outcome].to_numpy(dtype=float), value)
    out = {"condition": f"{outcome} {op} {value:g}", "cases": int(y.sum()), "runs": int(len(y)), "boxes": []}
    if y.all() or not y.any():
        out["note"] = ("every run meets the condition" if y.all() else "no run meets the condition") + ": no box"
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim

        p = prim.Prim(x, y, threshold=0.5, peel_alpha=0.05, paste_alpha=0.05, mass_min=0.05)
        box = p.find_box()
    traj = box.peeling_trajectory
    trajectory = [{"coverage": float(r.coverage), "density": float(r.density), "mass": float(r.mass),
                   "restricted": int(r.res_dim)} for r in traj.itertuples()]
    ok = [i for i, t in enumerate(trajectory) if t["coverage"] >= MIN_COVERAGE] or [0]
    best = max(ok, key=lambda i: (trajectory[i]["density"], trajectory[i]["coverage"]))
    full, lims = box.box_lims[0], box.box_lims[best]
    limits = {}
    for col in lims.columns:
        lo, hi = lims[col].iloc[0], lims[col].iloc[1]
        if isinstance(lo, (set, frozenset)):
            if set(lo) != set(full[col].iloc[0]):
                limits[col] = {"values": sorted(map(str, lo))}
            continue
        if lo != full[col].iloc[0] or hi != full[col].iloc[1]:
            limits[col] = {"min": float(lo), "max": float(hi)}
    out["trajectory"] = trajectory
    out["boxes"].append({"step": best, **trajectory[best], "limits": limits,
                         "ranges": {c: [float(full[c].iloc[0]), float(full[c].iloc[1])] for c in exp.paths}})
    out["base_density"] = float(y.mean())
    return out


# ---------------------------------------------------------------------------- output
def _clean(x):
    """JSON-ready: numpy scalars to Python, NaN and infinities to None."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _pm(v, conf) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" + (f" ± {conf:.2g}" if conf is not None else "")


def print_analysis(r: dict, console) -> None:
    from rich.table import Table

    console.print(f"experiment {r['experiment']}: {r['runs']} runs, {r['points']} points x {r['replications']} "
                  f"replications ({r['method']}), {r['citizens']:,} citizens x {r['days']} days", markup=False,
                  highlight=False)
    if len(r["per_point"]) <= 40:
        t = Table("regime", "point", *[p.split(".")[-2] + "." + p.split(".")[-1] if p.count(".") else p
                                       for p in r["parameters"]],
                  *[f"{o} (mean [95% CI])" for o in r["outcomes"]], title="per point")
        for row in r["per_point"]:
            cells = []
            for o in r["outcomes"]:
                s = row["outcomes"][o]
                ci = s["ci95"]
                cells.append("-" if s["mean"] is None else f"{s['mean']:.4g}" + (
                    f" [{ci[0]:.3g}, {ci[1]:.3g}]" if ci else ""))
            t.add_row(row["regime"], str(row["point"]), *[f"{row['parameters'][p]:.4g}" if isinstance(
                row["parameters"][p], float) else str(row["parameters"][p]) for p in r["parameters"]], *cells)
        console.print(t)
    else:
        console.print(f"{len(r['per_point'])} points: use --json for every point's means and intervals",
                      markup=False, highlight=False)
    for regime, by_outcome in (r.get("indices") or {}).items():
        for outcome, idx in by_outcome.items():
            if "skipped" in idx:
                console.print(f"{regime} / {outcome}: no indices ({idx['skipped']})", markup=False, highlight=False)
                continue
            if r["method"] == "morris":
                t = Table("parameter", "mu*", "mu* conf", "sigma", title=f"Morris: {regime} / {outcome}")
                for p, v in idx.items():
                    t.add_row(p, f"{v['mu_star']:.3g}", f"{v['mu_star_conf']:.2g}", f"{v['sigma']:.3g}")
            else:
                t = Table("parameter", "first-order S1 (± 95%)", "total ST (± 95%)",
                          title=f"{r['method'].upper()}: {regime} / {outcome}")
                for p, v in idx.items():
                    t.add_row(p, _pm(v.get("S1"), v.get("S1_conf")), _pm(v.get("ST"), v.get("ST_conf")))
            console.print(t)
    prim = r.get("prim")
    if prim:
        console.print(f"PRIM for {prim['condition']}: {prim['cases']} of {prim['runs']} runs", markup=False,
                      highlight=False)
        if prim.get("note"):
            console.print(prim["note"], markup=False, highlight=False)
        for b in prim["boxes"]:
            console.print(f"box (peeling step {b['step']}): coverage {b['coverage']:.2f}, density {b['density']:.2f} "
                          f"(all runs: {prim['base_density']:.2f}), mass {b['mass']:.2f}", markup=False,
                          highlight=False)
            for p, lim in b["limits"].items():
                rng = f"{lim['min']:.4g} to {lim['max']:.4g}" if "min" in lim else ", ".join(lim["values"])
                console.print(f"  {p}: {rng}", markup=False, highlight=False)
            if not b["limits"]:
                console.print("  (no restriction: the condition holds about equally everywhere)", markup=False,
                              highlight=False)


def to_markdown(r: dict) -> str:
    """The analysis as Markdown tables: indices per outcome, then the PRIM box (docs, reports)."""
    lines = [f"{r['runs']} runs: {r['points']} points ({r['method']}) x {r['replications']} replication(s), "
             f"{r['citizens']:,} citizens x {r['days']} days.", ""]
    for regime, by_outcome in (r.get("indices") or {}).items():
        for outcome, idx in by_outcome.items():
            lines.append(f"**{outcome}** ({regime})" + (f": no indices, {idx['skipped']}" if "skipped" in idx else ""))
            lines.append("")
            if "skipped" in idx:
                continue
            if r["method"] == "morris":
                lines += ["| parameter | mu* | mu* 95% conf | sigma |", "|---|---|---|---|"]
                lines += [f"| `{p}` | {v['mu_star']:.3g} | {v['mu_star_conf']:.2g} | {v['sigma']:.3g} |"
                          for p, v in idx.items()]
            else:
                lines += ["| parameter | first-order S1 | total ST |", "|---|---|---|"]
                lines += [f"| `{p}` | {_pm(v.get('S1'), v.get('S1_conf'))} | {_pm(v.get('ST'), v.get('ST_conf'))} |"
                          for p, v in idx.items()]
            lines.append("")
    prim = r.get("prim")
    if prim:
        lines.append(f"**PRIM** for `{prim['condition']}`: {prim['cases']} of {prim['runs']} runs.")
        lines.append("")
        if prim.get("note"):
            lines += [prim["note"], ""]
        for b in prim["boxes"]:
            lines.append(f"Box at peeling step {b['step']}: coverage {b['coverage']:.2f}, density {b['density']:.2f} "
                         f"(all runs: {prim['base_density']:.2f}), mass {b['mass']:.2f}.")
            lines.append("")
            lines += ["| parameter | box | range in the runs |", "|---|---|---|"]
            for p, lim in b["limits"].items():
                box = f"{lim['min']:.4g} to {lim['max']:.4g}" if "min" in lim else ", ".join(lim["values"])
                full = b["ranges"].get(p)
                lines.append(f"| `{p}` | {box} | {f'{full[0]:.4g} to {full[1]:.4g}' if full else ''} |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
