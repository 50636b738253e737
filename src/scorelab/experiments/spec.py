"""Experiment files: which regimes, which parameters over which ranges, which outcomes (docs/EXPERIMENTS.md).

An experiment is validated as a whole before anything runs: the file's keys, every parameter
path at both ends of its range (through scorelab.reform, so a bad path names what is allowed
where it failed), and every outcome name against a real summary.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from scorelab.errors import ScorelabError
from scorelab.reform import Reform, field_kind
from scorelab.regime.loader import _friendly, read_yaml

METHODS = ("grid", "mc", "lhs", "sobol", "morris", "fast")
# summary keys that describe the run rather than what the regime did: never outcomes
NOT_OUTCOMES = ("run_id", "regime", "citizens", "days", "seed", "baseline", "wall_seconds",
                "agent_days_per_second", "ledger_cohort_citizens", "ledger_rows", "poverty_trap_days")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """A range (`low`, `high`) for every sampler, or `values` for a grid."""

    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] | None = Field(None, min_length=1, description="grid only: the values to try")

    @model_validator(mode="after")
    def _range(self):
        if self.values is None:
            if self.low is None or self.high is None:
                raise ValueError("give `low` and `high` (or `values` with the grid sampler)")
            if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low >= self.high:
                raise ValueError(f"need low < high, got {self.low} and {self.high}")
        elif self.low is not None or self.high is not None:
            raise ValueError("give either `low`/`high` or `values`, not both")
        return self


class Sampler(_Strict):
    method: Literal["grid", "mc", "lhs", "sobol", "morris", "fast"]
    n: int | None = Field(None, ge=1, le=100_000, description="points (mc, lhs), base samples (sobol, fast) or "
                          "trajectories (morris)")
    levels: int | None = Field(None, ge=2, le=100, description="grid: values per ranged parameter (default 3); "
                               "morris: grid levels (default 4, even)")
    second_order: bool = Field(False, description="sobol: also second-order indices (N (2D + 2) points)")
    interference: int = Field(4, ge=1, le=10, description="fast: the interference factor M (n > 4 M^2)")

    @model_validator(mode="after")
    def _n(self):
        if self.levels is None:  # the default depends on the method (Morris wants an even number)
            object.__setattr__(self, "levels", 4 if self.method == "morris" else 3)
        if self.method != "grid" and self.n is None:
            raise ValueError(f"sampler '{self.method}' needs `n`")
        if self.method == "fast" and self.n is not None and self.n <= 4 * self.interference ** 2:
            raise ValueError(f"fast needs n > 4 M^2 = {4 * self.interference ** 2} (M = interference)")
        if self.method == "sobol" and self.n is not None and self.n & (self.n - 1):
            raise ValueError(f"sobol needs n a power of 2 (Saltelli's scheme), got {self.n}")
        return self


class Experiment(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)
    description: str = ""
    regime: str | tuple[str, ...] = Field(description="a preset or regime file, or a list compared on the same points")
    citizens: int = Field(gt=0, le=50_000_000)
    days: int = Field(gt=0, le=3650)
    seed: int = Field(0, ge=0, le=2**31 - 1)
    replications: int = Field(1, ge=1, le=1000)
    seeds: Literal["common", "independent"] = Field(
        "common", description="common: replication r runs seed + r at every point (common random numbers, one "
                              "baseline per replication); independent: a seed per point and replication")
    baseline: str | None = Field("none", description="regime of the shared baseline (null: no baseline)")
    world: str | None = Field(None, description="the world every run happens in: a preset (census2020, us2020) or a "
                                                "world file (docs/WORLD.md); default census2020")
    sampler: Sampler
    parameters: dict[str, Parameter] = Field(min_length=1)
    set: dict[str, Any] = Field(default_factory=dict, description="fixed overrides applied to every run")
    outcomes: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self):
        for path, p in self.parameters.items():
            if p.values is not None and self.sampler.method != "grid":
                raise ValueError(f"parameters.{path}: `values` works with the grid sampler only "
                                 f"(allowed: low and high)")
        clash = sorted(set(self.parameters) & set(self.set))
        if clash:
            raise ValueError(f"set: {', '.join(clash)} also varied under parameters (allowed: one or the other)")
        if len(set(self.outcomes)) != len(self.outcomes):
            raise ValueError("outcomes: each outcome once")
        return self

    @property
    def regimes(self) -> tuple[str, ...]:
        return (self.regime,) if isinstance(self.regime, str) else self.regime

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self.parameters)

    def digest(self) -> str:
        """What identifies the experiment's runs: resuming checks it has not changed."""
        exclude = {"world"} if self.world is None else None  # experiments from before worlds keep their digest
        return hashlib.sha256(self.model_dump_json(exclude=exclude).encode()).hexdigest()


