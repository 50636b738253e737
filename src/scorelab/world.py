"""The world as data: the society's marginals, the event catalogue's rates, behaviour and deterrence.

A world file (YAML, docs/WORLD.md) holds what the model assumes about the place a regime runs
in: the census marginals the society is drawn from, the contact graph's parameters, how often
each act happens and how traits change that (`events`), the behaviour stage's constants
(`behaviour`), the deterrence model a regime without a `deterrence` block gets (`deterrence`),
and the economy's constants. Every value names a source in `references` or is marked
`assumption: true`. Two worlds ship with the package (society/data/): `census2020` (China, the
default, which reproduces the runs from before worlds were files) and `us2020` (the United
States). Keys missing from a file come from the default world, so old marginals files keep
working. A world is validated like a regime: one message naming the file, the key and what is
allowed.
"""

from __future__ import annotations

import copy
import functools
import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from scorelab.errors import ScorelabError
from scorelab.regime.dated import breakpoints, has_dated, is_dated
from scorelab.vocabulary import EVENTS, RATE_COVARIATES, SECTORS, WORKING_SECTORS

DEFAULT = "census2020"
# Sections whose missing keys are filled from the default world one level down (a parameter
# table); other sections (distributions such as age bands and sector mixes) are taken whole.
FILLED = ("economy", "consequences", "behaviour", "deterrence")
META = ("unit", "source", "assumption", "description")

Dated = dict[int, float]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sourced(_Strict):
    """Where a value or a section comes from: a key of `references`, or an assumption."""

    unit: str | None = None
    source: str | None = Field(None, description="a key of the file's `references`")
    assumption: bool = False
    description: str | None = None


class Entry(Sourced):
    """A value with its unit and source: {value: 0.6389, unit: share, source: census}."""

    value: float | str | Dated


Quantity = float | Dated | Entry  # a bare number, a dated number (day -> value), or an Entry
Choice = str | Entry


def num(q: Quantity | None, default: float | None = None) -> float:
    """The number of an undated quantity."""
    if q is None:
        return default
    v = q.value if isinstance(q, Entry) else q
    if isinstance(v, (dict, str)):
        raise TypeError(f"not a plain number: {v!r}")
    return float(v)


# ---------------------------------------------------------------------------- the society's marginals
class AgeBand(_Strict):
    lo: int = Field(ge=0, le=120)
    hi: int = Field(ge=0, le=120)
    share: float = Field(ge=0, le=1)


class AgeBands(Sourced):
    bands: list[AgeBand] = Field(min_length=1)

    @model_validator(mode="after")
    def _shares(self):
        total = sum(b.share for b in self.bands)
        if not 0.99 <= total <= 1.01:
            raise ValueError(f"bands: shares sum to {total:.4f} (allowed: shares that sum to 1)")
        return self


class Income(Sourced):
    urban_mean: Quantity
    rural_mean: Quantity
    gini: Quantity
    college_premium: Quantity


class Employment(Sourced):
    sectors: dict[Literal[SECTORS], float] = Field(min_length=1)  # type: ignore[valid-type]


class Traits(Sourced):
    conscientiousness_impulsivity_corr: float = Field(-0.4, ge=-1, le=1)


class Graph(Sourced):
    mean_degree: Quantity
    homophily: Quantity
    window: Quantity
    model: Choice | None = None
    degree_distribution: Choice | None = None


class Economy(Sourced):
    consumption_share: Quantity
    unemployed_income: Quantity
    initial_savings_months: Quantity
    instalment_share: Quantity
    min_balance: Quantity
    loan_approval: Quantity
    loan_months: Quantity
    new_ties_per_year: Quantity
    tie_candidates: Quantity


class Consequences(Sourced):
    substitute_share: Quantity
    working_hours_per_month: Quantity
    cash_wage_fee: Quantity
    cash_acceptance: Quantity
    deposit_days: Quantity
    police_stop_hours: Quantity
    shortage: Quantity
    refusal_learning: Quantity
    college_admission: Quantity
    school_premium: Quantity
    platform_income_share: Quantity


Prices = create_model("Prices", __base__=Sourced,  # the base price per event type, by name
                      **{e.name: (Quantity | None, None) for e in EVENTS})


