"""Demographic marginals for the synthetic society, read from a data file with sources."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from scorelab.errors import ScorelabError

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


def value(entry: Any) -> float:
    """A marginal is either a bare number or a mapping with `value`."""
    return float(entry["value"] if isinstance(entry, dict) else entry)
