"""Demographic marginals for the synthetic society, read from a data file with sources."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from scorelab.errors import ScorelabError
from scorelab.regime.dated import breakpoints, has_dated, on_day

DEFAULT = "census2020"


def load_marginals(name_or_path: str = DEFAULT) -> dict[str, Any]:
    """Load a marginals file: a preset name (package data) or a path to a YAML file."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml"):
        if not path.exists():
            raise ScorelabError("file not found", path=str(path))
        text = path.read_text()
        where = str(path)
    else:
        ref = resources.files("scorelab.society") / "data" / f"{name_or_path}.yaml"
        if not ref.is_file():
            raise ScorelabError(f"unknown marginals '{name_or_path}'", key="marginals",
                                allowed=f"{DEFAULT} or a path to a .yaml file")
        text = ref.read_text()
        where = f"scorelab/society/data/{name_or_path}.yaml"
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScorelabError(f"not valid YAML: {exc}", path=where) from None
    required = ("age_bands", "male_per_100_female", "urban_share", "household_size_mean",
                "college_per_100k", "income", "regions", "employment", "borrowers_share",
                "cashless_share", "awareness", "dog_owners", "traits", "graph")
    for key in required:
        if not isinstance(data, dict) or key not in data:
            raise ScorelabError("missing key", path=where, key=key, allowed=", ".join(required))
    if name_or_path != DEFAULT:  # keys added since a file was written come from the default world
        for key, entry in load_marginals(DEFAULT).items():
            data.setdefault(key, entry)
    data["_where"] = where
    return data


def value(entry: Any, day: int = 0) -> float:
    """A marginal is a bare number or a mapping with `value`; either may be dated, a mapping from
    day to value (regime/dated.py), of which the value in effect on `day` is taken."""
    if isinstance(entry, dict) and "value" in entry:
        entry = entry["value"]
    return float(on_day(entry, day))


# What may change during a run: the economy's constants and the cashless share. The population
# itself (ages, households, incomes, the graph) is drawn once.
DATED_SECTIONS = ("economy", "consequences", "prices", "cashless_share")


def dated_days(m: dict[str, Any]) -> list[int]:
    """Days on which a dated value of the marginals changes; refuses dated values elsewhere."""
    where = m.get("_where", "<marginals>")
    for key, entry in m.items():
        if key not in DATED_SECTIONS and key != "_where" and has_dated(entry):
            raise ScorelabError("this value cannot change during a run", path=where, key=key,
                                allowed=f"dated values only in {', '.join(DATED_SECTIONS)}")
    return breakpoints({k: m[k] for k in DATED_SECTIONS if k in m}, where)