# ---------------------------------------------------------------------------- events and behaviour
class EventRate(Sourced):
    """How often an act happens per eligible citizen per day, and how traits change that:
    rate x exp(sum(coef x covariate)), capped at behaviour.max_trait_multiplier."""

    rate: float = Field(ge=0, le=10, description="events per eligible citizen per day")
    traits: dict[Literal[RATE_COVARIATES], float] = Field(default_factory=dict)  # type: ignore[valid-type]


RATED = tuple(e.name for e in EVENTS if e.schedule is None)  # scheduled acts have no rate
Events = create_model("Events", __base__=Sourced, **{name: (EventRate | None, None) for name in RATED})


class AgeFactor(_Strict):
    below: int = Field(ge=1, le=200, description="ages below this (and at least the previous band's)")
    relative: float = Field(ge=0, le=100, description="internet use relative to the population's")


class Behaviour(Sourced):
    """The behaviour stage's constants (behaviour/draw.py, consequences, society/citizens.py). Each
    is a number or {value, unit, source, assumption, description}."""

    max_trait_multiplier: float = Field(8.0, ge=1, le=1000, description="cap on exp(sum coef x covariate)")
    college_apply: float = Field(0.55, ge=0, le=1, description="share of 18-year-olds applying to college")
    high_fee_school: float = Field(0.03, ge=0, le=1, description="share of children applying to a high-fee school")
    loan_late: float = Field(0.03, ge=0, le=1, description="chance an instalment is late (before stress)")
    loan_missed: float = Field(0.008, ge=0, le=1, description="chance an instalment is missed (before stress)")
    hire_probability: float = Field(0.08, ge=0, le=1, description="chance a job application made leads to a job")
    job_targets: dict[Literal[WORKING_SECTORS], float] = Field(  # type: ignore[valid-type]
        min_length=1, description="sectors job seekers apply to, shares summing to 1")
    online_by_age: list[AgeFactor] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _entries(cls, data):
        """{value: 0.55, unit: ...} entries as their numbers (the unit and source stay in the file)."""
        if isinstance(data, dict):
            data = dict(data)
            for k, v in data.items():
                if isinstance(v, dict) and "value" in v and k in cls.model_fields:
                    data[k] = Entry.model_validate(v).value
        return data

    @model_validator(mode="after")
    def _check(self):
        if abs(sum(self.job_targets.values()) - 1.0) > 1e-6:
            raise ValueError(f"job_targets: shares sum to {sum(self.job_targets.values()):.6f} "
                             f"(allowed: shares that sum to 1)")
        bounds = [a.below for a in self.online_by_age]
        if bounds != sorted(set(bounds)):
            raise ValueError(f"online_by_age: `below` must rise, got {bounds} (allowed: rising ages)")
        return self

    def number(self, name: str) -> float:
        return float(getattr(self, name))


class DeterrenceDefaults(Sourced):
    """The deterrence model of a regime without a `deterrence` block (regime/schema.py Deterrence)."""

    certainty_exponent: float = Field(1.0, ge=0, le=5)
    severity_exponent: float = Field(0.5, ge=0, le=5)
    severity_scale: float = Field(100.0, gt=0)
    list_weight: float = Field(0.5, ge=0, le=1)
    reward_response: float = Field(0.0, ge=0, le=1)