def load_experiment(file: str | Path, *, base: Path | None = None) -> tuple[Experiment, str]:
    """Parse and validate an experiment file; returns it with its text (kept in the experiment folder)."""
    path = Path(file)
    if not path.is_file():
        raise ScorelabError("experiment file not found", path=str(path), allowed="a YAML experiment file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScorelabError(f"cannot read: {exc}", path=str(path)) from None
    return parse_experiment(text, str(path), base=base or path.parent), text


def parse_experiment(text: str, origin: str = "<experiment>", *, base: Path | None = None,
                     check: bool = True) -> Experiment:
    data = read_yaml(text, origin)
    if not isinstance(data, dict):
        raise ScorelabError("an experiment file must be a mapping of keys to values", path=origin,
                            allowed=", ".join(Experiment.model_fields))
    if base is not None:  # regime and world files are found next to the experiment file
        data = {**data, "regime": _resolve(data.get("regime"), base)}
        if "world" in data:
            data["world"] = _resolve(data["world"], base)
    try:
        exp = Experiment.model_validate(data)
    except ValidationError as exc:
        raise _friendly(exc, origin, Experiment) from None
    if check:
        check_paths(exp, origin)
    return exp


def _resolve(regime, base: Path):
    def one(r):
        if isinstance(r, str) and r.endswith((".yaml", ".yml")) and not Path(r).is_absolute():
            return str((base / r).resolve())
        return r

    return [one(r) for r in regime] if isinstance(regime, list) else one(regime)


def check_paths(exp: Experiment, origin: str) -> None:
    """Every parameter at both ends of its range, with the fixed `set`, applied to every regime."""
    def end(p: Parameter, which: int):
        if p.values is not None:
            return p.values[which]
        return p.low if which == 0 else p.high

    for which in (0, -1):
        corner = {path: point_value(path, end(p, which)) for path, p in exp.parameters.items()}
        for regime in exp.regimes:
            try:
                reform = Reform.of({**exp.set, **corner})
                reform.load_regime(regime)
                reform.society()
                reform.world(exp.world)
            except ScorelabError as err:
                raise ScorelabError(f"{err.detail} (in {origin})", path=err.path, key=err.key,
                                    allowed=err.allowed) from None


def point_value(path: str, x):
    """A sampled number as the field wants it: whole numbers for int fields, plain floats otherwise."""
    if isinstance(x, (bool, str)) or x is None:
        return x
    kind = field_kind(path)
    if kind == "int":
        return int(round(float(x)))
    if kind == "bool":
        return bool(round(float(x)))
    return float(x)


# ---------------------------------------------------------------------------- outcomes
def flatten(summary: dict, prefix: str = "") -> dict[str, float | None]:
    """Numeric leaves of a summary as dotted names ('network.collateral_share')."""
    out: dict[str, float | None] = {}
    for k, v in summary.items():
        name = f"{prefix}{k}"
        if not prefix and k in NOT_OUTCOMES:
            continue
        if isinstance(v, dict):
            out.update(flatten(v, name + "."))
        elif isinstance(v, bool):
            out[name] = float(v)
        elif isinstance(v, (int, float)) or v is None:
            out[name] = None if v is None else float(v)
    return out


def resolve_outcome(name: str, flat: dict[str, float | None]) -> str:
    """The dotted summary key an outcome name means: itself, or the one key ending in '.name'."""
    if name in flat:
        return name
    matches = [k for k in flat if k.endswith("." + name)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise ScorelabError(f"'{name}' is ambiguous", key=f"outcomes.{name}", allowed=", ".join(sorted(matches)))
    subs = sorted(k for k in flat if k.startswith(name + "."))
    if subs:
        raise ScorelabError(f"'{name}' is a group of measures; choose one", key=f"outcomes.{name}",
                            allowed=", ".join(subs))
    raise ScorelabError(f"unknown outcome '{name}'", key=f"outcomes.{name}",
                        allowed=", ".join(sorted(k for k in flat if "." not in k)) + " (or a dotted key such as "
                        "network.collateral_share; docs/METRICS.md)")


def outcome_values(summary: dict, outcomes: tuple[str, ...]) -> dict[str, float]:
    flat = flatten(summary)
    out = {}
    for name in outcomes:
        v = flat.get(resolve_outcome(name, flat))
        out[name] = math.nan if v is None else float(v)
    return out


def canonical_json(data) -> str:
    return json.dumps(data, sort_keys=True, allow_nan=True, separators=(",", ":"))
