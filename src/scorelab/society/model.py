"""A society: citizens as columns, households and contacts as CSR. Same spec, same society."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scorelab.errors import ScorelabError
from scorelab.society.citizens import draw_citizens
from scorelab.society.graph import contact_graph, household_groups
from scorelab.society.marginals import DEFAULT, load_marginals, value
from scorelab.tables import CITIZEN_COLUMNS, CITIZEN_DEFAULTS, SECTOR_INDEX, WHITE_COLLAR


class SocietySpec(BaseModel):
    """What determines a society; stored in every run's manifest."""

    model_config = ConfigDict(extra="forbid")
    citizens: int = Field(gt=0, le=50_000_000, description="number of citizens")
    seed: int = Field(ge=0, description="seed of the society's random streams")
    marginals: str = Field(DEFAULT, description="marginals preset or YAML path")
    mean_degree: float | None = Field(None, ge=0, le=200, description="contacts per citizen (graph)")
    homophily: float | None = Field(None, ge=0, le=1, description="share of near ties")
    graph_model: Literal["homophilous", "erdos_renyi", "configuration"] | None = Field(
        None, description="contact graph model (society/graph.py); default homophilous")
    degree_distribution: Literal["poisson", "negative_binomial"] | None = Field(
        None, description="contacts per citizen: Poisson, or negative binomial with `degree_dispersion`")
    degree_dispersion: float | None = Field(None, gt=0, le=1000,
                                            description="k of the negative binomial: variance mean + mean^2/k")
    degree_pmf: tuple[float, ...] | None = Field(
        None, min_length=1, max_length=1001, description="probability of 0, 1, 2, ... contacts (instead of a "
        "distribution and mean_degree)")
    cashless_share: float | None = Field(None, ge=0, le=1, description="share of purchases paid digitally")
    awareness: float | None = Field(None, ge=0, le=1, description="share of citizens aware of the system")

    @model_validator(mode="after")
    def _graph(self):
        if self.graph_model == "erdos_renyi" and (self.degree_pmf or self.degree_distribution):
            raise ValueError("erdos_renyi draws its own (binomial) degrees: give mean_degree only")
        if self.degree_pmf is not None:
            if self.mean_degree is not None or self.degree_distribution is not None:
                raise ValueError("degree_pmf sets the degrees: give neither mean_degree nor degree_distribution")
            if min(self.degree_pmf) < 0 or not 0.999 <= sum(self.degree_pmf) <= 1.001:
                raise ValueError("degree_pmf must be probabilities that sum to 1")
        if (self.degree_dispersion is not None) != (self.degree_distribution == "negative_binomial"):
            raise ValueError("degree_dispersion goes with degree_distribution negative_binomial, and only with it")
        return self


@dataclass
class Society:
    spec: SocietySpec
    cols: dict[str, np.ndarray]
    household_indptr: np.ndarray
    household_members: np.ndarray
    graph_indptr: np.ndarray
    graph_indices: np.ndarray

    @property
    def n(self) -> int:
        return len(self.cols["age"])

    def covariate(self, name: str) -> np.ndarray:
        """A numeric column for rate models: stored columns plus derived 0/1 indicators."""
        c = self.cols
        if name == "young":
            return (c["age"] < 35).astype(np.float32)
        if name == "unemployed":
            return (c["sector"] == SECTOR_INDEX["unemployed"]).astype(np.float32)
        if name == "income_z":
            li = np.log(c["income"])
            return ((li - li.mean()) / (li.std() + 1e-9)).astype(np.float32)
        if name in c:
            return c[name].astype(np.float32)
        raise KeyError(name)

    def white_collar(self) -> np.ndarray:
        return np.isin(self.cols["sector"], [SECTOR_INDEX[s] for s in WHITE_COLLAR])

    def degree(self) -> np.ndarray:
        return np.diff(self.graph_indptr)


def build_society(spec: SocietySpec, world=None) -> Society:
    """Draw a society from its spec: marginals, households, contacts. Deterministic in the spec (and
    `world`, a loaded world (scorelab.world) whose marginals replace the ones the spec names)."""
    m = world.marginals() if world is not None else load_marginals(spec.marginals)
    if spec.cashless_share is not None:
        m["cashless_share"] = spec.cashless_share
    if spec.awareness is not None:
        m["awareness"] = spec.awareness
    cols = draw_citizens(spec.citizens, spec.seed, m)
    g = m["graph"]
    degree = spec.mean_degree if spec.mean_degree is not None else value(g["mean_degree"])
    homophily = spec.homophily if spec.homophily is not None else value(g["homophily"])
    gi, gx = contact_graph(cols["region"], cols["age"], degree, homophily, int(value(g["window"])), spec.seed,
                           model=spec.graph_model or _text(g.get("model"), "homophilous"),
                           distribution=spec.degree_distribution or _text(g.get("degree_distribution"), "poisson"),
                           dispersion=spec.degree_dispersion, pmf=spec.degree_pmf)
    hi, hm = household_groups(cols["household"])
    return Society(spec, cols, hi, hm, gi, gx)