# ---------------------------------------------------------------------------- the file
class WorldFile(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    description: str = ""
    currency: str = Field("CNY", max_length=8, description="the unit of every amount of money (incomes, prices)")
    references: dict[str, str] = Field(default_factory=dict)
    age_bands: AgeBands
    male_per_100_female: Quantity
    urban_share: Quantity
    household_size_mean: Quantity
    college_per_100k: Quantity
    income: Income
    regions: Quantity
    employment: Employment
    borrowers_share: Quantity
    cashless_share: Quantity
    internet_share: Quantity
    unbanked_share: Quantity
    seller_share: Quantity
    awareness: Quantity
    dog_owners: Quantity
    traits: Traits
    graph: Graph
    economy: Economy
    consequences: Consequences
    prices: Prices  # type: ignore[valid-type]
    events: Events  # type: ignore[valid-type]
    behaviour: Behaviour
    deterrence: DeterrenceDefaults = Field(default_factory=DeterrenceDefaults)
    credit_invisible_share: Quantity | None = None  # recorded for comparison; no mechanism reads it yet


@dataclass(frozen=True)
class LoadedWorld:
    """A validated world: the schema's view (`spec`), the merged data as the society's code reads it
    (`data`, do not modify: `marginals()` gives a copy), the text copied into each run folder."""

    spec: WorldFile
    data: dict
    text: str
    origin: str
    sha256: str
    ref: str = DEFAULT  # what load_world was given: a preset name or a path

    @property
    def name(self) -> str:
        return self.spec.name

    def marginals(self) -> dict[str, Any]:
        """A copy of the data, as society/marginals.py `load_marginals` returns it."""
        out = copy.deepcopy(self.data)
        out["_where"] = self.origin
        return out

    def rates(self) -> list:
        """Per event type (vocabulary order): its Rate (0 per day when the world gives none)."""
        from scorelab.behaviour.catalogue import Rate

        out = []
        for e in EVENTS:
            r = getattr(self.spec.events, e.name, None) if e.schedule is None else None
            out.append(Rate(r.rate, dict(r.traits)) if r is not None else Rate(0.0))
        return out


def preset_names() -> list[str]:
    folder = resources.files("scorelab") / "society" / "data"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_world(name_or_path: str | Path | LoadedWorld | None = None, overrides=None) -> LoadedWorld:
    """A world preset (`census2020`, `us2020`) or a YAML file, with its missing keys from the default
    world and a reform's `world.` paths (scorelab.reform) applied, validated."""
    from scorelab.reform import Reform

    reform = Reform.of(overrides)
    mine = reform.for_root("world")
    if isinstance(name_or_path, LoadedWorld):
        if not mine:
            return name_or_path
        name_or_path = name_or_path.ref
    name = str(name_or_path) if name_or_path is not None else DEFAULT
    plain = _load(name)  # the file itself is valid: what fails below is the reform's
    if not mine:
        return plain
    text, origin, data, filled = _read_merged(name)
    data = reform.apply("world", data, origin)
    try:
        world = _validate(data, f"{origin} with --set {', '.join('world.' + p for p in mine)}")
    except ScorelabError as err:
        key = f"world.{err.key}" if err.key else None
        raise ScorelabError(err.detail, path=err.path, key=key, allowed=err.allowed) from None
    header = "".join(f"# --set world.{p}={v!r}\n" for p, v in mine.items())
    text = f"# {origin} with overrides:\n{header}" + _dump(data)
    return LoadedWorld(world, data, text, origin, hashlib.sha256(text.encode()).hexdigest(), name)


@functools.lru_cache(maxsize=32)
def _load_preset(name: str) -> LoadedWorld:
    return _build(name)


def _load(name: str) -> LoadedWorld:
    if _is_file(name):
        return _build(name)  # a file may change between calls: read it each time
    return _load_preset(name)


def _build(name: str) -> LoadedWorld:
    text, origin, data, filled = _read_merged(name)
    world = _validate(data, origin)
    if filled:  # the file lacked keys the default gave: the effective world is the merged one
        text = f"# {origin} with the keys it lacks from {DEFAULT}\n" + _dump(data)
    return LoadedWorld(world, data, text, origin, hashlib.sha256(text.encode()).hexdigest(), name)


def default_world() -> LoadedWorld:
    return _load_preset(DEFAULT)


def _is_file(name: str) -> bool:
    return Path(name).suffix in (".yaml", ".yml") or "/" in name


def _read(name: str) -> tuple[str, str]:
    from scorelab.regime.loader import read_regime_file

    if _is_file(name):
        path = Path(name)
        if not path.exists():
            raise ScorelabError("world file not found", path=str(path),
                                allowed=f"a YAML world file or a preset: {', '.join(preset_names())}")
        return read_regime_file(path), str(path)
    ref = resources.files("scorelab") / "society" / "data" / f"{name}.yaml"
    if not ref.is_file():
        raise ScorelabError(f"unknown world '{name}'", key="world",
                            allowed=f"{', '.join(preset_names())} or a path to a .yaml file")
    return ref.read_text(encoding="utf-8"), f"scorelab/society/data/{name}.yaml"


def _read_merged(name: str) -> tuple[str, str, dict, bool]:
    from scorelab.regime.loader import read_yaml

    text, origin = _read(name)
    data = read_yaml(text, origin)
    if not isinstance(data, dict):
        raise ScorelabError("a world file must be a mapping of keys to values", path=origin,
                            allowed=", ".join(WorldFile.model_fields))
    data.pop("_where", None)
    filled = False
    if name != DEFAULT:  # keys added since a file was written come from the default world
        base = default_world().data
        for key, entry in base.items():
            if key not in data:
                data[key] = copy.deepcopy(entry)
                filled = True
            elif key in FILLED and isinstance(data[key], dict):
                for sub, v in entry.items():
                    if sub not in data[key]:
                        data[key][sub] = copy.deepcopy(v)
                        filled = True
            elif key == "events" and isinstance(data[key], dict):  # per event, per field
                for ev, v in entry.items():
                    if ev not in data[key]:
                        data[key][ev] = copy.deepcopy(v)
                        filled = True
                    elif isinstance(data[key][ev], dict) and isinstance(v, dict):
                        for f, x in v.items():
                            if f not in data[key][ev]:
                                data[key][ev][f] = copy.deepcopy(x)
                                filled = True
    return text, origin, data, filled


def _validate(data: dict, origin: str) -> WorldFile:
    from scorelab.regime.loader import _friendly

    try:
        world = WorldFile.model_validate(data)
    except ValidationError as exc:
        raise _friendly(_Chosen(_choose(exc.errors(include_url=False))), origin, WorldFile) from None
    for key, src in _sources(data):
        if src not in world.references:
            raise ScorelabError(f"unknown source '{src}'", path=origin, key=f"{key}.source",
                                allowed=", ".join(world.references) or "a key of `references` (none defined)")
    for key, entry in data.items():  # the population is drawn once: only these may change during a run
        if key not in DATED_SECTIONS and has_dated(entry):
            raise ScorelabError("this value cannot change during a run", path=origin, key=key,
                                allowed=f"dated values only in {', '.join(DATED_SECTIONS)}")
    breakpoints({k: data[k] for k in DATED_SECTIONS if k in data}, origin)
    return world


DATED_SECTIONS = ("economy", "consequences", "prices", "cashless_share")
_BRANCHES = ("float", "str", "dict[int,float]", "Entry", "EventRate", "none")


def _choose(errors: list[dict]) -> dict:
    """Of pydantic's errors for a value that may take several forms (a number, a dated number, an
    Entry), the one of the form the value has, with the form's name taken out of the key."""
    def branch(err) -> str | None:
        return next((p for p in err["loc"] if p in _BRANCHES), None)

    first = errors[0]
    if branch(first) is not None:
        value = first.get("input")
        want = ("Entry", "EventRate") if isinstance(value, dict) and not is_dated(value) else (
            ("dict[int,float]",) if isinstance(value, dict) else ("float", "str"))
        first = next((e for e in errors if branch(e) in want), first)
    return {**first, "loc": tuple(p for p in first["loc"] if p not in _BRANCHES and p != "[key]")}


class _Chosen:
    def __init__(self, err: dict) -> None:
        self.err = err

    def errors(self, include_url: bool = False) -> list[dict]:
        return [self.err]


def _sources(node, path: str = ""):
    if isinstance(node, dict):
        for k, v in node.items():
            here = f"{path}.{k}" if path else str(k)
            if k == "source" and isinstance(v, str) and path:
                yield path, v
            elif k != "references":
                yield from _sources(v, here)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _sources(v, f"{path}[{i}]")


def _dump(data: dict) -> str:
    return yaml.safe_dump({k: v for k, v in data.items() if k != "_where"}, sort_keys=False,
                          allow_unicode=True, width=120)


def world_of(marginals: str | None) -> LoadedWorld:
    """The world a society's `marginals` names; the default one for a hand-made society (scenarios)."""
    try:
        return load_world(marginals or DEFAULT)
    except ScorelabError:
        return default_world()
