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


def build_society(spec: SocietySpec) -> Society:
    """Draw a society from its spec: marginals, households, contacts. Deterministic in the spec."""
    m = load_marginals(spec.marginals)
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
        raise ScorelabError("already exists; choose another folder", path=str(path))
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    pq.write_table(pa.table(society.cols), tmp / "citizens.parquet")
    np.savez(tmp / "graph.npz", household_indptr=society.household_indptr,
             household_members=society.household_members, graph_indptr=society.graph_indptr,
             graph_indices=society.graph_indices)
    (tmp / "spec.json").write_text(society.spec.model_dump_json(indent=2))
    os.replace(tmp, path)
    return path


def load_society(path: str | Path) -> Society:
    """Read a society folder written by save_society."""
    path = Path(path)
    spec_file = path / "spec.json"
    if not spec_file.exists():
        raise ScorelabError("not a society folder (no spec.json)", path=str(path))
    spec = SocietySpec.model_validate_json(spec_file.read_text())
    table = pq.read_table(path / "citizens.parquet")
    n = table.num_rows
    cols = {name: table.column(name).to_numpy().astype(dtype, copy=False) if name in table.column_names
            else np.full(n, CITIZEN_DEFAULTS[name], dtype)  # a column added since the folder was written
            for name, dtype in CITIZEN_COLUMNS.items()}
    if "account" not in table.column_names:  # children hold no account of their own
        cols["account"][cols["age"] < 18] = 0
    with np.load(path / "graph.npz") as g:
        return Society(spec, cols, g["household_indptr"], g["household_members"],
                       g["graph_indptr"], g["graph_indices"])