def _text(entry, default: str) -> str:
    """A marginal that names a choice: a bare string or a mapping with `value`."""
    if entry is None:
        return default
    return str(entry["value"] if isinstance(entry, dict) else entry)


def save_society(society: Society, path: str | Path) -> Path:
    """Write a society folder (citizens.parquet, graph.npz, spec.json) atomically."""
    path = Path(path)
    if path.exists():
        raise ScorelabError("already exists; choose another folder", path=str(path), key="out",
                            allowed="a folder that does not exist yet")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        pq.write_table(pa.table(society.cols), tmp / "citizens.parquet")
        np.savez(tmp / "graph.npz", household_indptr=society.household_indptr,
                 household_members=society.household_members, graph_indptr=society.graph_indptr,
                 graph_indices=society.graph_indices)
        (tmp / "spec.json").write_text(society.spec.model_dump_json(indent=2))
        os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ScorelabError(f"cannot write the society folder: {exc.strerror or exc}", path=str(path), key="out",
                            allowed="a new folder in a place you can write to") from None
    return path


# Codes that index tables in the engine, checked when a saved society is loaded.
_CODE_RANGES = {"sex": (0, 1), "age": (0, 120), "income_decile": (0, 9), "sector": (0, len(SECTOR_INDEX) - 1),
                "loan_due_day": (0, 29)}


def load_society(path: str | Path) -> Society:
    """Read a society folder written by save_society; a damaged one is one clear error."""
    path = Path(path)
    if not path.is_dir():
        raise ScorelabError("not a society folder (no such folder)" if not path.exists() else
                            "not a society folder (a file)", path=str(path), key="society",
                            allowed="a folder written by `scorelab society`")
    spec_file = path / "spec.json"
    if not spec_file.exists():
        raise ScorelabError("not a society folder (no spec.json)", path=str(path), key="society",
                            allowed="a folder written by `scorelab society`")
    try:
        spec = SocietySpec.model_validate_json(spec_file.read_bytes())
        table = pq.read_table(path / "citizens.parquet")
        n = table.num_rows
        cols = {name: table.column(name).to_numpy().astype(dtype, copy=False) if name in table.column_names
                else np.full(n, CITIZEN_DEFAULTS[name], dtype)  # a column added since the folder was written
                for name, dtype in CITIZEN_COLUMNS.items()}
        if "account" not in table.column_names:  # children hold no account of their own
            cols["account"][cols["age"] < 18] = 0
        with np.load(path / "graph.npz", allow_pickle=False) as g:
            arrays = {k: np.asarray(g[k]) for k in ("household_indptr", "household_members", "graph_indptr",
                                                     "graph_indices")}
    except Exception as exc:  # truncated or foreign files: parquet, zip, JSON and validation errors alike
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ScorelabError(f"damaged society folder: {detail}", path=str(path), key="society",
                            allowed="a folder written by `scorelab society`; write it again") from None
    problem = _society_problem(spec, cols, arrays)
    if problem:
        raise ScorelabError(f"damaged society folder: {problem}", path=str(path), key="society",
                            allowed="a folder written by `scorelab society`; write it again")
    return Society(spec, cols, arrays["household_indptr"], arrays["household_members"],
                   arrays["graph_indptr"], arrays["graph_indices"])


def _society_problem(spec: SocietySpec, cols: dict[str, np.ndarray], arrays: dict[str, np.ndarray]) -> str | None:
    """What would make the engine index out of bounds or compute with NaN, if anything."""
    n = spec.citizens
    for name, col in cols.items():
        if col.ndim != 1 or len(col) != n:
            return f"column '{name}' has {len(col)} rows, the spec says {n} citizens"
        if col.dtype.kind == "f" and not np.isfinite(col).all():
            return f"column '{name}' holds NaN or infinite values"
    for name, (lo, hi) in _CODE_RANGES.items():
        if len(cols[name]) and (cols[name].min() < lo or cols[name].max() > hi):
            return f"column '{name}' holds values outside {lo}..{hi}"
    if (cols["income"] <= 0).any():
        return "column 'income' holds values that are not positive"
    for ptr, idx in (("graph_indptr", "graph_indices"), ("household_indptr", "household_members")):
        indptr, indices = arrays[ptr], arrays[idx]
        if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu" or indptr.ndim != 1 or indices.ndim != 1:
            return f"'{ptr}' and '{idx}' must be integer arrays"
        if ptr == "graph_indptr" and len(indptr) != n + 1:
            return f"'{ptr}' has {len(indptr)} entries, expected {n + 1}"
        if len(indptr) == 0 or indptr[0] != 0 or indptr[-1] != len(indices) or (np.diff(indptr) < 0).any():
            return f"'{ptr}' is not a valid index of '{idx}'"
        if len(indices) and (indices.min() < 0 or indices.max() >= n):
            return f"'{idx}' names citizens outside 0..{n - 1}"
    households = len(arrays["household_indptr"]) - 1
    if n and (cols["household"].min() < 0 or cols["household"].max() >= households):
        return f"column 'household' holds values outside 0..{households - 1}"
    return None
