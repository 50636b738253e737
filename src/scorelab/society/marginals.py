"""Demographic marginals for the synthetic society: the world file's data (scorelab.world), with sources."""

from __future__ import annotations

from typing import Any

from scorelab.errors import ScorelabError
from scorelab.regime.dated import breakpoints, has_dated, on_day

DEFAULT = "census2020"


def load_marginals(name_or_path: str = DEFAULT) -> dict[str, Any]:
    """Load a world's marginals: a preset name (package data) or a path to a YAML file, validated
    (scorelab.world); keys the file lacks come from the default world. A fresh copy each call."""
    from scorelab.world import load_world

    return load_world(name_or_path).marginals()


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
